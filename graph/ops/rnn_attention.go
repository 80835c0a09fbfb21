package ops

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// mhaOp is multi-head self-attention over x (batch, time, E) as one op,
// nn.MultiheadAttention's computation with batch_first and no dropout:
// [Q K V] = x·W_inᵀ + b_in (W_in is in_proj_weight (3E, E)), per head
// softmax(Q_h·K_hᵀ/√d + mask)·V_h, the heads concatenated, then
// ·W_outᵀ + b_out (out_proj). Masked keys (causal: later steps; padding:
// mask value nonzero) get no weight; a query whose keys are all masked
// gets zeros before out_proj (PyTorch gives NaN). Its gradient op reuses
// the attention weights of the last run.
type mhaOp struct {
	base
	heads     int
	causal    bool
	masked    bool
	inputGrad bool
	out       outputCache
	b, t, e   int
	x         []float32 // copy of the input
	qkv       []float32 // (B·T, 3E)
	p         []float32 // (B, heads, T, T) attention weights
	o         []float32 // (B·T, E) heads concatenated
}

// MultiHeadAttention adds self-attention of x (batch, time, E) with the
// given number of heads; win (3E, E), bin (3E), wout (E, E) and bout (E)
// are PyTorch's in_proj_weight, in_proj_bias, out_proj.weight and
// out_proj.bias. mask, if not nil, is a (batch, time) key padding mask:
// nonzero marks a key to ignore (PyTorch's key_padding_mask True). causal
// hides every later step from each query.
func MultiHeadAttention(x, win, bin, wout, bout, mask *gorgonia.Node, heads int, causal bool) (*gorgonia.Node, error) {
	if x.Dtype() != tensor.Float32 || x.Dims() != 3 {
		return nil, fmt.Errorf("attention: want a float32 (batch, time, features) input, got %v %v", x.Dtype(), x.Shape())
	}
	b, t, e := x.Shape()[0], x.Shape()[1], x.Shape()[2]
	if heads < 1 || e%heads != 0 {
		return nil, fmt.Errorf("attention: %d features do not split into %d heads", e, heads)
	}
	if !win.Shape().Eq(tensor.Shape{3 * e, e}) || !bin.Shape().Eq(tensor.Shape{3 * e}) || !wout.Shape().Eq(tensor.Shape{e, e}) || !bout.Shape().Eq(tensor.Shape{e}) {
		return nil, fmt.Errorf("attention: projections %v %v %v %v do not fit %d features", win.Shape(), bin.Shape(), wout.Shape(), bout.Shape(), e)
	}
	op := &mhaOp{heads: heads, causal: causal, masked: mask != nil, inputGrad: !x.IsVar()}
	op.base = base{label: "attention", id: fmt.Sprintf("tapenet.attention.%p", op)}
	if mask == nil {
		return gorgonia.ApplyOp(op, x, win, bin, wout, bout)
	}
	if !mask.Shape().Eq(tensor.Shape{b, t}) {
		return nil, fmt.Errorf("attention: padding mask of shape %v, want (batch, time) = (%d, %d)", mask.Shape(), b, t)
	}
	return gorgonia.ApplyOp(op, x, win, bin, wout, bout, mask)
}

func (op *mhaOp) Arity() int {
	if op.masked {
		return 6
	}
	return 5
}

func (op *mhaOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	ts := []hm.Type{gorgonia.TensorType{Dims: 3, Of: a}, gorgonia.TensorType{Dims: 2, Of: a}, gorgonia.TensorType{Dims: 1, Of: a},
		gorgonia.TensorType{Dims: 2, Of: a}, gorgonia.TensorType{Dims: 1, Of: a}}
	if op.masked {
		ts = append(ts, gorgonia.TensorType{Dims: 2, Of: a})
	}
	return hm.NewFnType(append(ts, gorgonia.TensorType{Dims: 3, Of: a})...)
}

func (op *mhaOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	shapes, err := shapesOf(in)
	if err != nil || len(shapes) < 1 {
		return nil, fmt.Errorf("attention: input shapes %v", in)
	}
	return shapes[0].Clone(), nil
}

