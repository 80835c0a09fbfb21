package onnximport

import (
	"fmt"
	"hash"
	"hash/fnv"
	"io"

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
