package generate

import (
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"math"

	"github.com/chewxy/hm"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/ops"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// state is one recurrent layer's state between Feed calls: h and, for an
// LSTM, c, each (batch, units) row-major. batch 0 means fresh: the next
// run starts from the layer's initial-state inputs, or zeros.
type state struct {
	cell  ops.Cell
	units int
	batch int
	h, c  []float32
}

func (s *state) reset() { s.batch = 0 }

// stateful stands in for a SimpleRNN, LSTM or GRU in a Stepper's model: the
// same parameters (so the original's values load by name), and an op that
// starts from the carried state.
type stateful struct {
	inner     graph.ParamLayer
	sequences bool
	st        *state
}

func (l *stateful) Kind() string { return l.inner.Kind() }

func (l *stateful) Params(in []int) ([]graph.ParamSpec, error) { return l.inner.Params(in) }

func (l *stateful) Forward(s *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return l.Merge(s, []*gorgonia.Node{x})
}

// Merge takes the sequence and, optionally, h0 (and c0 for an LSTM), used
// when the state is fresh.
func (l *stateful) Merge(s *graph.Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	max := 2
	if l.st.cell == ops.LSTMCell {
		max = 3
	}
	if len(xs) > max {
		return nil, fmt.Errorf("%v: %d inputs, want the sequence and up to %d initial states", l.st.cell, len(xs), max-1)
	}
	x := xs[0]
	if x.Dims() != 3 || x.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("%v: want a float32 (batch, time, features) input, got %v %v", l.st.cell, x.Dtype(), x.Shape())
	}
	in := []*gorgonia.Node{x}
	for _, name := range []string{"weight_ih", "weight_hh", "bias_ih", "bias_hh"} {
		p, err := s.Param(name)
		if err != nil {
			return nil, err
		}
		in = append(in, p)
	}
	for _, h0 := range xs[1:] {
		if h0.Dims() != 2 || h0.Shape()[1] != l.st.units {
			return nil, fmt.Errorf("%v: initial state of shape %v, want (batch, %d)", l.st.cell, h0.Shape(), l.st.units)
		}
	}
	op := &stepOp{st: l.st, last: !l.sequences, nstate: len(xs) - 1}
	op.id = fmt.Sprintf("tapenet.generate.%v.%p", l.st.cell, op)
	return gorgonia.ApplyOp(op, append(in, xs[1:]...)...)
}

// stepOp runs a recurrent cell over (batch, time, in) from the carried
// state and leaves the final state in it: forward only (a Stepper does not
// train). PyTorch's formulas, as ops.Cell documents them, with one float32
// matrix product per step for the input and one for the hidden projection.
type stepOp struct {
	st     *state
	last   bool
	nstate int
	id     string
}

func (op *stepOp) Arity() int { return 5 + op.nstate }

func (op *stepOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	outDims := 3
	if op.last {
		outDims = 2
	}
	ts := []hm.Type{gorgonia.TensorType{Dims: 3, Of: a}, gorgonia.TensorType{Dims: 2, Of: a}, gorgonia.TensorType{Dims: 2, Of: a},
		gorgonia.TensorType{Dims: 1, Of: a}, gorgonia.TensorType{Dims: 1, Of: a}}
	for i := 0; i < op.nstate; i++ {
		ts = append(ts, gorgonia.TensorType{Dims: 2, Of: a})
	}
	return hm.NewFnType(append(ts, gorgonia.TensorType{Dims: outDims, Of: a})...)
}

func (op *stepOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != op.Arity() {
		return nil, fmt.Errorf("%v: %d inputs, want %d", op, len(in), op.Arity())
	}
	x, ok := in[0].(tensor.Shape)
	if !ok || len(x) != 3 {
		return nil, fmt.Errorf("%v: input shape %v, want (batch, time, features)", op, in[0])
	}
	if op.last {
		return tensor.Shape{x[0], op.st.units}, nil
	}
	return tensor.Shape{x[0], x[1], op.st.units}, nil
}

