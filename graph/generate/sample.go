package generate

import (
	"fmt"
	"math"
	"slices"
)

// Source gives uniform numbers in [0, 1). A *rand.Rand of math/rand/v2 is
// one; so is numpy's legacy MT19937 random_sample, for reproducing a numpy
// program's draws.
type Source interface {
	Float64() float64
}

// Sampler picks the next token from a row of probabilities. The zero
// Sampler is greedy.
type Sampler struct {
	// Temperature <= 0 picks the likeliest id (greedy, the first one on a
	// tie, as np.argmax); otherwise ids are drawn from p^(1/Temperature)
	// renormalised: 1 is the model's own distribution, below 1 sharper,
	// above 1 flatter.
	Temperature float64
	// TopK > 0 draws only among the K likeliest ids (ties broken towards
	// the lower id).
	TopK int
	// Skip lists ids never picked: their probability counts as zero.
	Skip []int
	// Source draws the uniform numbers; it is needed when Temperature > 0.
	Source Source
}

// Pick returns the id chosen from p, which it does not change. With
// Temperature 1 and neither TopK nor Skip, a draw u of Source picks the
// first id whose cumulative probability, normalised by the total, exceeds
// u: numpy's legacy np.random.choice(len(p), p=p) exactly, in float64.
func (s Sampler) Pick(p []float32) (int, error) {
	if len(p) == 0 {
		return 0, fmt.Errorf("sample: no probabilities")
	}
	q := make([]float64, len(p))
	for i, v := range p {
		if v < 0 || math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return 0, fmt.Errorf("sample: probability %d is %v", i, v)
		}
		q[i] = float64(v)
	}
	for _, id := range s.Skip {
		if id >= 0 && id < len(q) {
			q[id] = 0
		}
	}
	if s.Temperature <= 0 || math.IsNaN(s.Temperature) {
		best := -1
		for i, v := range q {
			if v > 0 && (best < 0 || v > q[best]) {
				best = i
			}
		}
		if best < 0 {
			return 0, fmt.Errorf("sample: every probability is zero")
		}
		return best, nil
	}
	if s.Source == nil {
		return 0, fmt.Errorf("sample: a Temperature of %v needs a Source", s.Temperature)
	}
	if s.TopK > 0 && s.TopK < len(q) {
		order := make([]int, len(q))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int {
			switch {
			case q[a] > q[b]:
				return -1
			case q[a] < q[b]:
				return 1
			}
			return 0
		})
		for _, i := range order[s.TopK:] {
			q[i] = 0
		}
	}
	if s.Temperature != 1 {
		mx := slices.Max(q)
		if mx <= 0 {
			return 0, fmt.Errorf("sample: every probability is zero")
		}
		for i, v := range q {
			if v > 0 {
				// p^(1/T) / max^(1/T), in logs so that a small T does not underflow the largest.
				q[i] = math.Exp((math.Log(v) - math.Log(mx)) / s.Temperature)
			}
		}
	}
	for i := 1; i < len(q); i++ {
		q[i] += q[i-1]
	}
	total := q[len(q)-1]
	if !(total > 0) || math.IsInf(total, 0) {
		return 0, fmt.Errorf("sample: every probability is zero")
	}
	for i := range q {
		q[i] /= total
	}
	u := s.Source.Float64()
	if !(u >= 0 && u < 1) {
		return 0, fmt.Errorf("sample: the Source gave %v, outside [0, 1)", u)
	}
	// searchsorted(cdf, u, side="right"): the first i with cdf[i] > u. The
	// last value is exactly 1 > u, and an id of probability zero has the
	// cdf of the id before it, so it is never the first.
	i, _ := slices.BinarySearchFunc(q, u, func(c, u float64) int {
		if c <= u {
			return -1
		}
		return 1
	})
	return i, nil
}
