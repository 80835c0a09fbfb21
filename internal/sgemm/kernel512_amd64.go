package sgemm

import "golang.org/x/sys/cpu"

// hasAVX512 reports whether the CPU and the OS run AVX-512F.
var hasAVX512 = cpu.X86.HasAVX512F

// kernel8x32 adds alpha times an 8×32 tile of products to C: for r < rows
// and the columns j set in mask, c[r*ldc+j] += alpha·Σ_kk a[r*rs+kk*ks]·
// b[kk*ldb+j]. Each sum is one FMA chain from zero in kk order, multiplied
// by alpha and then added, as kernel4x16 and multiply do. Rows 0-7 of a
// and 32 columns of b are read whatever rows and mask are.
//
//go:noescape
func kernel8x32(k int, a *float32, rs, ks int, b *float32, ldb int, c *float32, ldc int, alpha float32, rows int, mask uint32)

// tile512 runs kernel8x32 after checking, with Go's bounds checks, that
// every element it reads or writes is inside its slice.
func tile512(k int, a []float32, rs, ks int, b []float32, ldb int, c []float32, ldc int, alpha float32, rows, cols int) {
	if k > 0 {
		_ = a[7*rs+(k-1)*ks]
		_ = b[(k-1)*ldb+nr512-1]
	}
	_ = c[(rows-1)*ldc+cols-1]
	kernel8x32(k, &a[0], rs, ks, &b[0], ldb, &c[0], ldc, alpha, rows, uint32(1)<<cols-1)
}

// kernel1x128 adds alpha times one row of products to 128 columns of C:
// c[j] += alpha·Σ_kk a[kk*ks]·b[kk*ldb+j], with kernel8x32's bits.
//
//go:noescape
func kernel1x128(k int, a *float32, ks int, b *float32, ldb int, c *float32, alpha float32)

// row512 runs kernel1x128 after bounds checks.
func row512(k int, a []float32, ks int, b []float32, ldb int, c []float32, alpha float32) {
	if k > 0 {
		_ = a[(k-1)*ks]
		_ = b[(k-1)*ldb+127]
	}
	_ = c[127]
	kernel1x128(k, &a[0], ks, &b[0], ldb, &c[0], alpha)
}

// kernel1x64 is kernel1x128 for up to 64 columns, those set in masks (16
// bits per ZMM register, lowest first); loads and stores are masked.
//
//go:noescape
func kernel1x64(k int, a *float32, ks int, b *float32, ldb int, c *float32, alpha float32, masks uint64)

// rowTail512 runs kernel1x64 on the first cols (1-64) columns after
// bounds checks.
func rowTail512(k int, a []float32, ks int, b []float32, ldb int, c []float32, alpha float32, cols int) {
	if k > 0 {
		_ = a[(k-1)*ks]
		_ = b[(k-1)*ldb+cols-1]
	}
	_ = c[cols-1]
	kernel1x64(k, &a[0], ks, &b[0], ldb, &c[0], alpha, uint64(1)<<cols-1)
}

// kernel1x256 is kernel1x128 for 256 columns, reading B a whole row at a
// time.
//
//go:noescape
func kernel1x256(k int, a *float32, ks int, b *float32, ldb int, c *float32, alpha float32)

// rowWide512 runs kernel1x256 after bounds checks.
func rowWide512(k int, a []float32, ks int, b []float32, ldb int, c []float32, alpha float32) {
	if k > 0 {
		_ = a[(k-1)*ks]
		_ = b[(k-1)*ldb+255]
	}
	_ = c[255]
	kernel1x256(k, &a[0], ks, &b[0], ldb, &c[0], alpha)
}

// kernel8x32off is kernel8x32 with row kk of b at b[offs[kk]].
//
//go:noescape
func kernel8x32off(k int, a *float32, rs, ks int, b *float32, offs *int, c *float32, ldc int, alpha float32, rows int, mask uint32)

// tileShifted512 runs kernel8x32off; MultiplyShifted has checked the
// bounds of a, b and c for the whole product.
func tileShifted512(k int, a []float32, rs, ks int, b []float32, offs []int, c []float32, ldc int, rows, cols int) {
	kernel8x32off(k, &a[0], rs, ks, &b[0], &offs[0], &c[0], ldc, 1, rows, uint32(1)<<cols-1)
}
