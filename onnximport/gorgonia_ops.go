package onnximport

import (
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"slices"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Gorgonia ops for operators whose Gorgonia forms differ from ONNX on
// special values: Gorgonia's float32 division gives +Inf for any x/0 (ONNX,
// as IEEE 754: -Inf for a negative x, NaN for 0/0), and its LeakyRelu,
// built of masks multiplied in, gives NaN for ±Inf. The random graphs
// compared with ONNX Runtime (TestRandomGraphsMatchORT) found both.

// opBase answers the questions Gorgonia asks of every op alike: a value of
// its own, no call outside Go, no input overwritten; hashed and printed by
// name (Gorgonia merges nodes whose ops hash alike over the same inputs,
// right for these pure functions).
type opBase struct{ name string }

func (o opBase) ReturnsPtr() bool      { return false }
func (o opBase) CallsExtern() bool     { return false }
func (o opBase) OverwritesInput() int  { return -1 }
func (o opBase) WriteHash(h hash.Hash) { io.WriteString(h, o.name) }
func (o opBase) String() string        { return o.name }
func (o opBase) Hashcode() uint32 {
	h := fnv.New32a()
	io.WriteString(h, o.name)
	return h.Sum32()
}

// floats returns the float32 values of an op's input in row-major order.
func floats(v gorgonia.Value) ([]float32, error) {
	t, ok := v.(*tensor.Dense)
	if !ok || t.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("input is %T, want a float32 tensor", v)
	}
	if t.RequiresIterator() {
		t = t.Materialize().(*tensor.Dense)
	}
	return t.Data().([]float32), nil
}

func sameShape(name string, in []gorgonia.DimSizer, n int) (tensor.Shape, error) {
	if len(in) != n {
		return nil, fmt.Errorf("%s: %d inputs, want %d", name, len(in), n)
	}
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("%s: input shape is %T", name, in[0])
	}
	for _, o := range in[1:] {
		if so, ok := o.(tensor.Shape); !ok || !so.Eq(s) {
			return nil, fmt.Errorf("%s: inputs of shapes %v and %v", name, s, o)
		}
	}
	return s.Clone(), nil
}

// elementwise computes out[i] = f(a[i], b[i]) into a new tensor.
func elementwise(name string, in []gorgonia.Value, f func(a, b float32) float32) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%s: %d inputs, want 2", name, len(in))
	}
	a, err := floats(in[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b, err := floats(in[1])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(a) != len(b) {
		return nil, fmt.Errorf("%s: %d and %d values", name, len(a), len(b))
	}
	out := tensor.New(tensor.WithShape(in[0].Shape().Clone()...), tensor.Of(tensor.Float32))
	dst := out.Data().([]float32)
	for i := range dst {
		dst[i] = f(a[i], b[i])
	}
	return out, nil
}

// divOp is a / b element by element, for a and b of one shape.
type divOp struct{ opBase }

// divide adds a / b with IEEE 754 semantics.
func divide(a, b *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(&divOp{opBase{"onnx.div"}}, a, b)
}

func (*divOp) Arity() int { return 2 }

func (*divOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a, a)
}

func (op *divOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return sameShape(op.name, in, 2)
}

func (op *divOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return elementwise(op.name, in, func(a, b float32) float32 { return a / b })
}

func (*divOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff returns da = g/b and db = -(g/b)·(a/b).
func (*divOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	ga, err := divide(grad, in[1])
	if err != nil {
		return nil, err
	}
	q, err := divide(in[0], in[1])
	if err != nil {
		return nil, err
	}
	p, err := gorgonia.HadamardProd(q, ga)
	if err != nil {
		return nil, err
	}
	gb, err := gorgonia.Neg(p)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{ga, gb}, nil
}

// leakyOp is x for x >= 0, alpha·x below.
type leakyOp struct {
	opBase
	alpha float32
}

func leakyReLU(x *gorgonia.Node, alpha float32) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(&leakyOp{opBase{fmt.Sprintf("onnx.leakyrelu(%g)", alpha)}, alpha}, x)
}

func (*leakyOp) Arity() int { return 1 }

func (*leakyOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}

func (op *leakyOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return sameShape(op.name, in, 1)
}

func (op *leakyOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%s: %d inputs, want 1", op.name, len(in))
	}
	return elementwise(op.name, []gorgonia.Value{in[0], in[0]}, func(x, _ float32) float32 {
		if x >= 0 {
			return x
		}
		return op.alpha * x
	})
}

