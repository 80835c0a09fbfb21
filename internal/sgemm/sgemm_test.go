package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

// TestSgemmMatchesGonum compares every transpose combination, odd shapes
// (edges of the 4x16 tile, more than one depth block, a product large
// enough to be split over the cores), padded leading dimensions, alpha and
// beta with gonum's reference Sgemm.
func TestSgemmMatchesGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {4, 16, 1}, {5, 17, 300}, {100, 50, 784}, {37, 10, 513}, {130, 33, 64}, {0, 3, 3}, {3, 3, 0}, {260, 256, 300}}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.25}, {0, 2}} {
					pad := rng.IntN(3)
					ra, ca := m, k
					if tA == blas.Trans {
						ra, ca = k, m
					}
					rb, cb := k, n
					if tB == blas.Trans {
						rb, cb = n, k
					}
					lda, ldb, ldc := max(ca, 1)+pad, max(cb, 1)+pad, max(n, 1)+pad
					a := randSlice(rng, max(ra*lda, 1))
					b := randSlice(rng, max(rb*ldb, 1))
					c := randSlice(rng, max(m*ldc, 1))
					want := append([]float32(nil), c...)
					gonum.Implementation{}.Sgemm(tA, tB, m, n, k, ab[0], a, lda, b, ldb, ab[1], want, ldc)
					Sgemm(tA, tB, m, n, k, ab[0], a, lda, b, ldb, ab[1], c, ldc)
					for i := range c {
						if d := math.Abs(float64(c[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
							t.Fatalf("%dx%dx%d tA=%c tB=%c alpha=%v beta=%v: c[%d] = %v, want %v", m, n, k, tA, tB, ab[0], ab[1], i, c[i], want[i])
						}
					}
				}
			}
		}
	}
}

func TestKernelsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, k := range []int{1, 2, 7, 256} {
		a, b := randSlice(rng, k*mr), randSlice(rng, k*nr)
		var got, want [mr * nr]float32
		kernel(k, a, b, nr, &got)
		kernelGo(k, a, b, nr, &want)
		// The same tile from rows read in place (lda = k + 3).
		rows := make([]float32, 3*(k+3)+k)
		for i := 0; i < mr; i++ {
			for kk := 0; kk < k; kk++ {
				rows[i*(k+3)+kk] = a[kk*mr+i]
			}
		}
		var fromRows, fromRowsGo [mr * nr]float32
		kernelRows(k, rows, k+3, b, nr, &fromRows)
		kernelRowsGo(k, rows, k+3, b, nr, &fromRowsGo)
		for i := range got {
			for _, v := range []float32{fromRows[i], fromRowsGo[i]} {
				if d := math.Abs(float64(v - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("k=%d: row kernel tile[%d] = %v, want %v", k, i, v, want[i])
				}
			}
		}
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("k=%d: tile[%d] = %v, want %v", k, i, got[i], want[i])
			}
		}
	}
}

func TestInvalidArgumentsPanicLikeGonum(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a too-short C")
		}
	}()
	Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
}

