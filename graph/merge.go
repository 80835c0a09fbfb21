package graph

import (
	"fmt"
	"slices"

	"github.com/tapenet/tapenet/graph/ops"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Add sums its inputs element by element: the join of a residual
// connection, y = x + f(x). Every input must have the same shape (no
// broadcasting). Applied to one input it passes it through.
type Add struct{}

// Kind returns "add".
func (Add) Kind() string { return "add" }

// Forward returns x: the sum of one tensor.
func (Add) Forward(_ *Scope, x *gorgonia.Node) (*gorgonia.Node, error) { return x, nil }

// Merge adds the element-wise sum of xs.
func (Add) Merge(_ *Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	return fold("add", xs, gorgonia.Add)
}

// Multiply multiplies its inputs element by element (a gate, as in
// attention or squeeze-and-excitation blocks). Every input must have the
// same shape. Applied to one input it passes it through.
type Multiply struct{}

// Kind returns "multiply".
func (Multiply) Kind() string { return "multiply" }

// Forward returns x: the product of one tensor.
func (Multiply) Forward(_ *Scope, x *gorgonia.Node) (*gorgonia.Node, error) { return x, nil }

// Merge adds the element-wise product of xs.
func (Multiply) Merge(_ *Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	return fold("multiply", xs, gorgonia.HadamardProd)
}

func fold(kind string, xs []*gorgonia.Node, op func(a, b *gorgonia.Node) (*gorgonia.Node, error)) (*gorgonia.Node, error) {
	for _, x := range xs[1:] {
		if !x.Shape().Eq(xs[0].Shape()) {
			return nil, fmt.Errorf("%s: inputs of shapes %v and %v; all must have the same shape", kind, xs[0].Shape(), x.Shape())
		}
	}
	y := xs[0]
	for _, x := range xs[1:] {
		var err error
		if y, err = op(y, x); err != nil {
			return nil, fmt.Errorf("%s: %w", kind, err)
		}
	}
	return y, nil
}

// Concat joins its inputs along one per-sample axis: Axis 0 (the default)
// is the features of (batch, features) inputs and the channels of (batch,
// channels, height, width) ones; a negative Axis counts from the last.
// The inputs must agree on every other dimension.
type Concat struct {
	// Axis is the per-sample axis to join along (batch excluded).
	Axis int `json:"axis,omitempty"`
}

// Kind returns "concat".
func (*Concat) Kind() string { return "concat" }

// SampleAxis returns the per-sample axis for inputs of the given number of
// per-sample dimensions, or an error if Axis is out of range.
func (c *Concat) SampleAxis(dims int) (int, error) {
	a := c.Axis
	if a < 0 {
		a += dims
	}
	if a < 0 || a >= dims {
		return 0, fmt.Errorf("concat: axis %d out of range for samples of %d dimensions", c.Axis, dims)
	}
	return a, nil
}

// Forward returns x: the concatenation of one tensor.
func (c *Concat) Forward(_ *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	if _, err := c.SampleAxis(x.Dims() - 1); err != nil {
		return nil, err
	}
	return x, nil
}

// Merge adds the concatenation of xs.
func (c *Concat) Merge(_ *Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	a, err := c.SampleAxis(xs[0].Dims() - 1)
	if err != nil {
		return nil, err
	}
	for _, x := range xs[1:] {
		s0, s := xs[0].Shape(), x.Shape()
		ok := len(s) == len(s0)
		for d := 0; ok && d < len(s); d++ {
			ok = d == a+1 || s[d] == s0[d]
		}
		if !ok {
			return nil, fmt.Errorf("concat: inputs of shapes %v and %v differ on an axis other than %d", s0, s, c.Axis)
		}
	}
	y, err := gorgonia.Concat(a+1, xs...)
	if err != nil {
		return nil, fmt.Errorf("concat: %w", err)
	}
	return y, nil
}

// Reshape gives each sample a new shape with the same number of values, in
// row-major order. One dimension may be -1: it is inferred.
type Reshape struct {
	// Shape is the per-sample shape (batch excluded), e.g. [1, 28, 28].
	Shape []int `json:"shape"`
}

// Kind returns "reshape".
func (*Reshape) Kind() string { return "reshape" }

// Target returns the per-sample output shape for per-sample inputs of the
// given shape, with a -1 resolved.
func (r *Reshape) Target(in []int) ([]int, error) {
	total := shapeSize(in)
	out := slices.Clone(r.Shape)
	free, n := -1, 1
	for i, d := range out {
		switch {
		case d == -1 && free < 0:
			free = i
		case d < 1:
			return nil, fmt.Errorf("reshape: shape %v: dimensions must be positive, with at most one -1", r.Shape)
		default:
			n *= d
		}
	}
	if free >= 0 {
		if total%n != 0 {
			return nil, fmt.Errorf("reshape: %d values per sample do not fill shape %v", total, r.Shape)
		}
		out[free] = total / n
		n = total
	}
	if n != total || len(out) == 0 {
		return nil, fmt.Errorf("reshape: %d values per sample cannot take shape %v", total, r.Shape)
	}
	return out, nil
}

// Forward adds the reshape.
func (r *Reshape) Forward(_ *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	out, err := r.Target(x.Shape()[1:])
	if err != nil {
		return nil, err
	}
	if slices.Equal(out, []int(x.Shape()[1:])) {
		return x, nil
	}
	// A copy, not gorgonia.Reshape's view: see ops.Reshape.
	return ops.Reshape(x, append(tensor.Shape{x.Shape()[0]}, out...))
}
