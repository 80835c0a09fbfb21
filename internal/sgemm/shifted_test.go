package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// MultiplyShifted gives Sgemm's bits on B copied out row by row: tile
// edges in both directions, several depth blocks, overlapping and
// repeated row offsets, a C that already holds values, and the slack it
// needs checked.
func TestMultiplyShiftedMatchesSgemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, s := range [][3]int{{1, 1, 1}, {8, 32, 9}, {16, 784, 144}, {7, 33, 300}, {20, 70, 576}, {64, 80, 513}, {3, 5, 0}} {
		m, n, k := s[0], s[1], s[2]
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			wide := (n + 31) / 32 * 32
			b := randSlice(rng, 3*n+k+wide)
			b[rng.IntN(len(b))] = float32(math.Copysign(0, -1))
			offs := make([]int, k)
			for i := range offs {
				offs[i] = rng.IntN(len(b) - wide + 1)
			}
			if k > 2 {
				offs[1] = offs[0] // a repeated row
			}
			rows := make([]float32, k*n)
			for kk, o := range offs {
				copy(rows[kk*n:(kk+1)*n], b[o:o+n])
			}
			lda, ldc := k+rng.IntN(3), n+rng.IntN(3)
			a := randSlice(rng, max(m*lda, 1))
			c0 := randSlice(rng, m*ldc)
			got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
			MultiplyShifted(m, n, k, a, lda, b, offs, got, ldc)
			Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, lda, rows, n, 1, want, ldc)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("c[%d] = %v, Sgemm %v", i, got[i], want[i])
				}
			}
		})
	}
	defer func() {
		if recover() == nil {
			t.Error("a row offset without 32 readable columns did not panic")
		}
	}()
	MultiplyShifted(1, 5, 1, []float32{1}, 1, make([]float32, 20), []int{0}, make([]float32, 5), 5)
}
