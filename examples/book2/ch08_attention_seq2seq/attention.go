package main

// The book's attention as tapenet layers defined outside package graph,
// the way a user extends tapenet: two layer types and three Gorgonia ops.

import (
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"math"

	"github.com/chewxy/hm"
	"github.com/tapenet/tapenet/graph"
	"gonum.org/v1/gonum/blas"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LastStep takes the last step of a (time, features) input: the book's
// enc_hs[:, -1], the decoder's initial h.
type LastStep struct{}

// Kind returns "book2_last_step".
func (LastStep) Kind() string { return "book2_last_step" }

// Forward adds the slice as one op (its gradient puts dy at the last step).
func (LastStep) Forward(_ *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	if x.Dims() != 3 || x.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("last step: want a float32 (batch, time, features) input, got %v %v", x.Dtype(), x.Shape())
	}
	return gorgonia.ApplyOp(&lastStepOp{opName: opName{"last step", "book2.laststep"}}, x)
}

// TimeAttention is the book's ch08 TimeAttention followed by the
// decoder's concatenation: applied to (encoder hs (T, H), decoder hs
// (S, H)) it gives, for each decoder step s, the context c_s = Σ_t a_st
// hs_enc[t] with a_s = softmax_t(hs_enc[t] · hs_dec[s]) (no scaling, no
// projection: AttentionWeight and WeightSum), joined with the decoder
// state: [c_s, hs_dec[s]] (S, 2H), as np.concatenate((c, dec_hs), axis=2).
// With Weights set it outputs the weights a (S, T) instead.
type TimeAttention struct {
	// Weights outputs the attention weights rather than [c, h].
	Weights bool `json:"weights,omitempty"`
}

// Kind returns "book2_time_attention".
func (*TimeAttention) Kind() string { return "book2_time_attention" }

// Forward refuses one input: the layer needs the encoder's and the
// decoder's states.
func (*TimeAttention) Forward(_ *graph.Scope, _ *gorgonia.Node) (*gorgonia.Node, error) {
	return nil, fmt.Errorf("time attention: apply it to the encoder's and the decoder's states")
}

// Merge adds the attention of xs[1] (decoder) over xs[0] (encoder).
func (a *TimeAttention) Merge(_ *graph.Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	if len(xs) != 2 {
		return nil, fmt.Errorf("time attention: %d inputs, want the encoder's and the decoder's states", len(xs))
	}
	enc, dec := xs[0], xs[1]
	if enc.Dims() != 3 || dec.Dims() != 3 || enc.Dtype() != tensor.Float32 || dec.Dtype() != tensor.Float32 ||
		enc.Shape()[0] != dec.Shape()[0] || enc.Shape()[2] != dec.Shape()[2] {
		return nil, fmt.Errorf("time attention: encoder states %v and decoder states %v, want float32 (batch, T, H) and (batch, S, H)", enc.Shape(), dec.Shape())
	}
	op := &attentionOp{weights: a.Weights}
	op.opName = opName{"time attention", fmt.Sprintf("book2.attention.%p", op)}
	return gorgonia.ApplyOp(op, enc, dec)
}

// opName gives an op its printed name and hash.
type opName struct{ label, id string }

func (o opName) ReturnsPtr() bool      { return false }
func (o opName) CallsExtern() bool     { return false }
func (o opName) OverwritesInput() int  { return -1 }
func (o opName) WriteHash(h hash.Hash) { io.WriteString(h, o.id) }
func (o opName) String() string        { return o.label }
func (o opName) Hashcode() uint32 {
	h := fnv.New32a()
	io.WriteString(h, o.id)
	return h.Sum32()
}

func tensor3() hm.Type { return gorgonia.TensorType{Dims: 3, Of: hm.TypeVariable('a')} }

func floats(v gorgonia.Value) ([]float32, tensor.Shape, error) {
	t, ok := v.(*tensor.Dense)
	if !ok || t.Dtype() != tensor.Float32 {
		return nil, nil, fmt.Errorf("want a float32 tensor, got %T", v)
	}
	if t.RequiresIterator() {
		t = t.Materialize().(*tensor.Dense)
	}
	return t.Float32s(), t.Shape(), nil
}

func newOut(shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
}

// lastStepOp: (B, T, H) -> (B, H), x[:, T-1].
type lastStepOp struct{ opName }

