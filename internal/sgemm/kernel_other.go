//go:build !amd64

package sgemm

func kernel(k int, a, b []float32, ldb int, tile *[mr * nr]float32) { kernelGo(k, a, b, ldb, tile) }

func kernelRows(k int, a []float32, lda int, b []float32, ldb int, tile *[mr * nr]float32) {
	kernelRowsGo(k, a, lda, b, ldb, tile)
}

const useAVX2 = false
