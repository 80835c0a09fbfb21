package graph_test

import (
	"errors"
	"fmt"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
)

// An input of token ids: float32-only layers refuse it at declaration,
// naming themselves; the spec carries its type.
func ExampleTensor_As() {
	ids := graph.Input("tokens", 5).As(graph.Int64)
	fmt.Println(ids.DType(), ids.Shape())
	bad := graph.Apply(&graph.Dense{Units: 2}, ids)
	var le *graph.LayerError
	fmt.Println(errors.As(bad.Err(), &le), le.Kind)
	fmt.Println(bad.Err())
	// Output:
	// int64 [5]
	// true dense
	// layer dense: input 0 is int64; this layer takes float32 (cast it first, or use a layer that takes int64)
}

// An input of a fixed batch: the tensor is always (4, 3), and the spec
// says so.
func ExampleTensor_WithBatch() {
	x := graph.Input("x", 3).WithBatch(4)
	out := graph.Apply(graph.Softmax{}, graph.Apply(&graph.Dense{Units: 2}, x))
	m, err := graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{out})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range m.Nodes() {
		fmt.Println(n.Name, n.Batch, n.Shape, n.DType)
	}
	spec, _ := m.MarshalJSON()
	fmt.Println(string(spec[:74]))
	_, err = m.Build(10)
	fmt.Println(err)
	// Output:
	// fc1 4 [2] float32
	// softmax1 4 [2] float32
	// {"format":"tapenet.model/v2","inputs":[{"name":"x","shape":[3],"batch":4}]
	// build: every input of the model has a fixed batch (input x: 4); batch must be 4, got 10
}

// LogSoftmax gives log-probabilities, each row shifted by its own maximum.
func ExampleLogSoftmax() {
	m, _ := graph.NewSequential([]int{3}, graph.LogSoftmax{})
	x := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1000, 0, 0, 1, 2, 3}))
	out, err := graph.NewPredictor(m).Forward(x)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.OutputMeaning(0))
	fmt.Printf("%.4f\n", out.Data())
	// Output:
	// log_probabilities
	// [0.0000 -1000.0000 -1000.0000 -2.4076 -1.4076 -0.4076]
}

// Packages add their layer kinds to the default registry from init;
// FromSpec and checkpoint.Read use it when given no registry.
func ExampleDefaultRegistry() {
	spec := `{"format":"tapenet.model/v2","inputs":[{"name":"x","shape":[3]}],` +
		`"layers":[{"name":"out","kind":"log_softmax"}],"nodes":[{"layer":"out","inputs":["x"]}],"outputs":["out"]}`
	m, err := graph.FromSpec([]byte(spec), nil) // nil: graph.DefaultRegistry()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.OutputLayer(0).Kind())
	fmt.Println(graph.RegisterDefault("dense", func() graph.Layer { return &graph.Dense{} }))
	// Output:
	// log_softmax
	// register layer: kind "dense" already registered
}