func (op *stepOp) ReturnsPtr() bool      { return false }
func (op *stepOp) CallsExtern() bool     { return false }
func (op *stepOp) OverwritesInput() int  { return -1 }
func (op *stepOp) WriteHash(h hash.Hash) { io.WriteString(h, op.id) }
func (op *stepOp) String() string        { return "stateful " + op.st.cell.String() }
func (op *stepOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (op *stepOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != op.Arity() {
		return nil, fmt.Errorf("%v: %d inputs, want %d", op, len(in), op.Arity())
	}
	vals := make([][]float32, len(in))
	var xshape tensor.Shape
	for i, v := range in {
		d, ok := v.(*tensor.Dense)
		if !ok || d.Dtype() != tensor.Float32 {
			return nil, fmt.Errorf("%v: input %d is %T, want a float32 tensor", op, i, v)
		}
		d, err := graph.Contiguous(d)
		if err != nil {
			return nil, fmt.Errorf("%v: input %d: %w", op, i, err)
		}
		if i == 0 {
			xshape = d.Shape()
		}
		vals[i] = d.Float32s()
	}
	st, g := op.st, op.st.cell.Gates()
	b, t, nin, h := xshape[0], xshape[1], xshape[2], st.units
	gh := g * h
	if len(vals[1]) != gh*nin || len(vals[2]) != gh*h || len(vals[3]) != gh || len(vals[4]) != gh {
		return nil, fmt.Errorf("%v: weights do not fit an input of shape %v and %d units", op, xshape, h)
	}
	switch {
	case st.batch == 0:
		st.batch = b
		st.h, st.c = make([]float32, b*h), make([]float32, b*h)
		for i, s0 := range vals[5:] {
			if len(s0) != b*h {
				return nil, fmt.Errorf("%v: initial state of %d values, want (%d, %d)", op, len(s0), b, h)
			}
			copy([][]float32{st.h, st.c}[i], s0)
		}
	case st.batch != b:
		return nil, fmt.Errorf("%v: a batch of %d, but the state carried is of %d sequences (Reset first)", op, b, st.batch)
	}
	var out *tensor.Dense
	if op.last {
		out = tensor.New(tensor.WithShape(b, h), tensor.Of(tensor.Float32))
	} else {
		out = tensor.New(tensor.WithShape(b, t, h), tensor.Of(tensor.Float32))
	}
	ys := out.Float32s()
	x, wih, whh, bih, bhh := vals[0], vals[1], vals[2], vals[3], vals[4]
	xt, xg, hg := make([]float32, b*nin), make([]float32, b*gh), make([]float32, b*gh)
	impl := gonum.Implementation{}
	for s := 0; s < t; s++ {
		for i := 0; i < b; i++ {
			copy(xt[i*nin:(i+1)*nin], x[(i*t+s)*nin:(i*t+s+1)*nin])
			copy(xg[i*gh:(i+1)*gh], bih)
			copy(hg[i*gh:(i+1)*gh], bhh)
		}
		// xg = x_t·W_ihᵀ + b_ih, hg = h·W_hhᵀ + b_hh, (batch, G·H) each.
		impl.Sgemm(blas.NoTrans, blas.Trans, b, gh, nin, 1, xt, nin, wih, nin, 1, xg, gh)
		impl.Sgemm(blas.NoTrans, blas.Trans, b, gh, h, 1, st.h, h, whh, h, 1, hg, gh)
		for i := 0; i < b; i++ {
			cellStep(st.cell, h, xg[i*gh:(i+1)*gh], hg[i*gh:(i+1)*gh], st.h[i*h:(i+1)*h], st.c[i*h:(i+1)*h])
			if !op.last {
				copy(ys[(i*t+s)*h:(i*t+s+1)*h], st.h[i*h:(i+1)*h])
			}
		}
	}
	if op.last {
		copy(ys, st.h)
	}
	return out, nil
}

// cellStep updates one sequence's h (and c) in place from its input and
// hidden projections xg and hg (G·H each, PyTorch's gate order).
func cellStep(cell ops.Cell, h int, xg, hg, hs, cs []float32) {
	switch cell {
	case ops.LSTMCell:
		for k := 0; k < h; k++ {
			i := sigmoid(xg[k] + hg[k])
			f := sigmoid(xg[h+k] + hg[h+k])
			g := math.Tanh(float64(xg[2*h+k] + hg[2*h+k]))
			o := sigmoid(xg[3*h+k] + hg[3*h+k])
			c := f*float64(cs[k]) + i*g
			cs[k] = float32(c)
			hs[k] = float32(o * math.Tanh(float64(cs[k])))
		}
	case ops.GRUCell:
		for k := 0; k < h; k++ {
			r := sigmoid(xg[k] + hg[k])
			z := sigmoid(xg[h+k] + hg[h+k])
			n := math.Tanh(float64(xg[2*h+k]) + r*float64(hg[2*h+k]))
			hs[k] = float32((1-z)*n + z*float64(hs[k]))
		}
	default:
		for k := 0; k < h; k++ {
			hs[k] = float32(math.Tanh(float64(xg[k] + hg[k])))
		}
	}
}

func sigmoid(v float32) float64 { return 1 / (1 + math.Exp(-float64(v))) }
