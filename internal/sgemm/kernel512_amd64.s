#include "textflag.h"

// func kernel8x32(k int, a *float32, rs, ks int, b *float32, ldb int, c *float32, ldc int, alpha float32, rows int, mask uint32)
//
// For r < rows and the columns j < 32 set in mask:
//   c[r*ldc+j] += alpha * (sum over kk < k of a[r*rs+kk*ks] * b[kk*ldb+j])
// The sum of each element is one FMA chain from zero in kk order, then
// multiplied by alpha and added to c (two roundings): bit for bit what
// kernel4x16 and the Go loop after it compute. All strides in elements;
// rows 0..7 of a are read whatever rows is, so callers pad them.
TEXT ·kernel8x32(SB), NOSPLIT, $0-84
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), R8
	MOVQ rs+16(FP), R10
	MOVQ ks+24(FP), R12
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), R13
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R14
	SHLQ $2, R10
	SHLQ $2, R12
	SHLQ $2, R13
	SHLQ $2, R14
	LEAQ (R10)(R10*2), R11 // 3 rows
	LEAQ (R8)(R10*4), R9   // row 4
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	TESTQ CX, CX
	JE store

loop:
	VMOVUPS (DI), Z16
	VMOVUPS 64(DI), Z17
	VBROADCASTSS (R8), Z18
	VBROADCASTSS (R8)(R10*1), Z19
	VFMADD231PS Z16, Z18, Z0
	VFMADD231PS Z17, Z18, Z1
	VFMADD231PS Z16, Z19, Z2
	VFMADD231PS Z17, Z19, Z3
	VBROADCASTSS (R8)(R10*2), Z20
	VBROADCASTSS (R8)(R11*1), Z21
	VFMADD231PS Z16, Z20, Z4
	VFMADD231PS Z17, Z20, Z5
	VFMADD231PS Z16, Z21, Z6
	VFMADD231PS Z17, Z21, Z7
	VBROADCASTSS (R9), Z22
	VBROADCASTSS (R9)(R10*1), Z23
	VFMADD231PS Z16, Z22, Z8
	VFMADD231PS Z17, Z22, Z9
	VFMADD231PS Z16, Z23, Z10
	VFMADD231PS Z17, Z23, Z11
	VBROADCASTSS (R9)(R10*2), Z24
	VBROADCASTSS (R9)(R11*1), Z25
	VFMADD231PS Z16, Z24, Z12
	VFMADD231PS Z17, Z24, Z13
	VFMADD231PS Z16, Z25, Z14
	VFMADD231PS Z17, Z25, Z15
	ADDQ R12, R8
	ADDQ R12, R9
	ADDQ R13, DI
	DECQ CX
	JNZ loop

store:
	VBROADCASTSS alpha+64(FP), Z26
	MOVL mask+80(FP), AX
	KMOVW AX, K1
	SHRL $16, AX
	KMOVW AX, K2
	MOVQ rows+72(FP), BX

#define ROW(lo, hi) \
	VMULPS Z26, lo, lo; \
	VMULPS Z26, hi, hi; \
	VMOVUPS.Z (DX), K1, Z27; \
	VMOVUPS.Z 64(DX), K2, Z28; \
	VADDPS Z27, lo, lo; \
	VADDPS Z28, hi, hi; \
	VMOVUPS lo, K1, (DX); \
	VMOVUPS hi, K2, 64(DX); \
	ADDQ R14, DX; \
	DECQ BX; \
	JLE done

	TESTQ BX, BX
	JLE done
	ROW(Z0, Z1)
	ROW(Z2, Z3)
	ROW(Z4, Z5)
	ROW(Z6, Z7)
	ROW(Z8, Z9)
	ROW(Z10, Z11)
	ROW(Z12, Z13)
	ROW(Z14, Z15)

done:
	VZEROUPPER
	RET