func (op *mhaOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != op.Arity() {
		return nil, fmt.Errorf("attention: %d inputs, want %d", len(in), op.Arity())
	}
	vals := make([][]float32, len(in))
	var xshape tensor.Shape
	for i, v := range in {
		t, data, err := rowMajor32(v)
		if err != nil {
			return nil, fmt.Errorf("attention: input %d: %w", i, err)
		}
		if i == 0 {
			xshape = t.Shape()
		}
		vals[i] = data
	}
	if len(xshape) != 3 {
		return nil, fmt.Errorf("attention: input of shape %v", xshape)
	}
	b, t, e := xshape[0], xshape[1], xshape[2]
	h := op.heads
	d := e / h
	if len(vals[1]) != 3*e*e || len(vals[3]) != e*e || (op.masked && len(vals[5]) != b*t) {
		return nil, fmt.Errorf("attention: weights or mask do not fit an input of shape %v", xshape)
	}
	op.b, op.t, op.e = b, t, e
	op.x = grow(op.x, b*t*e)
	copy(op.x, vals[0])
	op.qkv = grow(op.qkv, b*t*3*e)
	op.p = grow(op.p, b*h*t*t)
	op.o = grow(op.o, b*t*e)
	sgemm := gorgonia.WhichBLAS().Sgemm
	for r := 0; r < b*t; r++ {
		copy(op.qkv[r*3*e:(r+1)*3*e], vals[2])
	}
	sgemm(blas.NoTrans, blas.Trans, b*t, 3*e, e, 1, op.x, e, vals[1], e, 1, op.qkv, 3*e)
	scale := float32(1 / math.Sqrt(float64(d)))
	for i := 0; i < b; i++ {
		var mask []float32
		if op.masked {
			mask = vals[5][i*t : (i+1)*t]
		}
		for hd := 0; hd < h; hd++ {
			q := op.qkv[i*t*3*e+hd*d:]
			k := op.qkv[i*t*3*e+e+hd*d:]
			v := op.qkv[i*t*3*e+2*e+hd*d:]
			p := op.p[(i*h+hd)*t*t : (i*h+hd+1)*t*t]
			sgemm(blas.NoTrans, blas.Trans, t, t, d, scale, q, 3*e, k, 3*e, 0, p, t)
			for r := 0; r < t; r++ {
				maskedSoftmax(p[r*t:(r+1)*t], mask, op.causal, r)
			}
			sgemm(blas.NoTrans, blas.NoTrans, t, d, t, 1, p, t, v, 3*e, 0, op.o[i*t*e+hd*d:], e)
		}
	}
	out := op.out.get(tensor.Shape{b, t, e})
	ys := out.Float32s()
	for r := 0; r < b*t; r++ {
		copy(ys[r*e:(r+1)*e], vals[4])
	}
	sgemm(blas.NoTrans, blas.Trans, b*t, e, e, 1, op.o, e, vals[3], e, 1, ys, e)
	return out, nil
}

// maskedSoftmax turns one row of scores into weights, leaving out the keys
// the padding mask marks and, with causal, those after step r.
func maskedSoftmax(row, mask []float32, causal bool, r int) {
	keep := func(j int) bool { return !(causal && j > r) && (mask == nil || mask[j] == 0) }
	mx := float32(math.Inf(-1))
	for j, v := range row {
		if keep(j) && v > mx {
			mx = v
		}
	}
	if math.IsInf(float64(mx), -1) {
		clear(row)
		return
	}
	var sum float64
	for j, v := range row {
		if keep(j) {
			ev := exp32(v - mx)
			row[j] = ev
			sum += float64(ev)
		} else {
			row[j] = 0
		}
	}
	inv := float32(1 / sum)
	for j := range row {
		row[j] *= inv
	}
}

func (op *mhaOp) DiffWRT(n int) []bool {
	d := []bool{op.inputGrad, true, true, true, true, false}
	return d[:n]
}

// SymDiff returns dx, the projections' gradients and none for the mask,
// all from one mhaGradOp.
func (op *mhaOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	shapes := []tensor.Shape{in[0].Shape(), in[1].Shape(), in[2].Shape(), in[3].Shape(), in[4].Shape()}
	if !op.inputGrad {
		shapes[0] = nil
	}
	gop := &mhaGradOp{fwd: op}
	gop.flatGrad = newFlatGrad("attention grad", op.id+".grad", []int{2, 2, 3}, shapes)
	g, err := gorgonia.ApplyOp(gop, in[1], in[3], grad)
	if err != nil {
		return nil, err
	}
	nodes, err := gop.picks(g)
	if err != nil {
		return nil, err
	}
	if op.masked {
		nodes = append(nodes, nil)
	}
	return nodes, nil
}

// mhaGradOp is the attention's backward pass: from W_in, W_out and dy (and
// the forward run's values) every gradient at once.
type mhaGradOp struct {
	flatGrad
	fwd           *mhaOp
	dqkv, do, dpb []float32
}

