//go:build !amd64

package sgemm

const hasAVX512 = false

func tile512(k int, a []float32, rs, ks int, b []float32, ldb int, c []float32, ldc int, alpha float32, rows, cols int) {
	panic("sgemm: no AVX-512 kernel on this architecture")
}

func row512(k int, a []float32, ks int, b []float32, ldb int, c []float32, alpha float32) {
	panic("sgemm: no AVX-512 kernel on this architecture")
}

func rowTail512(k int, a []float32, ks int, b []float32, ldb int, c []float32, alpha float32, cols int) {
	panic("sgemm: no AVX-512 kernel on this architecture")
}

func rowWide512(k int, a []float32, ks int, b []float32, ldb int, c []float32, alpha float32) {
	panic("sgemm: no AVX-512 kernel on this architecture")
}

func tileShifted512(k int, a []float32, rs, ks int, b []float32, offs []int, c []float32, ldc int, rows, cols int) {
	panic("sgemm: no AVX-512 kernel on this architecture")
}
