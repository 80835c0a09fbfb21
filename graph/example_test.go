package graph_test

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
)

// The book's chapter 3 network, declared: shapes are inferred, layers and
// parameters named.
func ExampleNewSequential() {
	m, err := graph.NewSequential([]int{784},
		&graph.Dense{Units: 50}, graph.Sigmoid{},
		&graph.Dense{Units: 100}, graph.Sigmoid{},
		&graph.Dense{Units: 10}, graph.Softmax{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range m.Nodes() {
		fmt.Println(n.Name, m.Layer(n.Layer).Kind(), n.Shape)
	}
	fmt.Println(m.ParamNames()[:2], m.ParamCount())
	// Output:
	// fc1 dense [50]
	// sigmoid1 sigmoid [50]
	// fc2 dense [100]
	// sigmoid2 sigmoid [100]
	// fc3 dense [10]
	// softmax1 softmax [10]
	// [fc1.weight fc1.bias] 45360
}

// Softmax subtracts each row's own maximum: rows far apart stay finite.
func ExamplePredictor_Forward() {
	m, _ := graph.NewSequential([]int{3}, graph.Softmax{})
	x := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1000, 0, 0, 1, 2, 3}))
	out, err := graph.NewPredictor(m).Forward(x)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.4f\n", out.Data())
	// Output:
	// [1.0000 0.0000 0.0000 0.0900 0.2447 0.6652]
}

// A residual block declared with the functional API: layers applied to
// symbolic tensors, joined by Add.
func ExampleNewModel() {
	x := graph.Input("image", 1, 28, 28)
	h := graph.Apply(&graph.Conv2D{Filters: 8, Kernel: 3, Padding: 1}, x)
	r := graph.Apply(&graph.Conv2D{Filters: 8, Kernel: 3, Padding: 1}, graph.Apply(graph.ReLU{}, h))
	y := graph.Apply(graph.ReLU{}, graph.Apply(graph.Add{}, h, r))
	logits := graph.Apply(&graph.Dense{Units: 10}, graph.Apply(graph.GlobalAvgPool2D{}, y))
	m, err := graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{graph.Apply(graph.Softmax{}, logits)})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range m.Nodes() {
		fmt.Println(n.Name, n.Inputs, n.Shape)
	}
	fmt.Println(m.ParamCount(), "parameters")
	// Output:
	// conv2d1 [image] [8 28 28]
	// relu1 [conv2d1] [8 28 28]
	// conv2d2 [relu1] [8 28 28]
	// add1 [conv2d1 conv2d2] [8 28 28]
	// relu2 [add1] [8 28 28]
	// globalavgpool2d1 [relu2] [8]
	// fc1 [globalavgpool2d1] [10]
	// softmax1 [fc1] [10]
	// 754 parameters
}