func (op *mhaGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	vals, err := op.inputs(in)
	if err != nil {
		return nil, err
	}
	win, wout, dy := vals[0], vals[1], vals[2]
	f := op.fwd
	b, t, e, h := f.b, f.t, f.e, f.heads
	d := e / h
	if len(dy) != b*t*e {
		return nil, fmt.Errorf("%v: %d gradients for (%d, %d, %d)", op, len(dy), b, t, e)
	}
	out := op.out.get(op.shape)
	parts := op.split(out.Float32s())
	sgemm := gorgonia.WhichBLAS().Sgemm
	op.do = grow(op.do, b*t*e)
	sgemm(blas.NoTrans, blas.NoTrans, b*t, e, e, 1, dy, e, wout, e, 0, op.do, e)
	sgemm(blas.Trans, blas.NoTrans, e, e, b*t, 1, dy, e, f.o, e, 0, parts[3], e)
	colSums(parts[4], dy, e)
	op.dqkv = grow(op.dqkv, b*t*3*e)
	op.dpb = grow(op.dpb, t*t)
	dp := op.dpb
	scale := float32(1 / math.Sqrt(float64(d)))
	for i := 0; i < b; i++ {
		for hd := 0; hd < h; hd++ {
			base := i*t*3*e + hd*d
			q, k, v := f.qkv[base:], f.qkv[base+e:], f.qkv[base+2*e:]
			dq, dk, dv := op.dqkv[base:], op.dqkv[base+e:], op.dqkv[base+2*e:]
			p := f.p[(i*h+hd)*t*t : (i*h+hd+1)*t*t]
			do := op.do[i*t*e+hd*d:]
			sgemm(blas.NoTrans, blas.Trans, t, t, d, 1, do, e, v, 3*e, 0, dp, t)
			sgemm(blas.Trans, blas.NoTrans, t, d, t, 1, p, t, do, e, 0, dv, 3*e)
			for r := 0; r < t; r++ {
				pr, dr := p[r*t:(r+1)*t], dp[r*t:(r+1)*t]
				var dot float64
				for j := range pr {
					dot += float64(pr[j] * dr[j])
				}
				for j := range pr {
					dr[j] = pr[j] * (dr[j] - float32(dot))
				}
			}
			sgemm(blas.NoTrans, blas.NoTrans, t, d, t, scale, dp, t, k, 3*e, 0, dq, 3*e)
			sgemm(blas.Trans, blas.NoTrans, t, d, t, scale, dp, t, q, 3*e, 0, dk, 3*e)
		}
	}
	sgemm(blas.Trans, blas.NoTrans, 3*e, e, b*t, 1, op.dqkv, 3*e, f.x, e, 0, parts[1], e)
	colSums(parts[2], op.dqkv, 3*e)
	if parts[0] != nil {
		sgemm(blas.NoTrans, blas.NoTrans, b*t, e, 3*e, 1, op.dqkv, 3*e, win, e, 0, parts[0], e)
	}
	return out, nil
}

// addPositionsOp adds a learned position table (maxLen, E) to x (batch,
// time, E): y[b, t] = x[b, t] + table[t].
type addPositionsOp struct {
	base
	maxLen int
	out    outputCache
}

// AddPositions adds table[t] to every step t of x (batch, time, E); the
// table (maxLen, E) must have a row for every step.
func AddPositions(x, table *gorgonia.Node) (*gorgonia.Node, error) {
	if x.Dims() != 3 || table.Dims() != 2 || x.Shape()[2] != table.Shape()[1] {
		return nil, fmt.Errorf("positional embedding: input %v does not fit a table %v", x.Shape(), table.Shape())
	}
	if x.Shape()[1] > table.Shape()[0] {
		return nil, fmt.Errorf("positional embedding: a sequence of %d steps is longer than the %d positions of the table", x.Shape()[1], table.Shape()[0])
	}
	return gorgonia.ApplyOp(&addPositionsOp{base: base{label: "+positions", id: "tapenet.positions"}, maxLen: table.Shape()[0]}, x, table)
}

func (*addPositionsOp) Arity() int { return 2 }

func (*addPositionsOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(gorgonia.TensorType{Dims: 3, Of: a}, gorgonia.TensorType{Dims: 2, Of: a}, gorgonia.TensorType{Dims: 3, Of: a})
}

func (*addPositionsOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return unaryShape("positions", in[:1])
}

func (op *addPositionsOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("positions: %d inputs, want 2", len(in))
	}
	x, xs, err := rowMajor32(in[0])
	if err != nil {
		return nil, err
	}
	_, ts, err := rowMajor32(in[1])
	if err != nil {
		return nil, err
	}
	s := x.Shape()
	t, e := s[1], s[2]
	if len(ts) < t*e {
		return nil, fmt.Errorf("positions: a sequence of %d steps is longer than the table", t)
	}
	out := op.out.get(s)
	ys := out.Float32s()
	for i := range xs {
		ys[i] = xs[i] + ts[i%(t*e)]
	}
	return out, nil
}

func (*addPositionsOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff: dx = dy; dtable[t] = Σ_batch dy[·, t] (zero past the sequence).
func (op *addPositionsOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	gop := &positionsGradOp{gradOp: newGradOp("positions grad", "tapenet.positions.grad", 1, in[1].Shape().Clone())}
	dt, err := gorgonia.ApplyOp(gop, grad)
	if err != nil {
		return nil, err
	}
	dx, err := Reshape(grad, grad.Shape().Clone())
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dt}, nil
}

type positionsGradOp struct{ gradOp }

func (op *positionsGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(gorgonia.TensorType{Dims: 3, Of: a}, gorgonia.TensorType{Dims: 2, Of: a})
}

func (op *positionsGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	g, gs, err := rowMajor32(in[0])
	if err != nil {
		return nil, err
	}
	t, e := g.Shape()[1], g.Shape()[2]
	out := op.out.get(op.shape)
	dt := out.Float32s()
	clear(dt)
	for i := range gs {
		dt[i%(t*e)] += gs[i]
	}
	return out, nil
}
