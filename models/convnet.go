package models

import (
	"slices"

	"github.com/tapenet/tapenet/graph"
)

// ConvNet returns the book's SimpleConvNet (chapter 7) over 1×28×28 images:
// convolution with 30 filters of 5×5 (stride 1, no padding) -> ReLU ->
// 2×2 max-pool (stride 2) -> Dense 100 -> ReLU -> Dense 10 -> softmax.
// Shapes: (1,28,28) -> (30,24,24) -> (30,12,12) -> 4320 -> 100 -> 10;
// 433,890 parameters. Train it on images loaded with Flatten: false.
func ConvNet() (*graph.Model, error) {
	return convNet([]int{1, 28, 28}, nil, head{classes: 10})
}

// convNet is ConvNet over samples of shape in, reshaped to images by the
// layers pre, with the head h.
func convNet(in []int, pre []graph.Layer, h head) (*graph.Model, error) {
	layers := append(slices.Clone(pre),
		&graph.Conv2D{Filters: 30, Kernel: 5}, graph.ReLU{},
		&graph.MaxPool2D{Kernel: 2, Stride: 2},
		graph.Flatten{},
		&graph.Dense{Units: 100}, graph.ReLU{},
	)
	return graph.NewSequential(in, append(layers, h.layers("")...)...)
}
