package ops

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// maskedMeanOp averages a (batch, time, F) input over each sample's valid
// steps: y[i] = Σ_{s < n_i} x[i, s] / n_i (zeros for n_i = 0). Without a
// lengths input every step is valid. Its gradient spreads dy[i] / n_i over
// the valid steps (maskedMeanGradOp).
type maskedMeanOp struct {
	base
	lens seqLens
	inLayer
	out  outputCache
	n    []int // the lengths of the last run
	b, t int
	f    int
}

// MaskedMean adds the mean of x (batch, time, F) over time, counting only
// each sample's valid steps as given by lengths (nil: all steps), which is
// an int64/int32 (batch) or (batch, 1) tensor of lengths or a bool/float32
// (batch, time) padding mask (see RecurrentOptions.Lengths). A sample of
// no valid step averages to zeros.
func MaskedMean(x, lengths *gorgonia.Node) (*gorgonia.Node, error) {
	if x.Dtype() != tensor.Float32 || x.Dims() != 3 {
		return nil, fmt.Errorf("maskedmean: want a float32 (batch, time, features) input, got %v %v", x.Dtype(), x.Shape())
	}
	op := &maskedMeanOp{}
	op.base = base{label: "maskedmean", id: fmt.Sprintf("tapenet.maskedmean.%p", op)}
	if lengths == nil {
		return gorgonia.ApplyOp(op, x)
	}
	l, err := newSeqLens(lengths, x.Shape()[0], x.Shape()[1])
	if err != nil {
		return nil, fmt.Errorf("maskedmean: %w", err)
	}
	op.lens = l
	return gorgonia.ApplyOp(op, x, lengths)
}

func (op *maskedMeanOp) Arity() int { return 1 + op.lens.arity() }

func (op *maskedMeanOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	ts := []hm.Type{gorgonia.TensorType{Dims: 3, Of: a}}
	if op.lens.given {
		ts = append(ts, op.lens.typ())
	}
	return hm.NewFnType(append(ts, gorgonia.TensorType{Dims: 2, Of: a})...)
}

func (op *maskedMeanOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	shapes, err := shapesOf(in)
	if err != nil || len(shapes) != op.Arity() || len(shapes[0]) != 3 {
		return nil, fmt.Errorf("maskedmean: input shapes %v", in)
	}
	return tensor.Shape{shapes[0][0], shapes[0][2]}, nil
}

func (op *maskedMeanOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	v, err := op.do(in)
	return v, op.wrap(err)
}

func (op *maskedMeanOp) do(in []gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != op.Arity() {
		return nil, fmt.Errorf("maskedmean: %d inputs, want %d", len(in), op.Arity())
	}
	xt, x, err := rowMajor32(in[0])
	if err != nil || xt.Dims() != 3 {
		return nil, fmt.Errorf("maskedmean: input %v: want a float32 (batch, time, features) tensor", in[0])
	}
	b, t, f := xt.Shape()[0], xt.Shape()[1], xt.Shape()[2]
	var lv gorgonia.Value
	if op.lens.given {
		lv = in[1]
	}
	n, err := op.lens.read(lv, b, t, op.n)
	if err != nil {
		return nil, fmt.Errorf("maskedmean: %w", err)
	}
	if n == nil {
		n = op.n[:0]
		for range b {
			n = append(n, t)
		}
	}
	op.n, op.b, op.t, op.f = n, b, t, f
	out := op.out.get(tensor.Shape{b, f})
	y := out.Float32s()
	clear(y)
	for i := 0; i < b; i++ {
		row := y[i*f : (i+1)*f]
		for s := 0; s < n[i]; s++ {
			for k, v := range x[(i*t+s)*f : (i*t+s+1)*f] {
				row[k] += v
			}
		}
		if n[i] > 0 {
			inv := 1 / float32(n[i])
			for k := range row {
				row[k] *= inv
			}
		}
	}
	return out, nil
}

// DiffWRT: differentiable in x only.
func (op *maskedMeanOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	d[0] = true
	return d
}

func (op *maskedMeanOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	gop := &maskedMeanGradOp{gradOp: newGradOp("maskedmean grad", fmt.Sprintf("tapenet.maskedmean.grad.%p", op), 1, in[0].Shape().Clone()), fwd: op}
	dx, err := gorgonia.ApplyOp(gop, grad)
	if err != nil {
		return nil, err
	}
	ds := make(gorgonia.Nodes, len(in))
	ds[0] = dx
	return ds, nil
}

// maskedMeanGradOp is dx of a maskedMeanOp's last run from dy (batch, F).
type maskedMeanGradOp struct {
	gradOp
	fwd *maskedMeanOp
}

func (op *maskedMeanGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(gorgonia.TensorType{Dims: 2, Of: a}, gorgonia.TensorType{Dims: 3, Of: a})
}

func (op *maskedMeanGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	_, dy, err := rowMajor32(in[0])
	if err != nil {
		return nil, fmt.Errorf("%v: %w", op, err)
	}
	fw := op.fwd
	b, t, f := fw.b, fw.t, fw.f
	if len(dy) != b*f {
		return nil, fmt.Errorf("%v: output gradient of %d values, want (%d, %d)", op, len(dy), b, f)
	}
	out := op.out.get(tensor.Shape{b, t, f})
	dx := out.Float32s()
	clear(dx)
	for i := 0; i < b; i++ {
		if fw.n[i] == 0 {
			continue
		}
		inv := 1 / float32(fw.n[i])
		g := dy[i*f : (i+1)*f]
		for s := 0; s < fw.n[i]; s++ {
			d := dx[(i*t+s)*f : (i*t+s+1)*f]
			for k, v := range g {
				d[k] = v * inv
			}
		}
	}
	return out, nil
}
