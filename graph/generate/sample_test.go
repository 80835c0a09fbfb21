package generate_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/graph/generate"
)

// fixed is a Source returning given numbers in turn.
type fixed []float64

func (f *fixed) Float64() float64 {
	u := (*f)[0]
	*f = (*f)[1:]
	return u
}

func TestPickInverseCDF(t *testing.T) {
	for _, tc := range []struct {
		p    []float32
		u    float64
		want int
	}{
		{[]float32{0.1, 0.2, 0.7}, 0, 0},
		{[]float32{0.1, 0.2, 0.7}, 0.05, 0},
		{[]float32{0.1, 0.2, 0.7}, 0.11, 1},
		{[]float32{0.1, 0.2, 0.7}, 0.31, 2},
		{[]float32{0.1, 0.2, 0.7}, 0.999999, 2},
		{[]float32{0, 0.5, 0, 0.5}, 0, 1},   // a zero-probability id is never picked
		{[]float32{0, 0.5, 0, 0.5}, 0.5, 3}, // cdf 0.5 is not > 0.5: side="right"
		{[]float32{2, 2, 4}, 0.3, 1},        // normalised by the total, as numpy's cdf /= cdf[-1]
	} {
		src := fixed{tc.u}
		got, err := generate.Sampler{Temperature: 1, Source: &src}.Pick(tc.p)
		if err != nil || got != tc.want {
			t.Errorf("p %v, u %v: %d, %v; want %d", tc.p, tc.u, got, err, tc.want)
		}
	}
}

func TestPickGreedy(t *testing.T) {
	for _, tc := range []struct {
		p    []float32
		skip []int
		want int
	}{
		{[]float32{0.1, 0.6, 0.3}, nil, 1},
		{[]float32{0.4, 0.2, 0.4}, nil, 0}, // the first of a tie, as np.argmax
		{[]float32{0.1, 0.6, 0.3}, []int{1}, 2},
		{[]float32{0.1, 0.6, 0.3}, []int{1, 2, 7, -1}, 0},
	} {
		got, err := generate.Sampler{Skip: tc.skip}.Pick(tc.p)
		if err != nil || got != tc.want {
			t.Errorf("greedy %v skip %v: %d, %v; want %d", tc.p, tc.skip, got, err, tc.want)
		}
	}
}

// TestPickDistribution draws 40,000 times: with Temperature 1 the
// frequencies are p's, with TopK only the K likeliest ids appear (in the
// proportions of their p), a low temperature always gives the argmax, a
// high one flattens, Skip is never drawn.
func TestPickDistribution(t *testing.T) {
	p := []float32{0.05, 0.3, 0.1, 0.25, 0.2, 0.1}
	pow := func(e float64) []float64 {
		q := make([]float64, len(p))
		s := 0.0
		for i, v := range p {
			q[i] = math.Pow(float64(v), e)
			s += q[i]
		}
		for i := range q {
			q[i] /= s
		}
		return q
	}
	top3 := []float64{0, 0.3 / 0.75, 0, 0.25 / 0.75, 0.2 / 0.75, 0}
	skip := []float64{0.05 / 0.7, 0, 0.1 / 0.7, 0.25 / 0.7, 0.2 / 0.7, 0.1 / 0.7}
	for _, tc := range []struct {
		name string
		smp  generate.Sampler
		want []float64
	}{
		{"t1", generate.Sampler{Temperature: 1}, pow(1)},
		{"t0.5", generate.Sampler{Temperature: 0.5}, pow(2)},
		{"t2", generate.Sampler{Temperature: 2}, pow(0.5)},
		{"top3", generate.Sampler{Temperature: 1, TopK: 3}, top3},
		{"t0.001", generate.Sampler{Temperature: 0.001}, []float64{0, 1, 0, 0, 0, 0}},
		{"skip", generate.Sampler{Temperature: 1, Skip: []int{1}}, skip},
	} {
		tc.smp.Source = rand.New(rand.NewPCG(1, 2))
		const n = 40000
		count := make([]float64, len(p))
		for i := 0; i < n; i++ {
			id, err := tc.smp.Pick(p)
			if err != nil {
				t.Fatal(err)
			}
			count[id]++
		}
		for i := range count {
			f := count[i] / n
			if (tc.want[i] == 0 && f != 0) || math.Abs(f-tc.want[i]) > 0.01 {
				t.Errorf("%s: id %d drawn %.4f of the time, want %.4f", tc.name, i, f, tc.want[i])
			}
		}
	}
}

func TestPickErrors(t *testing.T) {
	src := rand.New(rand.NewPCG(1, 1))
	bad := fixed{1}
	for _, tc := range []struct {
		smp  generate.Sampler
		p    []float32
		want string
	}{
		{generate.Sampler{}, nil, "no probabilities"},
		{generate.Sampler{}, []float32{0, 0}, "every probability is zero"},
		{generate.Sampler{Temperature: 1, Source: src}, []float32{0, 0}, "every probability is zero"},
		{generate.Sampler{Temperature: 1, Source: src}, []float32{0.5, float32(math.NaN())}, "probability 1 is NaN"},
		{generate.Sampler{Temperature: 1, Source: src}, []float32{-1, 2}, "probability 0 is -1"},
		{generate.Sampler{Temperature: 1}, []float32{1}, "needs a Source"},
		{generate.Sampler{Temperature: 1, Source: &bad}, []float32{1}, "outside [0, 1)"},
		{generate.Sampler{Skip: []int{0}}, []float32{1}, "every probability is zero"},
	} {
		if _, err := tc.smp.Pick(tc.p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v on %v: %v, want %q", tc.smp, tc.p, err, tc.want)
		}
	}
}
