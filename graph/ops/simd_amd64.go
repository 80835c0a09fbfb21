package ops

import "golang.org/x/sys/cpu"

// simd512 reports whether the AVX-512 loops below may run.
var simd512 = cpu.X86.HasAVX512F

// relu16 is reluSlice in AVX-512 assembly for n a multiple of 16.
//
//go:noescape
func relu16(dst, src *float32, n int)

// pool16 is up to 16 outputs of pool2x2Row in AVX-512 assembly; out, in0
// and in1 are lane masks.
//
//go:noescape
func pool16(dst, r0, r1 *float32, out, in0, in1 uint32)

// reluSlice sets dst[i] = 0 where src[i] < 0, else src[i] (NaN and -0 pass).
func reluSlice(dst, src []float32) {
	dst = dst[:len(src)]
	n := 0
	if simd512 {
		if n = len(src) &^ 15; n > 0 {
			relu16(&dst[0], &src[0], n)
		}
	}
	reluGo(dst[n:], src[n:])
}

// pool2x2Row writes len(dst) outputs of a 2×2, stride-2 pooling from the
// rows r0 and r1 (at least 2·len(dst) values each).
func pool2x2Row(dst, r0, r1 []float32) {
	n := len(dst)
	if n == 0 {
		return
	}
	_, _ = r0[2*n-1], r1[2*n-1]
	if !simd512 {
		pool2x2Go(dst, r0, r1)
		return
	}
	for j := 0; j < n; j += 16 {
		k := min(16, n-j) // outputs in this chunk
		in := 2 * k
		in0 := uint32(1)<<min(in, 16) - 1
		in1 := uint32(1)<<max(in-16, 0) - 1
		pool16(&dst[j], &r0[2*j], &r1[2*j], uint32(1)<<k-1, in0, in1)
	}
}

// reluGrad16 is reluGradSlice in AVX-512 assembly for n a multiple of 16.
//
//go:noescape
func reluGrad16(dst, x, grad *float32, n int)

// reluGradSlice sets dst[i] = g[i] where x[i] >= 0, else g[i]·0.
func reluGradSlice(dst, x, g []float32) {
	dst, g = dst[:len(x)], g[:len(x)]
	n := 0
	if simd512 {
		if n = len(x) &^ 15; n > 0 {
			reluGrad16(&dst[0], &x[0], &g[0], n)
		}
	}
	reluGradGo(dst[n:], x[n:], g[n:])
}

// unpool16 is up to 16 outputs of unpool2x2Row in AVX-512 assembly.
//
//go:noescape
func unpool16(dx0, dx1, r0, r1, dy *float32, out, in0, in1 uint32)

// unpool2x2Row writes the gradient of len(dy) outputs of a 2×2, stride-2
// pooling of rows r0 and r1 into dx0 and dx1 (2·len(dy) values each,
// zeroed first): dy at each window's maximum, +0 elsewhere.
func unpool2x2Row(dx0, dx1, r0, r1, dy []float32) {
	n := len(dy)
	if n == 0 {
		return
	}
	_, _, _, _ = r0[2*n-1], r1[2*n-1], dx0[2*n-1], dx1[2*n-1]
	if !simd512 {
		unpool2x2Go(dx0, dx1, r0, r1, dy)
		return
	}
	for j := 0; j < n; j += 16 {
		k := min(16, n-j)
		in := 2 * k
		in0 := uint32(1)<<min(in, 16) - 1
		in1 := uint32(1)<<max(in-16, 0) - 1
		unpool16(&dx0[2*j], &dx1[2*j], &r0[2*j], &r1[2*j], &dy[j], uint32(1)<<k-1, in0, in1)
	}
}