// BenchmarkSgemm compares this package with gonum on the products of the
// book's network (batch 100 and 1000) and of a 784-100-10 training step.
func BenchmarkSgemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range []struct {
		m, n, k int
		tA, tB  blas.Transpose
	}{
		{100, 50, 784, blas.NoTrans, blas.NoTrans},
		{1000, 50, 784, blas.NoTrans, blas.NoTrans},
		{100, 100, 50, blas.NoTrans, blas.NoTrans},
		{784, 100, 100, blas.Trans, blas.NoTrans}, // dW = xᵀ·dy
		{100, 784, 100, blas.NoTrans, blas.Trans}, // dx = dy·Wᵀ
	} {
		a := randSlice(rng, s.m*s.k)
		bb := randSlice(rng, s.k*s.n)
		c := make([]float32, s.m*s.n)
		lda, ldb := s.k, s.n
		if s.tA == blas.Trans {
			lda = s.m
		}
		if s.tB == blas.Trans {
			ldb = s.k
		}
		for _, impl := range []struct {
			name string
			f    func(blas.Transpose, blas.Transpose, int, int, int, float32, []float32, int, []float32, int, float32, []float32, int)
		}{{"gonum", gonum.Implementation{}.Sgemm}, {"tapenet", Sgemm}} {
			b.Run(fmt.Sprintf("%dx%dx%d%c%c/%s", s.m, s.n, s.k, s.tA, s.tB, impl.name), func(b *testing.B) {
				b.SetBytes(int64(2 * s.m * s.n * s.k)) // "MB/s" reads as Mflop/s
				for b.Loop() {
					impl.f(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
			})
		}
	}
}

// TestFamiliesGiveTheSameBits runs every product with the 4×16 and the
// 8×32 kernels, on one goroutine and split over several by rows and by
// columns, and wants identical bits: models trained on one CPU reproduce
// on another.
func TestFamiliesGiveTheSameBits(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	// The conv filter gradient's shapes (taps × filters × a depth chunk):
	// rows of B 16 or 30 wide read in place, the last partial panel too.
	shapes := [][3]int{{1, 1, 1}, {1, 256, 784}, {1, 10, 256}, {1, 100, 4320}, {1, 200, 300}, {1, 700, 300}, {1, 63, 7}, {7, 33, 5}, {8, 32, 256}, {9, 65, 257}, {100, 10, 100}, {57, 30, 25}, {300, 700, 600}, {1200, 30, 25}, {64, 2048, 64},
		{72, 16, 1024}, {13, 30, 1024}, {5, 16, 300}, {288, 64, 1024}, {40, 48, 513}}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, tight := range []bool{false, true} {
					lda, ldb := k+1, n+2
					if ta {
						lda = m + 3
					}
					if tb {
						ldb = k
					}
					// tight: B's rows exactly n apart and no value after its last
					rowsB, colsB := k, n
					if tb {
						rowsB, colsB = n, k
					}
					size := ldb * max(n, k)
					if tight {
						ldb = colsB
						size = rowsB * ldb
					}
					a := randSlice(rng, lda*max(m, k))
					b := randSlice(rng, size)
					c0 := randSlice(rng, m*(n+1))
					var results [][]float32
					for _, kern := range []kernels{tiles4x16, tiles8x32} {
						c := slices.Clone(c0)
						sgemm(kern, ta, tb, m, n, k, 0.75, a, lda, b, ldb, c, n+1)
						results = append(results, c)
					}
					for i := range results[0] {
						if math.Float32bits(results[0][i]) != math.Float32bits(results[1][i]) {
							t.Fatalf("%dx%dx%d ta=%v tb=%v tight=%v: element %d is %v with 4x16 tiles, %v with 8x32", m, n, k, ta, tb, tight, i, results[0][i], results[1][i])
						}
					}
				}
			}
		}
	}
}

// BenchmarkSgemmSquare measures n×n×n products, the figure BLAS libraries
// are compared on (scripts/bench.sh reads it: GFLOP/s = 2n³ / ns).
func BenchmarkSgemmSquare(b *testing.B) {
	for _, n := range []int{512, 2048} {
		rng := rand.New(rand.NewPCG(9, 10))
		x, y, c := randSlice(rng, n*n), randSlice(rng, n*n), make([]float32, n*n)
		for _, kern := range []struct {
			name string
			k    kernels
		}{{"best", best}, {"4x16", tiles4x16}} {
			b.Run(fmt.Sprintf("%d/%s", n, kern.name), func(b *testing.B) {
				b.SetBytes(int64(2 * n * n * n))
				for b.Loop() {
					clear(c)
					sgemm(kern.k, false, false, n, n, n, 1, x, n, y, n, c, n)
				}
			})
		}
	}
}
