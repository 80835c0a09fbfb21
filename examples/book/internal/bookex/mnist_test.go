package bookex

import (
	"math"
	"testing"
)

// SmoothCurve keeps a constant, keeps a straight line away from its ends
// (the window is symmetric), has the input's length, and weighs its
// neighbours as np.kaiser(11, 2) does: I0(0)/I0(2) = 0.438676 at the ends.
func TestSmoothCurve(t *testing.T) {
	flat := make([]float64, 30)
	line := make([]float64, 30)
	for i := range flat {
		flat[i], line[i] = 2.5, float64(i)
	}
	for i, v := range SmoothCurve(flat) {
		if math.Abs(v-2.5) > 1e-12 {
			t.Fatalf("constant: y[%d] = %v", i, v)
		}
	}
	y := SmoothCurve(line)
	if len(y) != 30 {
		t.Fatalf("%d values, want 30", len(y))
	}
	for i := 5; i < 25; i++ {
		if math.Abs(y[i]-line[i]) > 1e-9 {
			t.Errorf("line: y[%d] = %v, want %v", i, y[i], line[i])
		}
	}
	if r := 1 / besselI0(2); math.Abs(r-0.438676) > 1e-6 {
		t.Errorf("kaiser end weight %v, want 0.438676", r)
	}
	// One spike of 11 at i = 15: the weights, normalised.
	spike := make([]float64, 30)
	spike[15] = 1
	sum := 0.0
	for _, v := range SmoothCurve(spike) {
		sum += v
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("a spike's smoothed mass %v, want 1", sum)
	}
}