// func kernel1x128(k int, a *float32, ks int, b *float32, ldb int, c *float32, alpha float32)
//
// c[j] += alpha * (sum over kk < k of a[kk*ks] * b[kk*ldb+j]) for j < 128:
// one row of C, eight independent FMA chains (a row of C is too short for
// the 8x32 tile, which would compute seven rows of padding). Same bits as
// kernel8x32. Strides in elements.
// func kernel8x32off(k int, a *float32, rs, ks int, b *float32, offs *int, c *float32, ldc int, alpha float32, rows int, mask uint32)
//
// kernel8x32 with row kk of b at b[offs[kk]] instead of b[kk*ldb]: the
// same FMA chains on the same values, for B matrices whose rows are
// shifted views of one buffer (a convolution's taps over a padded image).

TEXT ·kernel8x32off(SB), NOSPLIT, $0-84
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), R8
	MOVQ rs+16(FP), R10
	MOVQ ks+24(FP), R12
	MOVQ b+32(FP), DI
	MOVQ offs+40(FP), SI
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R14
	SHLQ $2, R10
	SHLQ $2, R12
	SHLQ $2, R14
	LEAQ (R10)(R10*2), R11 // 3 rows
	LEAQ (R8)(R10*4), R9   // row 4
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	TESTQ CX, CX
	JE offstore

offloop:
	MOVQ (SI), R13
	VMOVUPS (DI)(R13*4), Z16
	VMOVUPS 64(DI)(R13*4), Z17
	VBROADCASTSS (R8), Z18
	VBROADCASTSS (R8)(R10*1), Z19
	VFMADD231PS Z16, Z18, Z0
	VFMADD231PS Z17, Z18, Z1
	VFMADD231PS Z16, Z19, Z2
	VFMADD231PS Z17, Z19, Z3
	VBROADCASTSS (R8)(R10*2), Z20
	VBROADCASTSS (R8)(R11*1), Z21
	VFMADD231PS Z16, Z20, Z4
	VFMADD231PS Z17, Z20, Z5
	VFMADD231PS Z16, Z21, Z6
	VFMADD231PS Z17, Z21, Z7
	VBROADCASTSS (R9), Z22
	VBROADCASTSS (R9)(R10*1), Z23
	VFMADD231PS Z16, Z22, Z8
	VFMADD231PS Z17, Z22, Z9
	VFMADD231PS Z16, Z23, Z10
	VFMADD231PS Z17, Z23, Z11
	VBROADCASTSS (R9)(R10*2), Z24
	VBROADCASTSS (R9)(R11*1), Z25
	VFMADD231PS Z16, Z24, Z12
	VFMADD231PS Z17, Z24, Z13
	VFMADD231PS Z16, Z25, Z14
	VFMADD231PS Z17, Z25, Z15
	ADDQ R12, R8
	ADDQ R12, R9
	ADDQ $8, SI
	DECQ CX
	JNZ offloop

offstore:
	VBROADCASTSS alpha+64(FP), Z26
	MOVL mask+80(FP), AX
	KMOVW AX, K1
	SHRL $16, AX
	KMOVW AX, K2
	MOVQ rows+72(FP), BX

#define OFFROW(lo, hi) \
	VMULPS Z26, lo, lo; \
	VMULPS Z26, hi, hi; \
	VMOVUPS.Z (DX), K1, Z27; \
	VMOVUPS.Z 64(DX), K2, Z28; \
	VADDPS Z27, lo, lo; \
	VADDPS Z28, hi, hi; \
	VMOVUPS lo, K1, (DX); \
	VMOVUPS hi, K2, 64(DX); \
	ADDQ R14, DX; \
	DECQ BX; \
	JLE offdone

	TESTQ BX, BX
	JLE offdone
	OFFROW(Z0, Z1)
	OFFROW(Z2, Z3)
	OFFROW(Z4, Z5)
	OFFROW(Z6, Z7)
	OFFROW(Z8, Z9)
	OFFROW(Z10, Z11)
	OFFROW(Z12, Z13)
	OFFROW(Z14, Z15)

offdone:
	VZEROUPPER
	RET

// func kernel1x128(k int, a *float32, ks int, b *float32, ldb int, c *float32, alpha float32)
//
// c[j] += alpha * (sum over kk < k of a[kk*ks] * b[kk*ldb+j]) for j < 128:
// one row of C, eight independent FMA chains (a row of C is too short for
// the 8x32 tile, which would compute seven rows of padding). Same bits as
// kernel8x32. Strides in elements.
TEXT ·kernel1x128(SB), NOSPLIT, $0-52
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ ks+16(FP), R12
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R13
	MOVQ c+40(FP), DX
	SHLQ $2, R12
	SHLQ $2, R13
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	TESTQ CX, CX
	JE rowstore

