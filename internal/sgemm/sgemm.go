// Package sgemm is a float32 matrix multiply (BLAS Sgemm) tuned for the
// shapes neural networks run: a packed, cache-blocked loop around a 4x16
// register-tiled micro-kernel, written in AVX2/FMA assembly on amd64 (with a
// pure-Go kernel elsewhere), spread over the available cores for large
// products.
//
// BLAS wraps it into a full gonum BLAS implementation (every other routine is
// gonum's), which graph installs into Gorgonia so that every matrix product of
// every model runs on it.
package sgemm

import (
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

const (
	mr = 4   // rows of the micro-tile
	nr = 16  // columns of the micro-tile
	kc = 256 // depth of a cache block
)

// BLAS is gonum's BLAS implementation with Sgemm replaced by this package's.
type BLAS struct{ gonum.Implementation }

// Sgemm computes C = alpha * op(A) * op(B) + beta * C, where op(X) is X or
// its transpose, for row-major matrices, with the checks and semantics of
// gonum's Sgemm.
func (BLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Sgemm computes C = alpha * op(A) * op(B) + beta * C for row-major
// matrices: op(A) is m×k, op(B) is k×n, C is m×n. Arguments that gonum's
// Sgemm would reject are passed to it, so it panics with gonum's messages.
func Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !valid(tA, tB, m, n, k, a, lda, b, ldb, c, ldc) {
		gonum.Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if m == 0 || n == 0 {
		return
	}
	scaleC(m, n, beta, c, ldc)
	if k == 0 || alpha == 0 {
		return
	}
	ta, tb := tA != blas.NoTrans, tB != blas.NoTrans
	// Split the rows of C over the cores only for large products: below
	// about 16M multiply-adds the goroutine hand-offs cost what the second
	// core gains (measured on the 784-100-10 training step), and callers such
	// as graph.Predictor.Classify already keep every core busy.
	workers := 1
	if flops := m * n * k; flops >= 1<<24 && m >= 2*mr {
		workers = min(runtime.GOMAXPROCS(0), (m+mr-1)/mr, 8)
	}
	if workers == 1 {
		multiply(ta, tb, 0, m, n, k, alpha, a, lda, b, ldb, c, ldc)
		return
	}
	rows := ((m+workers-1)/workers + mr - 1) / mr * mr
	var wg sync.WaitGroup
	for from := 0; from < m; from += rows {
		to := min(from+rows, m)
		wg.Add(1)
		go func() {
			defer wg.Done()
			multiply(ta, tb, from, to, n, k, alpha, a, lda, b, ldb, c, ldc)
		}()
	}
	wg.Wait()
}

func valid(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) bool {
	okT := func(t blas.Transpose) bool { return t == blas.NoTrans || t == blas.Trans || t == blas.ConjTrans }
	if !okT(tA) || !okT(tB) || m < 0 || n < 0 || k < 0 || ldc < max(1, n) {
		return false
	}
	ra, ca := m, k
	if tA != blas.NoTrans {
		ra, ca = k, m
	}
	rb, cb := k, n
	if tB != blas.NoTrans {
		rb, cb = n, k
	}
	if lda < max(1, ca) || ldb < max(1, cb) {
		return false
	}
	need := func(rows, cols, ld, have int) bool { return rows == 0 || cols == 0 || have >= ld*(rows-1)+cols }
	return need(ra, ca, lda, len(a)) && need(rb, cb, ldb, len(b)) && need(m, n, ldc, len(c))
}

func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

type buffers struct{ a, b []float32 }

var pool = sync.Pool{New: func() any { return new(buffers) }}

// multiply adds alpha * op(A)[from:to] * op(B) to rows [from, to) of C.
// Whole 16-column panels of a row-major B, and whole 4-row tiles of a
// row-major A, are read in place; the rest is packed first.
func multiply(ta, tb bool, from, to, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	buf := pool.Get().(*buffers)
	defer pool.Put(buf)
	npanels := (n + nr - 1) / nr
	var tile [mr * nr]float32
	for k0 := 0; k0 < k; k0 += kc {
		kb := min(kc, k-k0)
		buf.b = grow(buf.b, npanels*nr*kb)
		for p := 0; p < npanels; p++ {
			if j0 := p * nr; tb || n-j0 < nr {
				packB(tb, buf.b[p*nr*kb:(p+1)*nr*kb], b, ldb, k0, kb, j0, min(nr, n-j0))
			}
		}
		buf.a = grow(buf.a, mr*kb)
		for i0 := from; i0 < to; i0 += mr {
			ib := min(mr, to-i0)
			direct := !ta && ib == mr
			if !direct {
				packA(ta, buf.a, a, lda, i0, ib, k0, kb)
			}
			for p := 0; p < npanels; p++ {
				j0 := p * nr
				jb := min(nr, n-j0)
				bp, bld := buf.b[p*nr*kb:], nr
				if !tb && jb == nr {
					bp, bld = b[k0*ldb+j0:], ldb
				}
				if direct {
					kernelRows(kb, a[i0*lda+k0:], lda, bp, bld, &tile)
				} else {
					kernel(kb, buf.a, bp, bld, &tile)
				}
				for i := 0; i < ib; i++ {
					row := c[(i0+i)*ldc+j0 : (i0+i)*ldc+j0+jb]
					t := tile[i*nr : i*nr+jb]
					for j := range row {
						row[j] += alpha * t[j]
					}
				}
			}
		}
	}
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// packA writes rows [i0, i0+ib) and columns [k0, k0+kb) of op(A) as kb
// groups of mr values (row-interleaved), zero-padding missing rows.
func packA(ta bool, dst, a []float32, lda, i0, ib, k0, kb int) {
	dst = dst[:kb*mr]
	if ib < mr {
		clear(dst)
	}
	if ta {
		for kk := 0; kk < kb; kk++ {
			copy(dst[kk*mr:kk*mr+ib], a[(k0+kk)*lda+i0:(k0+kk)*lda+i0+ib])
		}
		return
	}
	for i := 0; i < ib; i++ {
		row := a[(i0+i)*lda+k0 : (i0+i)*lda+k0+kb]
		for kk, v := range row {
			dst[kk*mr+i] = v
		}
	}
}

// packB writes rows [k0, k0+kb) and columns [j0, j0+jb) of op(B) as one
// panel: kb groups of nr values, zero-padding missing columns.
func packB(tb bool, panel, b []float32, ldb, k0, kb, j0, jb int) {
	for kk := 0; kk < kb; kk++ {
		d := panel[kk*nr : kk*nr+nr]
		if !tb {
			copy(d, b[(k0+kk)*ldb+j0:(k0+kk)*ldb+j0+jb])
		} else {
			for j := 0; j < jb; j++ {
				d[j] = b[(j0+j)*ldb+k0+kk]
			}
		}
		clear(d[jb:])
	}
}

// kernelRowsGo is the portable kernelRows.
func kernelRowsGo(k int, a []float32, lda int, b []float32, ldb int, tile *[mr * nr]float32) {
	*tile = [mr * nr]float32{}
	for i := 0; i < mr; i++ {
		row := a[i*lda : i*lda+k]
		t := tile[i*nr : i*nr+nr]
		for kk, x := range row {
			for j, y := range b[kk*ldb : kk*ldb+nr] {
				t[j] += x * y
			}
		}
	}
}

// kernelGo is the portable micro-kernel: tile = Σ_k a[k]ᵀ·b[k] for a
// packed panel a (k groups of mr) and rows of b nr wide, ldb apart.
func kernelGo(k int, a, b []float32, ldb int, tile *[mr * nr]float32) {
	*tile = [mr * nr]float32{}
	for kk := 0; kk < k; kk++ {
		av := a[kk*mr : kk*mr+mr]
		bv := b[kk*ldb : kk*ldb+nr]
		for i, x := range av {
			t := tile[i*nr : i*nr+nr]
			for j, y := range bv {
				t[j] += x * y
			}
		}
	}
}
