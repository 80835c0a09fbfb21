package ops

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// reshapeOp gives a tensor another shape of the same size in a buffer of
// its own. gorgonia.Reshape returns a view that shares its input's values,
// yet the tape machine treats the view as a fresh value: an element-wise
// op that then runs in place on it (Add, Sub, Mul, ... overwrite their
// first operand when they can) writes through the view into the input, be
// it the caller's input tensor, a parameter, or a value another node still
// reads. This op copies.
type reshapeOp struct {
	base
	from, to tensor.Shape
	out      outputCache
}

// Reshape adds x reshaped to the given shape (same number of values,
// row-major order) as a copy, never a view of x: what follows may
// overwrite it without touching x. Its gradient is the gradient reshaped
// back, also a copy.
func Reshape(x *gorgonia.Node, to tensor.Shape) (*gorgonia.Node, error) {
	if x.Shape().TotalSize() != to.TotalSize() {
		return nil, fmt.Errorf("reshape: %v values cannot take shape %v", x.Shape(), to)
	}
	label := fmt.Sprintf("reshape%v", []int(to))
	return gorgonia.ApplyOp(&reshapeOp{base: base{label: label, id: "tapenet." + label}, from: x.Shape().Clone(), to: to.Clone()}, x)
}

func (*reshapeOp) Arity() int { return 1 }

func (op *reshapeOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	typ := func(dims int) hm.Type {
		if dims == 0 {
			return a
		}
		return gorgonia.TensorType{Dims: dims, Of: a}
	}
	return hm.NewFnType(typ(op.from.Dims()), typ(op.to.Dims()))
}

func (op *reshapeOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%v: want 1 input, got %d", op, len(in))
	}
	return op.to.Clone(), nil
}

func (op *reshapeOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%v: %d inputs, want 1", op, len(in))
	}
	if sc, ok := in[0].(gorgonia.Scalar); ok {
		// Gorgonia gives a scalar for a tensor sliced down to one value.
		in[0] = gorgonia.ScalarAsTensor(sc, 1, nil)
	}
	x, ok := in[0].(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("%v: input is %T, want a dense tensor", op, in[0])
	}
	if x.Shape().TotalSize() != op.to.TotalSize() {
		return nil, fmt.Errorf("%v: input of shape %v", op, x.Shape())
	}
	if x.RequiresIterator() {
		x = x.Materialize().(*tensor.Dense)
	}
	if x.Dtype() != tensor.Float32 {
		out := tensor.New(tensor.Of(x.Dtype()), tensor.WithShape(op.to.Clone()...))
		if err := tensor.Copy(out, x); err != nil {
			return nil, err
		}
		return out, nil
	}
	out := op.out.get(op.to)
	copy(out.Data().([]float32), x.Data().([]float32))
	return out, nil
}

func (*reshapeOp) DiffWRT(int) []bool { return []bool{true} }

func (*reshapeOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g, err := Reshape(grad, in[0].Shape())
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}