rowloop:
	VBROADCASTSS (SI), Z8
	VFMADD231PS (DI), Z8, Z0
	VFMADD231PS 64(DI), Z8, Z1
	VFMADD231PS 128(DI), Z8, Z2
	VFMADD231PS 192(DI), Z8, Z3
	VFMADD231PS 256(DI), Z8, Z4
	VFMADD231PS 320(DI), Z8, Z5
	VFMADD231PS 384(DI), Z8, Z6
	VFMADD231PS 448(DI), Z8, Z7
	ADDQ R12, SI
	ADDQ R13, DI
	DECQ CX
	JNZ rowloop

rowstore:
	VBROADCASTSS alpha+48(FP), Z9
	VMULPS Z9, Z0, Z0
	VMULPS Z9, Z1, Z1
	VMULPS Z9, Z2, Z2
	VMULPS Z9, Z3, Z3
	VMULPS Z9, Z4, Z4
	VMULPS Z9, Z5, Z5
	VMULPS Z9, Z6, Z6
	VMULPS Z9, Z7, Z7
	VADDPS (DX), Z0, Z0
	VADDPS 64(DX), Z1, Z1
	VADDPS 128(DX), Z2, Z2
	VADDPS 192(DX), Z3, Z3
	VADDPS 256(DX), Z4, Z4
	VADDPS 320(DX), Z5, Z5
	VADDPS 384(DX), Z6, Z6
	VADDPS 448(DX), Z7, Z7
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, 64(DX)
	VMOVUPS Z2, 128(DX)
	VMOVUPS Z3, 192(DX)
	VMOVUPS Z4, 256(DX)
	VMOVUPS Z5, 320(DX)
	VMOVUPS Z6, 384(DX)
	VMOVUPS Z7, 448(DX)
	VZEROUPPER
	RET

