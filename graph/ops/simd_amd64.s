#include "textflag.h"

// func relu16(dst, src *float32, n int)
// dst[i] = src[i] < 0 ? 0 : src[i] for i < n, n a multiple of 16: VMAXPS
// with 0 as its first source returns the second (src) unless 0 > src, so
// NaN and -0 pass through as in the Go loop.
TEXT ·relu16(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VPXORD Z0, Z0, Z0
	SHRQ $4, CX
	JZ rdone
	MOVQ CX, DX
	SHRQ $2, DX
	JZ rone

rfour:
	VMAXPS (SI), Z0, Z1
	VMAXPS 64(SI), Z0, Z2
	VMAXPS 128(SI), Z0, Z3
	VMAXPS 192(SI), Z0, Z4
	VMOVUPS Z1, (DI)
	VMOVUPS Z2, 64(DI)
	VMOVUPS Z3, 128(DI)
	VMOVUPS Z4, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	DECQ DX
	JNZ rfour
	ANDQ $3, CX
	JZ rdone

rone:
	VMAXPS (SI), Z0, Z1
	VMOVUPS Z1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ rone

rdone:
	VZEROUPPER
	RET

DATA pooleven<>+0(SB)/4, $0
DATA pooleven<>+4(SB)/4, $2
DATA pooleven<>+8(SB)/4, $4
DATA pooleven<>+12(SB)/4, $6
DATA pooleven<>+16(SB)/4, $8
DATA pooleven<>+20(SB)/4, $10
DATA pooleven<>+24(SB)/4, $12
DATA pooleven<>+28(SB)/4, $14
DATA pooleven<>+32(SB)/4, $16
DATA pooleven<>+36(SB)/4, $18
DATA pooleven<>+40(SB)/4, $20
DATA pooleven<>+44(SB)/4, $22
DATA pooleven<>+48(SB)/4, $24
DATA pooleven<>+52(SB)/4, $26
DATA pooleven<>+56(SB)/4, $28
DATA pooleven<>+60(SB)/4, $30
GLOBL pooleven<>(SB), RODATA|NOPTR, $64

// func pool16(dst, r0, r1 *float32, out, in0, in1 uint32)
// For the output lanes set in out (at most 16 consecutive outputs), dst[j]
// = the 2x2 maximum of r0[2j], r0[2j+1], r1[2j], r1[2j+1], each compared in
// that order with "strictly larger wins" from -MaxFloat32 (VMAXPS with the
// new value first returns the running maximum on ties and NaN). in0 and
// in1 mask the 32 input floats of each row (two registers).
TEXT ·pool16(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ r0+8(FP), SI
	MOVQ r1+16(FP), DX
	MOVL out+24(FP), AX
	KMOVW AX, K1
	MOVL in0+28(FP), AX
	KMOVW AX, K2
	MOVL in1+32(FP), AX
	KMOVW AX, K3
	VMOVUPS pooleven<>(SB), Z8      // indices 0, 2, ..., 30
	MOVL $1, AX
	VPBROADCASTD AX, Z9
	VPADDD Z9, Z8, Z9               // indices 1, 3, ..., 31
	MOVL $0xff7fffff, AX            // -MaxFloat32
	VPBROADCASTD AX, Z10
	VMOVUPS.Z (SI), K2, Z1
	VMOVUPS.Z 64(SI), K3, Z2
	VMOVUPS.Z (DX), K2, Z3
	VMOVUPS.Z 64(DX), K3, Z4
	VMOVAPS Z8, Z5
	VPERMI2PS Z2, Z1, Z5            // a: r0 even
	VMOVAPS Z9, Z6
	VPERMI2PS Z2, Z1, Z6            // b: r0 odd
	VMAXPS Z10, Z5, Z10             // m = a > m ? a : m
	VMAXPS Z10, Z6, Z10             // m = b > m ? b : m
	VMOVAPS Z8, Z5
	VPERMI2PS Z4, Z3, Z5            // c: r1 even
	VMOVAPS Z9, Z6
	VPERMI2PS Z4, Z3, Z6            // d: r1 odd
	VMAXPS Z10, Z5, Z10
	VMAXPS Z10, Z6, Z10
	VMOVUPS Z10, K1, (DI)
	VZEROUPPER
	RET

// func reluGrad16(dst, x, grad *float32, n int)
// dst[i] = x[i] >= 0 ? g[i] : g[i]*0 for i < n, n a multiple of 16 (NaN x
// compares false, as in Go).
TEXT ·reluGrad16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ grad+16(FP), DX
	MOVQ n+24(FP), CX
	VPXORD Z0, Z0, Z0
	SHRQ $4, CX
	JZ gdone

gloop:
	VMOVUPS (SI), Z1
	VMOVUPS (DX), Z2
	VCMPPS $0x1d, Z0, Z1, K1 // x >= 0 (ordered: NaN is false)
	VMULPS Z0, Z2, Z3               // g*0
	VBLENDMPS Z2, Z3, K1, Z4        // x >= 0 ? g : g*0
	VMOVUPS Z4, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNZ gloop

gdone:
	VZEROUPPER
	RET
