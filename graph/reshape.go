package graph

import (
	"github.com/tapenet/tapenet/graph/ops"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Flatten reshapes each sample to a vector: (batch, d1, d2, ...) becomes
// (batch, d1·d2·...), in row-major order (PyTorch's nn.Flatten, ONNX's
// Flatten with axis 1). Dense flattens its input itself; Flatten makes the
// step explicit in a model's summary and export.
type Flatten struct{}

// Kind returns "flatten".
func (Flatten) Kind() string { return "flatten" }

// Forward adds the reshape; a (batch, n) input is returned unchanged.
func (Flatten) Forward(_ *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	if x.Dims() == 2 {
		return x, nil
	}
	shape := x.Shape()
	// A copy, not gorgonia.Reshape's view: see ops.Reshape.
	return ops.Reshape(x, tensor.Shape{shape[0], shape.TotalSize() / shape[0]})
}
