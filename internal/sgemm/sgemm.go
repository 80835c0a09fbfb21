// Package sgemm is a float32 matrix multiply (BLAS Sgemm) tuned for the
// shapes neural networks run: a cache-blocked loop around a register-tiled
// micro-kernel chosen at start-up with golang.org/x/sys/cpu: 8x32 tiles in
// AVX-512 assembly, else 4x16 tiles in AVX2/FMA assembly, else the same
// 4x16 tiles in portable Go; spread over the available cores for large
// products. The AVX-512 and AVX2 kernels give the same bits: each element is
// one FMA chain per depth block of 256, in the same order.
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
// Values of b past B's last element (up to len(b)) may be read, never
// written: b's slice must not overlap c, as in every BLAS.
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
	sgemm(best, tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, c, ldc)
}

// kernels names a micro-kernel family.
type kernels int

const (
	tiles4x16 kernels = iota // AVX2/FMA assembly, or portable Go
	tiles8x32                // AVX-512 assembly
)

// best is the fastest family this CPU runs, chosen once at start-up.
var best = func() kernels {
	if hasAVX512 {
		return tiles8x32
	}
	return tiles4x16
}()

// Kernels names the micro-kernels Sgemm runs on this CPU.
func Kernels() string {
	switch {
	case best == tiles8x32:
		return "AVX-512 8x32 kernel"
	case useAVX2:
		return "AVX2/FMA 4x16 kernel"
	}
	return "portable Go 4x16 kernel"
}

// sgemm adds alpha·op(A)·op(B) to C (already scaled by beta) with the
// given kernels, over several goroutines for large products. Both families
// give the same bits, and so does any split over goroutines: every element
// is summed by one goroutine in the same order.
func sgemm(kern kernels, ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	tm, tn := mr, nr
	if kern == tiles8x32 {
		tm, tn = mr512, nr512
	}
	// Split C over the cores only for large products: below about 16M
	// multiply-adds the goroutine hand-offs cost what the second core gains
	// (measured on the 784-100-10 training step), and callers such as
	// graph.Predictor.Classify already keep every core busy. Wide products
	// are split by columns (each goroutine packs only its part of B), tall
	// ones by rows.
	workers := 1
	if m*n*k >= 1<<24 {
		workers = min(runtime.GOMAXPROCS(0), 8, max((m+tm-1)/tm, (n+tn-1)/tn))
	}
	if workers == 1 {
		block(kern, ta, tb, 0, m, 0, n, k, alpha, a, lda, b, ldb, c, ldc)
		return
	}
	byCols := (n+tn-1)/tn >= workers && (n >= m || (m+tm-1)/tm < workers)
	size, unit := m, tm
	if byCols {
		size, unit = n, tn
	}
	step := ((size+workers-1)/workers + unit - 1) / unit * unit
	var wg sync.WaitGroup
	for from := 0; from < size; from += step {
		to := min(from+step, size)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if byCols {
				block(kern, ta, tb, 0, m, from, to, k, alpha, a, lda, b, ldb, c, ldc)
			} else {
				block(kern, ta, tb, from, to, 0, n, k, alpha, a, lda, b, ldb, c, ldc)
			}
		}()
	}
	wg.Wait()
}

// block adds alpha·op(A)·op(B) to the rows [i0, i1) × columns [j0, j1) of
// C with the given kernels.
func block(kern kernels, ta, tb bool, i0, i1, j0, j1, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if kern == tiles8x32 {
		multiply512(ta, tb, i0, i1, j0, j1, k, alpha, a, lda, b, ldb, c, ldc)
		return
	}
	multiply(ta, tb, i0, i1, j0, j1, k, alpha, a, lda, b, ldb, c, ldc)
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

// multiply adds alpha·op(A)·op(B) to the block rows [from, to) × columns
// [j0, j1) of C with the 4×16 kernels. Whole 16-column panels of a
// row-major B, and whole 4-row tiles of a row-major A, are read in place;
// the rest is packed first.
func multiply(ta, tb bool, from, to, c0, c1, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	// Columns [c0, c1) of op(B) and C are those of the slices shifted by c0.
	n := c1 - c0
	if tb {
		b = b[c0*ldb:]
	} else {
		b = b[c0:]
	}
	c = c[c0:]
	buf := pool.Get().(*buffers)
	defer pool.Put(buf)
	npanels := (n + nr - 1) / nr
	var tile [mr * nr]float32
	for k0 := 0; k0 < k; k0 += kc {
		kb := min(kc, k-k0)
		buf.b = grow(buf.b, npanels*nr*kb)
		for p := 0; p < npanels; p++ {
			if j0 := p * nr; tb || n-j0 < nr {
				packPanel(tb, buf.b[p*nr*kb:(p+1)*nr*kb], nr, b, ldb, k0, kb, j0, min(nr, n-j0))
			}
		}
		buf.a = grow(buf.a, mr*kb)
		for i0 := from; i0 < to; i0 += mr {
			ib := min(mr, to-i0)
			direct := !ta && ib == mr
			if !direct {
				packRows(ta, buf.a, mr, a, lda, i0, ib, k0, kb)
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

// packRows writes rows [i0, i0+ib) and columns [k0, k0+kb) of op(A) as kb
// groups of mr values (row-interleaved), zero-padding missing rows.
func packRows(ta bool, dst []float32, mr int, a []float32, lda, i0, ib, k0, kb int) {
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

// packPanel writes rows [k0, k0+kb) and columns [j0, j0+jb) of op(B) as
// one panel: kb groups of nr values, zero-padding missing columns.
func packPanel(tb bool, panel []float32, nr int, b []float32, ldb, k0, kb, j0, jb int) {
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
