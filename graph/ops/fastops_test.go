package ops

import (
	"math"
	"testing"
)

func TestExp32(t *testing.T) {
	worst := 0.0
	for x := -87.3; x <= 88.7; x += 0.0137 { // normal float32 results
		got := float64(exp32(float32(x)))
		want := math.Exp(float64(float32(x)))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	// float32 has 24 bits: 2 ulp is 2.4e-7 relative.
	if worst > 2.4e-7 {
		t.Errorf("exp32: worst relative error %.3g", worst)
	}
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {89, float32(math.Inf(1))}, {-104, 0}, {1, float32(math.E)},
		{-100, float32(math.Exp(-100))}, // subnormal
	} {
		if got := exp32(c.x); got != c.want && math.Abs(float64(got-c.want)) > 1e-6 {
			t.Errorf("exp32(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if nan := exp32(float32(math.NaN())); nan == nan {
		t.Error("exp32(NaN) is not NaN")
	}
}

func TestSigmoid32(t *testing.T) {
	for x := -120.0; x <= 120; x += 0.01 {
		got := float64(sigmoid32(float32(x)))
		want := 1 / (1 + math.Exp(-float64(float32(x))))
		if math.Abs(got-want) > 1.2e-7 {
			t.Fatalf("sigmoid32(%v) = %v, want %v", x, got, want)
		}
	}
}

// TestSigmoidSlice checks the vectorised path against sigmoid32, including
// the scalar tail, infinities, values beyond the clamps and NaN.
func TestSigmoidSlice(t *testing.T) {
	src := []float32{0, 1, -1, 3.5, -7.25, 20, -20, 87, -87, 88.5, -88.5, 100, -100, 1e30, -1e30,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0.001, -0.001, 42, 5}
	for i := 0; i < 200; i++ {
		src = append(src, float32(i-100)*0.37)
	}
	dst := make([]float32, len(src))
	sigmoidSlice(dst, src)
	for i, x := range src {
		want := 1 / (1 + math.Exp(-float64(x)))
		got := float64(dst[i])
		if math.IsNaN(float64(x)) {
			if !math.IsNaN(got) {
				t.Errorf("sigmoid(NaN) = %v", got)
			}
			continue
		}
		if math.Abs(got-want) > 1.2e-7 {
			t.Errorf("sigmoid(%v) = %v, want %v", x, got, want)
		}
	}
}

func BenchmarkSigmoidSlice(b *testing.B) {
	xs := make([]float32, 1000)
	for i := range xs {
		xs[i] = float32(i-500) / 50
	}
	out := make([]float32, len(xs))
	for b.Loop() {
		sigmoidSlice(out, xs)
	}
}

func BenchmarkSigmoid32(b *testing.B) {
	xs := make([]float32, 1000)
	for i := range xs {
		xs[i] = float32(i-500) / 50
	}
	for b.Loop() {
		for i, v := range xs {
			xs[i] = sigmoid32(v) - 0.5
		}
	}
}
