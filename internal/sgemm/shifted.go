package sgemm

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
)

// Shifted reports whether MultiplyShifted runs its own kernel on this CPU
// (AVX-512) rather than copying B out for Sgemm.
func Shifted() bool { return hasAVX512 }

// MultiplyShifted adds A·B to C, where A is m×k row-major with rows lda
// apart, C is m×n with rows ldc apart, and row kk of B (k×n) is
// b[offs[kk]:offs[kk]+n]: rows that are shifted views of one buffer, such
// as the taps of a stride-1 convolution over a zero-padded image (each tap
// the image moved by its offset), so that no patch matrix is written.
// Each element is one FMA chain from zero per depth block of 256, in depth
// order, added to C block after block: the bits Sgemm(NoTrans, NoTrans, m,
// n, k, 1, a, lda, B, n, 1, c, ldc) gives for B copied out row by row.
// B is read in whole tiles of 32 columns, so b must hold at least
// offs[kk] + ⌈n/32⌉·32 values for every kk; MultiplyShifted panics
// otherwise (a bug in the caller), and on negative offsets.
func MultiplyShifted(m, n, k int, a []float32, lda int, b []float32, offs []int, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	wide := (n + nr512 - 1) / nr512 * nr512
	if len(offs) < k || lda < k || ldc < n || len(a) < (m-1)*lda+k || len(c) < (m-1)*ldc+n {
		panic(fmt.Sprintf("sgemm: MultiplyShifted %dx%dx%d: %d offsets, a %d (lda %d), c %d (ldc %d)", m, n, k, len(offs), len(a), lda, len(c), ldc))
	}
	for _, o := range offs[:k] {
		if o < 0 || o+wide > len(b) {
			panic(fmt.Sprintf("sgemm: MultiplyShifted: row offset %d with %d columns read outside b (%d values)", o, wide, len(b)))
		}
	}
	if !hasAVX512 {
		rows := make([]float32, k*n)
		for kk, o := range offs[:k] {
			copy(rows[kk*n:(kk+1)*n], b[o:o+n])
		}
		Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, lda, rows, n, 1, c, ldc)
		return
	}
	buf := pool.Get().(*buffers)
	defer pool.Put(buf)
	for k0 := 0; k0 < k; k0 += kc {
		kb := min(kc, k-k0)
		for i := 0; i < m; i += mr512 {
			ib := min(mr512, m-i)
			ap, rs, ks := a[i*lda+k0:], lda, 1
			if ib < mr512 {
				buf.a = grow(buf.a, mr512*kb)
				packRows(false, buf.a, mr512, a, lda, i, ib, k0, kb)
				ap, rs, ks = buf.a, 1, mr512
			}
			for j := 0; j < n; j += nr512 {
				tileShifted512(kb, ap, rs, ks, b[j:], offs[k0:k0+kb], c[i*ldc+j:], ldc, ib, min(nr512, n-j))
			}
		}
	}
}
