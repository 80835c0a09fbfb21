package ops_test

import (
	"fmt"
	"strings"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph/ops"
)

// A tanh RNN of one unit (h' = tanh(x + h), weights 1, biases 0) over two
// padded sequences of lengths 3 and 1: the second stops after its first
// step and outputs zeros after it: h = tanh(0.5), tanh(0.5 + 0.4621), ...
// A length above time is an error naming the layer (InLayer).
func ExampleRecurrentWith() {
	g := gorgonia.NewGraph()
	val := func(name string, shape []int, v any) *gorgonia.Node {
		t := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
		return gorgonia.NodeFromAny(g, t, gorgonia.WithName(name))
	}
	x := val("x", []int{2, 3, 1}, []float32{0.5, 0.5, 0.5, 1, 1, 1})
	one, zero := val("w", []int{1, 1}, []float32{1}), val("b", []int{1}, []float32{0})
	whh := val("whh", []int{1, 1}, []float32{1})
	lengths := val("lengths", []int{2}, []int64{3, 1})
	y, err := ops.RecurrentWith(ops.TanhCell, x, one, whh, zero, zero, ops.RecurrentOptions{Lengths: lengths})
	if err != nil {
		fmt.Println(err)
		return
	}
	ops.InLayer(y, "rnn1")
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.4f\n", y.Value().Data())
	lengths.Value().Data().([]int64)[1] = 4
	vm.Reset()
	if err := vm.RunAll(); err != nil {
		msg := err.Error() // Gorgonia's VM prefixes its own context
		fmt.Println(msg[strings.Index(msg, "layer "):])
	}
	// Output:
	// [0.4621 0.7452 0.8469 0.7616 0.0000 0.0000]
	// layer rnn1: rnn: input value out of range: length 4 of sample 1 is outside [0, 3] (the sequence has 3 steps)
}
