package train

import (
	"fmt"
	"math"
	"testing"
)

// The schedules give the rates computed by hand from their formulas.
func TestSchedules(t *testing.T) {
	const base = 0.1
	c := func(step, steps float64) float64 { return 0.5 * (1 + math.Cos(math.Pi*step/steps)) }
	for _, test := range []struct {
		name  string
		s     Schedule
		steps []int
		want  []float64
	}{
		{"constant", Constant{}, []int{0, 7, 1000}, []float64{0.1, 0.1, 0.1}},
		{"step every 3 by 0.5", StepDecay{Every: 3, Gamma: 0.5}, []int{0, 2, 3, 5, 6, 9}, []float64{0.1, 0.1, 0.05, 0.05, 0.025, 0.0125}},
		{"step default gamma", StepDecay{Every: 2}, []int{1, 2, 4}, []float64{0.1, 0.01, 0.001}},
		{"exponential 0.9", Exponential{Gamma: 0.9}, []int{0, 1, 2, 10}, []float64{0.1, 0.09, 0.081, 0.1 * math.Pow(0.9, 10)}},
		{"cosine over 4", Cosine{Steps: 4}, []int{0, 1, 2, 3, 4, 9}, []float64{0.1, 0.1 * c(1, 4), 0.05, 0.1 * c(3, 4), 0, 0}},
		{"cosine to min", Cosine{Steps: 4, Min: 0.01}, []int{0, 2, 4}, []float64{0.1, 0.055, 0.01}},
		{"warm-up alone", Warmup{Steps: 4}, []int{0, 1, 3, 4, 100}, []float64{0.025, 0.05, 0.1, 0.1, 0.1}},
		{"warm-up then cosine", Warmup{Steps: 2, Then: Cosine{Steps: 4}}, []int{0, 1, 2, 3, 4, 6}, []float64{0.05, 0.1, 0.1, 0.1 * c(1, 4), 0.05, 0}},
		{"per epoch of 10 steps, cosine over 3 epochs", PerEpoch{Steps: 10, Schedule: Cosine{Steps: 3}}, []int{0, 9, 10, 19, 20, 29}, []float64{0.1, 0.1, 0.1 * c(1, 3), 0.1 * c(1, 3), 0.1 * c(2, 3), 0.1 * c(2, 3)}},
		{"per epoch step decay", PerEpoch{Steps: 5, Schedule: StepDecay{Every: 2, Gamma: 0.5}}, []int{9, 10, 19, 20}, []float64{0.1, 0.05, 0.05, 0.025}},
	} {
		for i, step := range test.steps {
			if got := test.s.Rate(base, step); math.Abs(got-test.want[i]) > 1e-15 {
				t.Errorf("%s: step %d: rate %v, want %v", test.name, step, got, test.want[i])
			}
		}
	}
}

// CosineRate, the per-epoch cosine of earlier versions (and of cmd/train),
// is PerEpoch over Cosine bit for bit, so the embedded models keep their
// bytes.
func TestCosineRateIsPerEpochCosine(t *testing.T) {
	const epochs, perEpoch = 15, 600
	s := PerEpoch{Steps: perEpoch, Schedule: Cosine{Steps: epochs}}
	for epoch := 1; epoch <= epochs; epoch++ {
		old := 0.5 * 0.001 * (1 + math.Cos(math.Pi*float64(epoch-1)/float64(epochs)))
		for _, step := range []int{(epoch - 1) * perEpoch, epoch*perEpoch - 1} {
			if got := s.Rate(0.001, step); got != old || CosineRate(0.001, epoch, epochs) != old {
				t.Fatalf("epoch %d step %d: %v (CosineRate %v), the per-epoch formula gives %v", epoch, step, got, CosineRate(0.001, epoch, epochs), old)
			}
		}
	}
}

// A linear warm-up of 3 steps, then a cosine decay over 4 steps: the rate
// of each step, as the Trainer asks for it.
func ExampleWarmup() {
	s := Warmup{Steps: 3, Then: Cosine{Steps: 4}}
	for step := range 8 {
		fmt.Printf("%.4f ", s.Rate(0.01, step))
	}
	fmt.Println()
	// Output: 0.0033 0.0067 0.0100 0.0100 0.0085 0.0050 0.0015 0.0000
}
