#include "textflag.h"

// Constants for the vectorised sigmoid (Cephes expf, as exp32 in fastops.go).
DATA sigc<>+0(SB)/4, $0x42aebf8a  // 87.3741 (clamp high for e^x, exponent stays normal)
DATA sigc<>+4(SB)/4, $0xc2aeac57  // -87.3366 (clamp low)
DATA sigc<>+8(SB)/4, $0x3fb8aa3b  // log2(e)
DATA sigc<>+12(SB)/4, $0x3f000000 // 0.5
DATA sigc<>+16(SB)/4, $0x3f318000 // ln2 hi 0.693359375
DATA sigc<>+20(SB)/4, $0xb95e8083 // ln2 lo -2.12194440e-4
DATA sigc<>+24(SB)/4, $0x39506967 // p0 1.9875691500e-4
DATA sigc<>+28(SB)/4, $0x3ab743ce // p1 1.3981999507e-3
DATA sigc<>+32(SB)/4, $0x3c088908 // p2 8.3334519073e-3
DATA sigc<>+36(SB)/4, $0x3d2aa9c1 // p3 4.1665795894e-2
DATA sigc<>+40(SB)/4, $0x3e2aaaaa // p4 1.6666665459e-1
DATA sigc<>+44(SB)/4, $0x3f000000 // p5 5.0000001201e-1
DATA sigc<>+48(SB)/4, $0x3f800000 // 1.0
DATA sigc<>+52(SB)/4, $0x0000007f // 127
DATA sigc<>+56(SB)/4, $0x80000000 // sign bit
GLOBL sigc<>(SB), RODATA|NOPTR, $60

// func sigmoid8(dst, src *float32, n int)
// dst[i] = 1/(1+exp(-src[i])) for i < n, n a multiple of 8. NaN propagates.
TEXT ·sigmoid8(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ done
	VBROADCASTSS sigc<>+0(SB), Y15
	VBROADCASTSS sigc<>+4(SB), Y14
	VBROADCASTSS sigc<>+8(SB), Y13
	VBROADCASTSS sigc<>+12(SB), Y12
	VBROADCASTSS sigc<>+16(SB), Y11
	VBROADCASTSS sigc<>+20(SB), Y10
	VBROADCASTSS sigc<>+48(SB), Y9
	VPBROADCASTD sigc<>+52(SB), Y8
	VBROADCASTSS sigc<>+56(SB), Y7

loop:
	VMOVUPS (SI), Y0
	VXORPS Y7, Y0, Y0          // x = -src
	VMINPS Y0, Y15, Y0         // min(hi, x): NaN in x propagates
	VMAXPS Y0, Y14, Y0         // max(lo, x)
	VMOVAPS Y12, Y1
	VFMADD231PS Y13, Y0, Y1    // fx = x*log2e + 0.5
	VROUNDPS $1, Y1, Y1        // floor
	VFNMADD231PS Y11, Y1, Y0   // r = x - fx*ln2hi
	VFNMADD231PS Y10, Y1, Y0   // r -= fx*ln2lo
	VBROADCASTSS sigc<>+24(SB), Y2
	VBROADCASTSS sigc<>+28(SB), Y3
	VFMADD213PS Y3, Y0, Y2     // p = p*r + p1
	VBROADCASTSS sigc<>+32(SB), Y3
	VFMADD213PS Y3, Y0, Y2
	VBROADCASTSS sigc<>+36(SB), Y3
	VFMADD213PS Y3, Y0, Y2
	VBROADCASTSS sigc<>+40(SB), Y3
	VFMADD213PS Y3, Y0, Y2
	VBROADCASTSS sigc<>+44(SB), Y3
	VFMADD213PS Y3, Y0, Y2     // p = ...*r + p5
	VMULPS Y0, Y0, Y4          // r*r
	VADDPS Y9, Y0, Y5          // r + 1
	VFMADD213PS Y5, Y4, Y2     // p = p*r*r + r + 1
	VCVTTPS2DQ Y1, Y6          // n
	VPADDD Y8, Y6, Y6          // n + 127
	VPSLLD $23, Y6, Y6         // 2^n
	VMULPS Y6, Y2, Y2          // e^x
	VADDPS Y9, Y2, Y2          // 1 + e^x
	VDIVPS Y2, Y9, Y2          // 1 / (1 + e^-src)
	VMOVUPS Y2, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ loop

done:
	VZEROUPPER
	RET
