package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
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
