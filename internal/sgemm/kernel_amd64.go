package sgemm

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernel4x16 is kernelGo in AVX2/FMA assembly.
//
//go:noescape
func kernel4x16(k int, a, b *float32, ldb int, tile *[mr * nr]float32)

// kernel4x16rows is kernelRowsGo in AVX2/FMA assembly.
//
//go:noescape
func kernel4x16rows(k int, a *float32, lda int, b *float32, ldb int, tile *[mr * nr]float32)

func kernel(k int, a, b []float32, ldb int, tile *[mr * nr]float32) {
	if useAVX2 && k > 0 {
		_ = a[k*mr-1]
		_ = b[(k-1)*ldb+nr-1]
		kernel4x16(k, &a[0], &b[0], ldb, tile)
		return
	}
	kernelGo(k, a, b, ldb, tile)
}

// kernelRows is kernel with A read in place: four full rows of k values
// starting at a[0], a[lda], a[2*lda], a[3*lda].
func kernelRows(k int, a []float32, lda int, b []float32, ldb int, tile *[mr * nr]float32) {
	if useAVX2 && k > 0 {
		_ = a[3*lda+k-1]
		_ = b[(k-1)*ldb+nr-1]
		kernel4x16rows(k, &a[0], lda, &b[0], ldb, tile)
		return
	}
	kernelRowsGo(k, a, lda, b, ldb, tile)
}