// func kernel1x64(k int, a *float32, ks int, b *float32, ldb int, c *float32, alpha float32, masks uint64)
//
// kernel1x128 for up to 64 columns: c[j] += alpha * (sum over kk < k of
// a[kk*ks] * b[kk*ldb+j]) for the columns set in masks (16 bits per ZMM
// register, lowest first). Loads and stores are masked, so nothing past the
// columns is read or written. Same bits as kernel8x32.
TEXT ·kernel1x64(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ ks+16(FP), R12
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R13
	MOVQ c+40(FP), DX
	MOVQ masks+56(FP), AX
	KMOVW AX, K1
	SHRQ $16, AX
	KMOVW AX, K2
	SHRQ $16, AX
	KMOVW AX, K3
	SHRQ $16, AX
	KMOVW AX, K4
	SHLQ $2, R12
	SHLQ $2, R13
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	TESTQ CX, CX
	JE mstore

mloop:
	VBROADCASTSS (SI), Z8
	VMOVUPS.Z (DI), K1, Z10
	VMOVUPS.Z 64(DI), K2, Z11
	VMOVUPS.Z 128(DI), K3, Z12
	VMOVUPS.Z 192(DI), K4, Z13
	VFMADD231PS Z10, Z8, Z0
	VFMADD231PS Z11, Z8, Z1
	VFMADD231PS Z12, Z8, Z2
	VFMADD231PS Z13, Z8, Z3
	ADDQ R12, SI
	ADDQ R13, DI
	DECQ CX
	JNZ mloop

mstore:
	VBROADCASTSS alpha+48(FP), Z9
	VMULPS Z9, Z0, Z0
	VMULPS Z9, Z1, Z1
	VMULPS Z9, Z2, Z2
	VMULPS Z9, Z3, Z3
	VMOVUPS.Z (DX), K1, Z10
	VMOVUPS.Z 64(DX), K2, Z11
	VMOVUPS.Z 128(DX), K3, Z12
	VMOVUPS.Z 192(DX), K4, Z13
	VADDPS Z10, Z0, Z0
	VADDPS Z11, Z1, Z1
	VADDPS Z12, Z2, Z2
	VADDPS Z13, Z3, Z3
	VMOVUPS Z0, K1, (DX)
	VMOVUPS Z1, K2, 64(DX)
	VMOVUPS Z2, K3, 128(DX)
	VMOVUPS Z3, K4, 192(DX)
	VZEROUPPER
	RET

// func kernel1x256(k int, a *float32, ks int, b *float32, ldb int, c *float32, alpha float32)
//
// kernel1x128 for 256 columns: sixteen FMA chains, and each step of k reads
// one contiguous kilobyte of B (a whole row of a 256-wide matrix), which the
// hardware prefetcher streams. Same bits as kernel8x32.
TEXT ·kernel1x256(SB), NOSPLIT, $0-52
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ ks+16(FP), R12
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R13
	MOVQ c+40(FP), DX
	SHLQ $2, R12
	SHLQ $2, R13
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	TESTQ CX, CX
	JE wstore

wloop:
	VBROADCASTSS (SI), Z16
	VFMADD231PS (DI), Z16, Z0
	VFMADD231PS 64(DI), Z16, Z1
	VFMADD231PS 128(DI), Z16, Z2
	VFMADD231PS 192(DI), Z16, Z3
	VFMADD231PS 256(DI), Z16, Z4
	VFMADD231PS 320(DI), Z16, Z5
	VFMADD231PS 384(DI), Z16, Z6
	VFMADD231PS 448(DI), Z16, Z7
	VFMADD231PS 512(DI), Z16, Z8
	VFMADD231PS 576(DI), Z16, Z9
	VFMADD231PS 640(DI), Z16, Z10
	VFMADD231PS 704(DI), Z16, Z11
	VFMADD231PS 768(DI), Z16, Z12
	VFMADD231PS 832(DI), Z16, Z13
	VFMADD231PS 896(DI), Z16, Z14
	VFMADD231PS 960(DI), Z16, Z15
	ADDQ R12, SI
	ADDQ R13, DI
	DECQ CX
	JNZ wloop

wstore:
	VBROADCASTSS alpha+48(FP), Z17
	VMULPS Z17, Z0, Z0
	VMULPS Z17, Z1, Z1
	VMULPS Z17, Z2, Z2
	VMULPS Z17, Z3, Z3
	VMULPS Z17, Z4, Z4
	VMULPS Z17, Z5, Z5
	VMULPS Z17, Z6, Z6
	VMULPS Z17, Z7, Z7
	VMULPS Z17, Z8, Z8
	VMULPS Z17, Z9, Z9
	VMULPS Z17, Z10, Z10
	VMULPS Z17, Z11, Z11
	VMULPS Z17, Z12, Z12
	VMULPS Z17, Z13, Z13
	VMULPS Z17, Z14, Z14
	VMULPS Z17, Z15, Z15
	VADDPS (DX), Z0, Z0
	VADDPS 64(DX), Z1, Z1
	VADDPS 128(DX), Z2, Z2
	VADDPS 192(DX), Z3, Z3
	VADDPS 256(DX), Z4, Z4
	VADDPS 320(DX), Z5, Z5
	VADDPS 384(DX), Z6, Z6
	VADDPS 448(DX), Z7, Z7
	VADDPS 512(DX), Z8, Z8
	VADDPS 576(DX), Z9, Z9
	VADDPS 640(DX), Z10, Z10
	VADDPS 704(DX), Z11, Z11
	VADDPS 768(DX), Z12, Z12
	VADDPS 832(DX), Z13, Z13
	VADDPS 896(DX), Z14, Z14
	VADDPS 960(DX), Z15, Z15
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, 64(DX)
	VMOVUPS Z2, 128(DX)
	VMOVUPS Z3, 192(DX)
	VMOVUPS Z4, 256(DX)
	VMOVUPS Z5, 320(DX)
	VMOVUPS Z6, 384(DX)
	VMOVUPS Z7, 448(DX)
	VMOVUPS Z8, 512(DX)
	VMOVUPS Z9, 576(DX)
	VMOVUPS Z10, 640(DX)
	VMOVUPS Z11, 704(DX)
	VMOVUPS Z12, 768(DX)
	VMOVUPS Z13, 832(DX)
	VMOVUPS Z14, 896(DX)
	VMOVUPS Z15, 960(DX)
	VZEROUPPER
	RET
