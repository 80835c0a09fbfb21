package ops

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Mask adds x ⊙ mask with a new mask at every run, filled by draw (which
// gets a slice of x's size), as dropout needs. The gradient multiplies by
// the same mask, kept from the forward pass of the run. label names the
// op in graphs.
func Mask(x *gorgonia.Node, draw func(mask []float32), label string) (*gorgonia.Node, error) {
	op := &maskOp{draw: draw}
	op.base = base{label: label, id: fmt.Sprintf("mask(%s)@%p", label, op)}
	return gorgonia.ApplyOp(op, x)
}

type maskOp struct {
	base
	draw func([]float32)
	mask []float32
}

func (op *maskOp) Arity() int { return 1 }
func (op *maskOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (op *maskOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return unaryShape(op.label, in)
}

func (op *maskOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := float32Input(vals)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op.label, err)
	}
	x := in.Data().([]float32)
	if len(op.mask) != len(x) {
		op.mask = make([]float32, len(x))
	}
	op.draw(op.mask)
	return multiply(in, op.mask), nil
}

func multiply(in *tensor.Dense, mask []float32) *tensor.Dense {
	out := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(in.Shape().Clone()...))
	y := out.Data().([]float32)
	for i, v := range in.Data().([]float32) {
		y[i] = v * mask[i]
	}
	return out
}

func (op *maskOp) DiffWRT(int) []bool { return []bool{true} }
func (op *maskOp) SymDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g := &maskGradOp{fwd: op}
	g.base = base{label: op.label + "'", id: fmt.Sprintf("maskgrad@%p", op)}
	n, err := gorgonia.ApplyOp(g, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{n}, nil
}

// maskGradOp multiplies the incoming gradient by its forward op's mask.
type maskGradOp struct {
	base
	fwd *maskOp
}

func (op *maskGradOp) Arity() int    { return 1 }
func (op *maskGradOp) Type() hm.Type { return op.fwd.Type() }
func (op *maskGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return unaryShape(op.label, in)
}
func (op *maskGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := float32Input(vals)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op.label, err)
	}
	if in.Shape().TotalSize() != len(op.fwd.mask) {
		return nil, fmt.Errorf("%s: %d values, mask of %d (forward not run)", op.label, in.Shape().TotalSize(), len(op.fwd.mask))
	}
	return multiply(in, op.fwd.mask), nil
}