func (*leakyOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff returns g where x >= 0, alpha·g below.
func (op *leakyOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g, err := gorgonia.ApplyOp(&leakyGradOp{opBase{op.name + "'"}, op.alpha}, in[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// leakyGradOp is the gradient of leakyOp: (x, g) to g or alpha·g.
type leakyGradOp struct {
	opBase
	alpha float32
}

func (*leakyGradOp) Arity() int { return 2 }

func (*leakyGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a, a)
}

func (op *leakyGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return sameShape(op.name, in, 2)
}

func (op *leakyGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return elementwise(op.name, in, func(x, g float32) float32 {
		if x >= 0 {
			return g
		}
		return op.alpha * g
	})
}

// padOp pads a float32 tensor with a constant: before[d] values at the
// start of axis d and after[d] at its end (ONNX's Pad in constant mode).
// The padding exists only in the output, made when the op runs: nothing
// of the output's size is held in the graph.
type padOp struct {
	opBase
	before, after []int
	value         float32
}

// padConstant adds x padded with value.
func padConstant(x *gorgonia.Node, before, after []int, value float32) (*gorgonia.Node, error) {
	if len(before) != x.Dims() || len(after) != x.Dims() {
		return nil, fmt.Errorf("onnx.pad: pads %v %v for a tensor of rank %d", before, after, x.Dims())
	}
	name := fmt.Sprintf("onnx.pad(%v,%v,%g)", before, after, value)
	return gorgonia.ApplyOp(&padOp{opBase{name}, slices.Clone(before), slices.Clone(after), value}, x)
}

func (*padOp) Arity() int { return 1 }

func (*padOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}

func (op *padOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%s: %d inputs, want 1", op.name, len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if !ok || len(s) != len(op.before) {
		return nil, fmt.Errorf("%s: input shape %v", op.name, in[0])
	}
	out := s.Clone()
	for d := range out {
		out[d] += op.before[d] + op.after[d]
	}
	return out, nil
}

// copyWindow copies between a tensor of shape small and one of shape big that
// holds it at offset off along each axis: into big when in is true, out
// of it otherwise. The last axis is copied a row at a time.
func copyWindow(small, big tensor.Shape, off []int, smallData, bigData []float32, in bool) {
	r := len(small)
	if small.TotalSize() == 0 {
		return
	}
	if r == 0 {
		if in {
			bigData[0] = smallData[0]
		} else {
			smallData[0] = bigData[0]
		}
		return
	}
	bst := strides([]int(big))
	row := small[r-1]
	coord := make([]int, r-1)
	for src := 0; src < len(smallData); src += row {
		dst := off[r-1]
		for d := range r - 1 {
			dst += (coord[d] + off[d]) * bst[d]
		}
		if in {
			copy(bigData[dst:dst+row], smallData[src:src+row])
		} else {
			copy(smallData[src:src+row], bigData[dst:dst+row])
		}
		for d := r - 2; d >= 0; d-- {
			coord[d]++
			if coord[d] < small[d] {
				break
			}
			coord[d] = 0
		}
	}
}

func (op *padOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%s: %d inputs, want 1", op.name, len(in))
	}
	x, err := floats(in[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op.name, err)
	}
	shape, err := op.InferShape(in[0].Shape())
	if err != nil {
		return nil, err
	}
	out := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
	dst := out.Data().([]float32)
	if op.value != 0 {
		for k := range dst {
			dst[k] = op.value
		}
	}
	copyWindow(in[0].Shape(), shape, op.before, x, dst, true)
	return out, nil
}

func (*padOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff returns the gradient cropped back to the input's shape.
func (op *padOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g, err := gorgonia.ApplyOp(&cropOp{opBase{op.name + "'"}, op.before, in[0].Shape().Clone()}, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// cropOp takes the window of shape at offset off out of its input (the
// gradient of padOp).
type cropOp struct {
	opBase
	off   []int
	shape tensor.Shape
}

func (*cropOp) Arity() int { return 1 }

func (*cropOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}

func (op *cropOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}

func (op *cropOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%s: %d inputs, want 1", op.name, len(in))
	}
	g, err := floats(in[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op.name, err)
	}
	big := in[0].Shape()
	if len(big) != len(op.shape) {
		return nil, fmt.Errorf("%s: input %v for output %v", op.name, big, op.shape)
	}
	for d := range big {
		if op.off[d]+op.shape[d] > big[d] {
			return nil, fmt.Errorf("%s: input %v for output %v at %v", op.name, big, op.shape, op.off)
		}
	}
	out := tensor.New(tensor.WithShape(op.shape.Clone()...), tensor.Of(tensor.Float32))
	copyWindow(op.shape, big, op.off, out.Data().([]float32), g, false)
	return out, nil
}

func (*cropOp) DiffWRT(int) []bool { return []bool{false} }

func (op *cropOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, fmt.Errorf("%s: no second derivative", op.name)
}
