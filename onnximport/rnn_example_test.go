package onnximport_test

import (
	"fmt"
	"os"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/onnximport"
)

// A bidirectional GRU that torch.onnx.export wrote without dynamic_axes
// (batch 2) imports with a symbolic batch: one graph.GRU per direction,
// running at any batch size.
func Example_bidirectionalGRU() {
	b, err := os.ReadFile("testdata/torch/bigru.onnx")
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := onnximport.Decode(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range m.Layers() {
		if l.Layer.Kind() == "gru" {
			fmt.Println(l.Name, l.Layer.Kind(), m.Param(l.Name+".weight_hh").Shape())
		}
	}
	x := tensor.New(tensor.WithShape(7, 5, 4), tensor.WithBacking(make([]float32, 7*5*4)))
	y, err := graph.NewPredictor(m).Forward(x)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("batch", m.Inputs()[0].Batch, "output", y.Shape())
	// Output:
	// rnn gru (18, 6)
	// gru1 gru (18, 6)
	// batch 0 output (7, 3)
}
