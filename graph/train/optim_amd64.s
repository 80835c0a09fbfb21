#include "textflag.h"

// MXCSR with flush-to-zero (bit 15) and denormals-are-zero (bit 6) set:
// a decaying moment would otherwise sink into subnormal floats, which cost
// ~100 cycles per operation on x86 (PyTorch's set_flush_denormal). The
// caller's MXCSR is restored before returning.
#define FTZ_DAZ 0x8040

// func adam8(wp, gp, mp, vp *float32, nn int, pp *[8]float32)
// p = {beta1, 1-beta1, beta2, 1-beta2, c1, c2, lr, eps}; n a multiple of 8.
// m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;
// w -= lr * (m*c1) / (sqrt(v*c2) + eps); g = 0.
TEXT ·adam8(SB), NOSPLIT, $8-48
	MOVQ wp+0(FP), DI
	MOVQ gp+8(FP), SI
	MOVQ mp+16(FP), R8
	MOVQ vp+24(FP), R9
	MOVQ nn+32(FP), CX
	MOVQ pp+40(FP), AX
	SHRQ $3, CX
	JZ adone
	STMXCSR 0(SP)
	MOVL 0(SP), DX
	MOVL DX, 4(SP)
	ORL $FTZ_DAZ, DX
	MOVL DX, 0(SP)
	LDMXCSR 0(SP)
	VBROADCASTSS 0(AX), Y8
	VBROADCASTSS 4(AX), Y9
	VBROADCASTSS 8(AX), Y10
	VBROADCASTSS 12(AX), Y11
	VBROADCASTSS 16(AX), Y12
	VBROADCASTSS 20(AX), Y13
	VBROADCASTSS 24(AX), Y14
	VBROADCASTSS 28(AX), Y15
	VXORPS Y7, Y7, Y7

aloop:
	VMOVUPS (SI), Y0           // g
	VMOVUPS (R8), Y1           // m
	VMOVUPS (R9), Y2           // v
	VMULPS Y8, Y1, Y1          // m *= b1
	VFMADD231PS Y9, Y0, Y1     // m += g*(1-b1)
	VMULPS Y0, Y0, Y3          // g*g
	VMULPS Y10, Y2, Y2         // v *= b2
	VFMADD231PS Y11, Y3, Y2    // v += g*g*(1-b2)
	VMOVUPS Y1, (R8)
	VMOVUPS Y2, (R9)
	VMOVUPS Y7, (SI)           // clear the gradient
	VMULPS Y13, Y2, Y2         // v*c2
	VSQRTPS Y2, Y2
	VADDPS Y15, Y2, Y2         // + eps
	VMULPS Y12, Y1, Y1         // m*c1
	VMULPS Y14, Y1, Y1         // * lr
	VDIVPS Y2, Y1, Y1          // / (sqrt + eps)
	VMOVUPS (DI), Y4
	VSUBPS Y1, Y4, Y4
	VMOVUPS Y4, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JNZ aloop
	LDMXCSR 4(SP)

adone:
	VZEROUPPER
	RET

// func momentum8(wp, gp, bufp *float32, nn int, mom, lr float32, nesterov bool)
// PyTorch's SGD with momentum: b = mom*b + g; w -= lr*b, or with Nesterov
// w -= lr*(g + mom*b); g = 0. n a multiple of 8.
TEXT ·momentum8(SB), NOSPLIT, $8-41
	MOVQ wp+0(FP), DI
	MOVQ gp+8(FP), SI
	MOVQ bufp+16(FP), R8
	MOVQ nn+24(FP), CX
	MOVBLZX nesterov+40(FP), R9
	SHRQ $3, CX
	JZ mdone
	STMXCSR 0(SP)
	MOVL 0(SP), DX
	MOVL DX, 4(SP)
	ORL $FTZ_DAZ, DX
	MOVL DX, 0(SP)
	LDMXCSR 0(SP)
	VBROADCASTSS mom+32(FP), Y8
	VBROADCASTSS lr+36(FP), Y9
	VXORPS Y7, Y7, Y7
	TESTQ R9, R9
	JNZ nloop

mloop:
	VMOVUPS (SI), Y0           // g
	VMOVUPS (R8), Y1           // b
	VFMADD213PS Y0, Y8, Y1     // b = mom*b + g
	VMOVUPS Y1, (R8)
	VMOVUPS Y7, (SI)           // clear the gradient
	VMOVUPS (DI), Y4
	VFNMADD231PS Y1, Y9, Y4    // w -= lr*b
	VMOVUPS Y4, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	DECQ CX
	JNZ mloop
	JMP mrestore

nloop:
	VMOVUPS (SI), Y0           // g
	VMOVUPS (R8), Y1           // b
	VFMADD213PS Y0, Y8, Y1     // b = mom*b + g
	VMOVUPS Y1, (R8)
	VMOVUPS Y7, (SI)           // clear the gradient
	VFMADD231PS Y1, Y8, Y0     // u = g + mom*b
	VMOVUPS (DI), Y4
	VFNMADD231PS Y0, Y9, Y4    // w -= lr*u
	VMOVUPS Y4, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	DECQ CX
	JNZ nloop

mrestore:
	LDMXCSR 4(SP)

mdone:
	VZEROUPPER
	RET
