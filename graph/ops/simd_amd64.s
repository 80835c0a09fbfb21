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

DATA unpoollo<>+0(SB)/4, $0
DATA unpoollo<>+4(SB)/4, $16
DATA unpoollo<>+8(SB)/4, $1
DATA unpoollo<>+12(SB)/4, $17
DATA unpoollo<>+16(SB)/4, $2
DATA unpoollo<>+20(SB)/4, $18
DATA unpoollo<>+24(SB)/4, $3
DATA unpoollo<>+28(SB)/4, $19
DATA unpoollo<>+32(SB)/4, $4
DATA unpoollo<>+36(SB)/4, $20
DATA unpoollo<>+40(SB)/4, $5
DATA unpoollo<>+44(SB)/4, $21
DATA unpoollo<>+48(SB)/4, $6
DATA unpoollo<>+52(SB)/4, $22
DATA unpoollo<>+56(SB)/4, $7
DATA unpoollo<>+60(SB)/4, $23
GLOBL unpoollo<>(SB), RODATA|NOPTR, $64

DATA unpoolhi<>+0(SB)/4, $8
DATA unpoolhi<>+4(SB)/4, $24
DATA unpoolhi<>+8(SB)/4, $9
DATA unpoolhi<>+12(SB)/4, $25
DATA unpoolhi<>+16(SB)/4, $10
DATA unpoolhi<>+20(SB)/4, $26
DATA unpoolhi<>+24(SB)/4, $11
DATA unpoolhi<>+28(SB)/4, $27
DATA unpoolhi<>+32(SB)/4, $12
DATA unpoolhi<>+36(SB)/4, $28
DATA unpoolhi<>+40(SB)/4, $13
DATA unpoolhi<>+44(SB)/4, $29
DATA unpoolhi<>+48(SB)/4, $14
DATA unpoolhi<>+52(SB)/4, $30
DATA unpoolhi<>+56(SB)/4, $15
DATA unpoolhi<>+60(SB)/4, $31
GLOBL unpoolhi<>(SB), RODATA|NOPTR, $64

// func unpool16(dx0, dx1, r0, r1, dy *float32, out, in0, in1 uint32)
// The gradient of pool16: for each output lane j set in out, dy[j] goes to
// the position of its window's maximum in the rows dx0/dx1 (found as pool16
// finds it: a, b, c, d in order, strictly larger wins, so the winner is the
// last that won), every other position of the 2x(2·lanes) window gets +0,
// and a winner gets 0 + dy (so -0 becomes +0, as in the Go loop's +=).
TEXT ·unpool16(SB), NOSPLIT, $0-52
	MOVQ r0+16(FP), SI
	MOVQ r1+24(FP), DX
	MOVQ dy+32(FP), BX
	MOVL in0+44(FP), AX
	KMOVW AX, K5
	MOVL in1+48(FP), AX
	KMOVW AX, K6
	VMOVUPS pooleven<>(SB), Z8
	MOVL $1, AX
	VPBROADCASTD AX, Z9
	VPADDD Z9, Z8, Z9
	MOVL $0xff7fffff, AX
	VPBROADCASTD AX, Z10            // m = -MaxFloat32
	VMOVUPS.Z (SI), K5, Z1
	VMOVUPS.Z 64(SI), K6, Z2
	VMOVUPS.Z (DX), K5, Z3
	VMOVUPS.Z 64(DX), K6, Z4
	VMOVAPS Z8, Z5
	VPERMI2PS Z2, Z1, Z5            // a
	VMOVAPS Z9, Z6
	VPERMI2PS Z2, Z1, Z6            // b
	VMOVAPS Z8, Z7
	VPERMI2PS Z4, Z3, Z7            // c
	VMOVAPS Z9, Z11
	VPERMI2PS Z4, Z3, Z11           // d
	VCMPPS $0x1e, Z10, Z5, K1       // a > m
	VMAXPS Z10, Z5, Z10
	VCMPPS $0x1e, Z10, Z6, K2       // b > m
	VMAXPS Z10, Z6, Z10
	VCMPPS $0x1e, Z10, Z7, K3       // c > m
	VMAXPS Z10, Z7, Z10
	VCMPPS $0x1e, Z10, Z11, K4      // d > m: d wins
	KORW K3, K4, K6                 // c|d
	KNOTW K4, K5                    // ~d
	KANDW K3, K5, K3                // c wins: c & ~d
	KANDNW K2, K6, K2               // b wins: b & ~(c|d)
	KORW K2, K6, K6                 // b|c|d
	KANDNW K1, K6, K1               // a wins: a & ~(b|c|d)
	MOVL out+40(FP), AX
	KMOVW AX, K7
	VMOVUPS.Z (BX), K7, Z7          // dy
	VPXORD Z0, Z0, Z0
	VMOVAPS.Z Z7, K1, Z12
	VADDPS Z12, Z0, Z12             // 0 + dy where a wins
	VMOVAPS.Z Z7, K2, Z13
	VADDPS Z13, Z0, Z13
	VMOVAPS.Z Z7, K3, Z14
	VADDPS Z14, Z0, Z14
	VMOVAPS.Z Z7, K4, Z15
	VADDPS Z15, Z0, Z15
	VMOVUPS unpoollo<>(SB), Z16
	VMOVUPS unpoolhi<>(SB), Z17
	MOVL in0+44(FP), AX
	KMOVW AX, K5
	MOVL in1+48(FP), AX
	KMOVW AX, K6
	MOVQ dx0+0(FP), DI
	VMOVAPS Z16, Z18
	VPERMI2PS Z13, Z12, Z18         // a0 b0 a1 b1 ... (first 16 of row 0)
	VMOVAPS Z17, Z19
	VPERMI2PS Z13, Z12, Z19
	VMOVUPS Z18, K5, (DI)
	VMOVUPS Z19, K6, 64(DI)
	MOVQ dx1+8(FP), DI
	VMOVAPS Z16, Z18
	VPERMI2PS Z15, Z14, Z18         // c0 d0 c1 d1 ...
	VMOVAPS Z17, Z19
	VPERMI2PS Z15, Z14, Z19
	VMOVUPS Z18, K5, (DI)
	VMOVUPS Z19, K6, 64(DI)
	VZEROUPPER
	RET