func (*lastStepOp) Arity() int { return 1 }
func (*lastStepOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(gorgonia.TensorType{Dims: 3, Of: a}, gorgonia.TensorType{Dims: 2, Of: a})
}
func (*lastStepOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok || len(s) != 3 {
		return nil, fmt.Errorf("last step: input shape %v", in[0])
	}
	return tensor.Shape{s[0], s[2]}, nil
}
func (*lastStepOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	x, s, err := floats(in[0])
	if err != nil {
		return nil, fmt.Errorf("last step: %w", err)
	}
	b, t, h := s[0], s[1], s[2]
	out := newOut(b, h)
	y := out.Float32s()
	for i := 0; i < b; i++ {
		copy(y[i*h:(i+1)*h], x[(i*t+t-1)*h:(i*t+t)*h])
	}
	return out, nil
}
func (*lastStepOp) DiffWRT(int) []bool { return []bool{true} }
func (op *lastStepOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g, err := gorgonia.ApplyOp(&lastStepGradOp{opName: opName{"last step grad", op.id + ".grad"}, shape: in[0].Shape().Clone()}, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// lastStepGradOp: dy (B, H) -> dx (B, T, H), zero but at the last step.
type lastStepGradOp struct {
	opName
	shape tensor.Shape
}

func (*lastStepGradOp) Arity() int { return 1 }
func (*lastStepGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(gorgonia.TensorType{Dims: 2, Of: a}, gorgonia.TensorType{Dims: 3, Of: a})
}
func (op *lastStepGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}
func (op *lastStepGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	dy, _, err := floats(in[0])
	if err != nil {
		return nil, fmt.Errorf("last step grad: %w", err)
	}
	b, t, h := op.shape[0], op.shape[1], op.shape[2]
	if len(dy) != b*h {
		return nil, fmt.Errorf("last step grad: %d values for (%d, %d)", len(dy), b, h)
	}
	out := newOut(b, t, h)
	dx := out.Float32s()
	for i := 0; i < b; i++ {
		copy(dx[(i*t+t-1)*h:(i*t+t)*h], dy[i*h:(i+1)*h])
	}
	return out, nil
}

// attentionOp: enc (B, T, H), dec (B, S, H) -> [c, dec] (B, S, 2H), or the
// weights a (B, S, T). It keeps copies of its inputs and the weights of
// its last run for the gradient op.
type attentionOp struct {
	opName
	weights  bool
	b, t, s  int
	h        int
	enc, dec []float32
	a        []float32 // (B, S, T)
}

func (*attentionOp) Arity() int { return 2 }
func (*attentionOp) Type() hm.Type {
	return hm.NewFnType(tensor3(), tensor3(), tensor3())
}
func (op *attentionOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	e, ok1 := in[0].(tensor.Shape)
	d, ok2 := in[1].(tensor.Shape)
	if !ok1 || !ok2 || len(e) != 3 || len(d) != 3 {
		return nil, fmt.Errorf("time attention: input shapes %v", in)
	}
	if op.weights {
		return tensor.Shape{d[0], d[1], e[1]}, nil
	}
	return tensor.Shape{d[0], d[1], 2 * d[2]}, nil
}

func (op *attentionOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	enc, es, err := floats(in[0])
	if err != nil {
		return nil, fmt.Errorf("time attention: encoder states: %w", err)
	}
	dec, ds, err := floats(in[1])
	if err != nil {
		return nil, fmt.Errorf("time attention: decoder states: %w", err)
	}
	b, t, h, s := es[0], es[1], es[2], ds[1]
	if ds[0] != b || ds[2] != h {
		return nil, fmt.Errorf("time attention: encoder states %v and decoder states %v do not fit", es, ds)
	}
	op.b, op.t, op.s, op.h = b, t, s, h
	op.enc = append(op.enc[:0], enc...)
	op.dec = append(op.dec[:0], dec...)
	if cap(op.a) < b*s*t {
		op.a = make([]float32, b*s*t)
	}
	op.a = op.a[:b*s*t]
	sgemm := gorgonia.WhichBLAS().Sgemm
	var out *tensor.Dense
	var y []float32
	if op.weights {
		out = newOut(b, s, t)
	} else {
		out = newOut(b, s, 2*h)
		y = out.Float32s()
	}
	for i := 0; i < b; i++ {
		e, d, a := op.enc[i*t*h:(i+1)*t*h], op.dec[i*s*h:(i+1)*s*h], op.a[i*s*t:(i+1)*s*t]
		// scores (S, T) = dec · encᵀ, then a softmax per decoder step.
		sgemm(blas.NoTrans, blas.Trans, s, t, h, 1, d, h, e, h, 0, a, t)
		for r := 0; r < s; r++ {
			softmax(a[r*t : (r+1)*t])
		}
		if op.weights {
			continue
		}
		// c (S, H) = a · enc into the first half of each output row.
		yi := y[i*s*2*h:]
		sgemm(blas.NoTrans, blas.NoTrans, s, h, t, 1, a, t, e, h, 0, yi, 2*h)
		for r := 0; r < s; r++ {
			copy(yi[r*2*h+h:(r+1)*2*h], d[r*h:(r+1)*h])
		}
	}
	if op.weights {
		copy(out.Float32s(), op.a)
	}
	return out, nil
}

// softmax turns a row of scores into weights, shifted by the row's max as
// the book's Softmax.
func softmax(row []float32) {
	mx := row[0]
	for _, v := range row {
		mx = max(mx, v)
	}
	var sum float64
	for j, v := range row {
		e := math.Exp(float64(v - mx))
		row[j] = float32(e)
		sum += e
	}
	inv := float32(1 / sum)
	for j := range row {
		row[j] *= inv
	}
}

func (*attentionOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff returns the gradients of the encoder's and the decoder's states,
// each from a grad op reading the forward run's copies.
func (op *attentionOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.weights {
		return nil, fmt.Errorf("time attention: the weights output has no gradient")
	}
	var out gorgonia.Nodes
	for k, name := range []string{"enc", "dec"} {
		g, err := gorgonia.ApplyOp(&attentionGradOp{opName: opName{"time attention grad " + name, op.id + ".grad." + name},
			fwd: op, wrtDec: k == 1, shape: in[k].Shape().Clone()}, grad)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// attentionGradOp is the book's TimeAttention.backward plus the
// concatenation's: from dy = [dc, dh] it gives d enc (B, T, H) or d dec
// (B, S, H).
type attentionGradOp struct {
	opName
	fwd    *attentionOp
	wrtDec bool
	shape  tensor.Shape
	da     []float32
}

func (*attentionGradOp) Arity() int { return 1 }
func (*attentionGradOp) Type() hm.Type {
	return hm.NewFnType(tensor3(), tensor3())
}
func (op *attentionGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}

func (op *attentionGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	dy, _, err := floats(in[0])
	if err != nil {
		return nil, fmt.Errorf("time attention grad: %w", err)
	}
	f := op.fwd
	b, t, s, h := f.b, f.t, f.s, f.h
	if len(dy) != b*s*2*h {
		return nil, fmt.Errorf("time attention grad: %d values for (%d, %d, %d)", len(dy), b, s, 2*h)
	}
	out := newOut(op.shape...)
	g := out.Float32s()
	if cap(op.da) < s*t {
		op.da = make([]float32, s*t)
	}
	da := op.da[:s*t]
	sgemm := gorgonia.WhichBLAS().Sgemm
	for i := 0; i < b; i++ {
		e, d, a := f.enc[i*t*h:(i+1)*t*h], f.dec[i*s*h:(i+1)*s*h], f.a[i*s*t:(i+1)*s*t]
		dyi := dy[i*s*2*h:]
		// da (S, T) = dc · encᵀ (WeightSum), then through the softmax:
		// ds = a ⊙ (da − Σ_t a·da).
		sgemm(blas.NoTrans, blas.Trans, s, t, h, 1, dyi, 2*h, e, h, 0, da, t)
		for r := 0; r < s; r++ {
			ar, dr := a[r*t:(r+1)*t], da[r*t:(r+1)*t]
			var dot float64
			for j := range ar {
				dot += float64(ar[j] * dr[j])
			}
			for j := range ar {
				dr[j] = ar[j] * (dr[j] - float32(dot))
			}
		}
		if op.wrtDec {
			// d dec = dh + ds · enc.
			gi := g[i*s*h : (i+1)*s*h]
			for r := 0; r < s; r++ {
				copy(gi[r*h:(r+1)*h], dyi[r*2*h+h:(r+1)*2*h])
			}
			sgemm(blas.NoTrans, blas.NoTrans, s, h, t, 1, da, t, e, h, 1, gi, h)
			continue
		}
		// d enc = aᵀ · dc (WeightSum) + dsᵀ · dec (AttentionWeight).
		gi := g[i*t*h : (i+1)*t*h]
		sgemm(blas.Trans, blas.NoTrans, t, h, s, 1, a, t, dyi, 2*h, 0, gi, h)
		sgemm(blas.Trans, blas.NoTrans, t, h, s, 1, da, t, d, h, 1, gi, h)
	}
	return out, nil
}
