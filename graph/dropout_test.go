package graph

import (
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Two training graphs built with one BuildOptions.Rand draw their masks
// from it in the order they run, as one graph run twice on a generator of
// the same seed does; the layer's Seed is not used.
func TestDropoutDrawsFromBuildRand(t *testing.T) {
	const n = 64
	m, err := NewSequential([]int{n}, &Dropout{Rate: 0.5, Seed: 1}, Identity{})
	if err != nil {
		t.Fatal(err)
	}
	ones := make([]float32, n)
	for i := range ones {
		ones[i] = 1
	}
	mask := func(rng *rand.Rand) func() []float32 {
		p, err := m.BuildWith(1, BuildOptions{Training: true, Rand: rng})
		if err != nil {
			t.Fatal(err)
		}
		vm := gorgonia.NewTapeMachine(p.Graph)
		return func() []float32 {
			vm.Reset()
			if err := gorgonia.Let(p.Input(), tensor.New(tensor.WithShape(1, n), tensor.WithBacking(ones))); err != nil {
				t.Fatal(err)
			}
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			return slices.Clone(p.Output().Value().Data().([]float32))
		}
	}
	shared := rand.New(rand.NewPCG(5, 6))
	a, b := mask(shared), mask(shared)
	a1, b1 := a(), b()
	one := mask(rand.New(rand.NewPCG(5, 6)))
	c1, c2 := one(), one()
	if !slices.Equal(a1, c1) || !slices.Equal(b1, c2) {
		t.Error("two graphs sharing a generator do not continue one stream")
	}
	if slices.Equal(a1, b1) {
		t.Error("the second graph repeated the first graph's mask")
	}
	m.Layer("dropout1").(*Dropout).Seed = 2
	if d := mask(rand.New(rand.NewPCG(5, 6)))(); !slices.Equal(d, c1) {
		t.Error("Dropout.Seed changed masks drawn from BuildOptions.Rand")
	}
}
