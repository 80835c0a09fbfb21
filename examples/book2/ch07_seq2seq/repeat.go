package main

import (
	"fmt"

	"github.com/tapenet/tapenet/graph"
	"gorgonia.org/gorgonia"
)

// Repeat copies a (batch, H) vector to every step of a sequence: merged
// with (h, like), like of shape (batch, time, ...), it gives (batch, time,
// H), the book's np.repeat(h, T, axis=0).reshape(N, T, H) in PeekyDecoder.
// Only like's length is used. Step t of its output depends only on step t
// of like, so a generate.Stepper may run it one step at a time.
type Repeat struct{}

// Kind returns "repeat".
func (*Repeat) Kind() string { return "repeat" }

// StepLocal marks the layer as working on each time step alone (see
// generate.StepLocal).
func (*Repeat) StepLocal() {}

// Forward refuses one input: Repeat needs the sequence to take its length
// from.
func (*Repeat) Forward(*graph.Scope, *gorgonia.Node) (*gorgonia.Node, error) {
	return nil, fmt.Errorf("repeat: want (h, like) inputs")
}

// Merge concatenates time copies of h reshaped to (batch, 1, H) along
// axis 1: each copy is its own node, so the gradients of every step add
// up in h.
func (*Repeat) Merge(_ *graph.Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	if len(xs) != 2 || xs[0].Dims() != 2 || xs[1].Dims() < 2 {
		return nil, fmt.Errorf("repeat: want (batch, H) and (batch, time, ...) inputs")
	}
	h, steps := xs[0], xs[1].Shape()[1]
	b, n := h.Shape()[0], h.Shape()[1]
	copies := make([]*gorgonia.Node, steps)
	for t := range copies {
		r, err := gorgonia.Reshape(h, []int{b, 1, n})
		if err != nil {
			return nil, fmt.Errorf("repeat: %w", err)
		}
		copies[t] = r
	}
	if steps == 1 {
		return copies[0], nil
	}
	y, err := gorgonia.Concat(1, copies...)
	if err != nil {
		return nil, fmt.Errorf("repeat: %w", err)
	}
	return y, nil
}
