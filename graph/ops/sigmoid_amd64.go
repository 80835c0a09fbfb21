package ops

import "golang.org/x/sys/cpu"

var sigmoidAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// sigmoid8 is sigmoidSlice in AVX2/FMA assembly for len a multiple of 8.
//
//go:noescape
func sigmoid8(dst, src *float32, n int)

// sigmoidSlice sets dst[i] = sigmoid(src[i]).
func sigmoidSlice(dst, src []float32) {
	dst = dst[:len(src)]
	n := 0
	if sigmoidAVX2 {
		n = len(src) &^ 7
		if n > 0 {
			sigmoid8(&dst[0], &src[0], n)
		}
	}
	for i := n; i < len(src); i++ {
		dst[i] = sigmoid32(src[i])
	}
}
