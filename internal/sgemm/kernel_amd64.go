package sgemm

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernel4x16 is kernelGo in AVX2/FMA assembly.
//
//go:noescape
func kernel4x16(k int, a, b *float32, tile *[mr * nr]float32)

func kernel(k int, a, b []float32, tile *[mr * nr]float32) {
	if useAVX2 && k > 0 {
		_ = a[k*mr-1]
		_ = b[k*nr-1]
		kernel4x16(k, &a[0], &b[0], tile)
		return
	}
	kernelGo(k, a, b, tile)
}
