package graph_test

import (
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
)

// A reshape followed by a merge that Gorgonia runs in place (Add
// overwrites its first operand) must not write through to the caller's
// input: Reshape and Flatten give copies, not views of their input. With
// views, every run doubled the input and the outputs drifted.
func TestReshapeDoesNotAliasItsInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		fold func(x *graph.Tensor) *graph.Tensor
	}{
		{"reshape", func(x *graph.Tensor) *graph.Tensor { return graph.Apply(&graph.Reshape{Shape: []int{3, 2}}, x) }},
		{"flatten", func(x *graph.Tensor) *graph.Tensor { return graph.Apply(graph.Flatten{}, x) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := graph.Input("x", 2, 3)
			a := tc.fold(in)
			b := tc.fold(graph.Apply(graph.ReLU{}, in))
			m, err := graph.NewModel([]*graph.Tensor{in}, []*graph.Tensor{graph.Apply(graph.Add{}, a, b), graph.Apply(graph.Identity{}, b)})
			if err != nil {
				t.Fatal(err)
			}
			data := []float32{1, -2, 3, -4, 5, -6, 0.5, 0, -1, 2, 0, 1}
			orig := slices.Clone(data)
			x := tensor.New(tensor.WithShape(2, 2, 3), tensor.WithBacking(data))
			pr := graph.NewPredictor(m)
			var first []float32
			for run := range 3 {
				outs, err := pr.Predict(x)
				if err != nil {
					t.Fatal(err)
				}
				got := outs[0].Data().([]float32)
				if run == 0 {
					first = slices.Clone(got)
					for k, v := range orig {
						if want := v + max(v, 0); got[k] != want {
							t.Fatalf("output %v, want x + relu(x) of %v", got, orig)
						}
					}
				} else if !slices.Equal(got, first) {
					t.Errorf("run %d: output %v, first run %v", run, got, first)
				}
				if !slices.Equal(data, orig) {
					t.Fatalf("run %d changed the input to %v (was %v)", run, data, orig)
				}
			}
		})
	}
}
