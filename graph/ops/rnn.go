package ops

import (
	"fmt"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Cell names a recurrent cell, with PyTorch's formulas and weight layout:
// weight_ih (G·H, in), weight_hh (G·H, H), bias_ih and bias_hh (G·H), the G
// gate blocks stacked in PyTorch's order.
type Cell int

const (
	// TanhCell is nn.RNN's h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (G = 1).
	TanhCell Cell = iota
	// LSTMCell is nn.LSTM's cell, gates i, f, g, o (G = 4):
	// c' = f·c + i·g, h' = o·tanh(c').
	LSTMCell
	// GRUCell is nn.GRU's cell, gates r, z, n (G = 3):
	// n = tanh(W_in x + b_in + r·(W_hn h + b_hn)), h' = (1-z)·n + z·h.
	GRUCell
)

// Gates returns the number of gate blocks G of the cell.
func (c Cell) Gates() int {
	switch c {
	case LSTMCell:
		return 4
	case GRUCell:
		return 3
	}
	return 1
}

func (c Cell) String() string {
	switch c {
	case LSTMCell:
		return "lstm"
	case GRUCell:
		return "gru"
	}
	return "rnn"
}

// rnnOp runs a recurrent cell over a whole (batch, time, in) sequence from
// a zero state as one op: the input projections of all steps in one matrix
// product, then per step one product by weight_hh and the gate arithmetic.
// It keeps what the backward pass needs (states and activated gates of the
// last run) for its rnnGradOp, which runs backpropagation through time in
// one op. Output: (batch, time, H) or, with last, (batch, H).
type rnnOp struct {
	base
	cell      Cell
	last      bool
	inputGrad bool
	nstate    int // 0, or the initial states given: 1 (h0) or 2 (LSTM h0, c0)
	reverse   bool
	dirs, dir int     // states (batch, dirs, H) of which direction dir is read; dirs 0: (batch, H)
	lens      seqLens // the lengths or padding mask input, if any
	inLayer
	out outputCache
	st  rnnState
	h0  []float32 // this direction's initial states when dirs > 0
	c0  []float32
}

// state returns the (batch, H) initial state of the op's direction from v,
// (batch, H) or (batch, dirs, H), gathered into *buf for the latter.
func (op *rnnOp) state(v []float32, buf *[]float32, b, h int) ([]float32, error) {
	if op.dirs == 0 {
		if len(v) != b*h {
			return nil, fmt.Errorf("%d values, want (%d, %d)", len(v), b, h)
		}
		return v, nil
	}
	if len(v) != b*op.dirs*h {
		return nil, fmt.Errorf("%d values, want (%d, %d, %d)", len(v), b, op.dirs, h)
	}
	*buf = grow(*buf, b*h)
	for i := 0; i < b; i++ {
		copy((*buf)[i*h:(i+1)*h], v[(i*op.dirs+op.dir)*h:(i*op.dirs+op.dir+1)*h])
	}
	return *buf, nil
}

// putState writes g, the gradient (batch, H) of the op's direction's
// initial state, into dst of the state's shape (zeros for the other
// directions).
func (op *rnnOp) putState(dst, g []float32, b, h int) {
	if op.dirs == 0 {
		copy(dst, g)
		return
	}
	clear(dst)
	for i := 0; i < b; i++ {
		copy(dst[(i*op.dirs+op.dir)*h:(i*op.dirs+op.dir+1)*h], g[i*h:(i+1)*h])
	}
}

// rnnState is one run's intermediate values, time-major.
type rnnState struct {
	b, t, in, h int
	xt          []float32 // (T, B, in) the input
	hs          []float32 // (T+1, B, H) states; hs[0] is the zero initial state
	cs          []float32 // LSTM: (T+1, B, H) cell states
	tc          []float32 // LSTM: (T, B, H) tanh of the cell states
	acts        []float32 // (T, B, G·H) activated gates (unused by TanhCell)
	hn          []float32 // GRU: (T, B, H) W_hn h + b_hn
	hg          []float32 // (B, G·H) scratch: one step's hidden projection
	pos         []int     // (T, B) the time index step s reads for sample i, -1 past its length
	lens        []int     // (B) the lengths of the last run
}

// Recurrent adds a recurrent layer of the given cell over x (batch, time,
// in) from a zero initial state, as one op with one gradient op. wih, whh,
// bih and bhh are PyTorch's weight_ih_l0, weight_hh_l0, bias_ih_l0 and
// bias_hh_l0. With last it returns the final state (batch, H), else every
// step's state (batch, time, H). float32 only.
func Recurrent(cell Cell, x, wih, whh, bih, bhh *gorgonia.Node, last bool) (*gorgonia.Node, error) {
	return RecurrentWith(cell, x, wih, whh, bih, bhh, RecurrentOptions{Last: last})
}

// RecurrentFrom is Recurrent from given initial states, as PyTorch's
// h0/c0: h0 (batch, H) the state before step 0 and, for LSTMCell only, c0
// (batch, H) the cell state (nil for zeros; must be nil for the other
// cells). Gradients flow into h0 and c0.
func RecurrentFrom(cell Cell, x, wih, whh, bih, bhh, h0, c0 *gorgonia.Node, last bool) (*gorgonia.Node, error) {
	if h0 == nil {
		return nil, fmt.Errorf("%v: RecurrentFrom needs h0", cell)
	}
	return RecurrentWith(cell, x, wih, whh, bih, bhh, RecurrentOptions{H0: h0, C0: c0, Last: last})
}

// RecurrentOptions are the optional parts of a recurrent op.
type RecurrentOptions struct {
	// H0 is the initial state (batch, H), nil for zeros. C0 is an LSTM's
	// initial cell state (batch, H), nil for zeros; only with H0.
	// Gradients flow into both.
	H0, C0 *gorgonia.Node
	// Lengths, if not nil, gives each sample's number of valid steps, as
	// PyTorch's pack_padded_sequence: an int64 or int32 (batch) or
	// (batch, 1) tensor of lengths, or a bool or float32 (batch, time)
	// padding mask, true or nonzero marking a padding step (as
	// MultiHeadAttention's key padding mask), which must come after the
	// sample's valid steps. Steps past a sample's length leave its state
	// unchanged and output zeros (pad_packed_sequence's padding); the last
	// state is the one at the sample's last valid step. A length above
	// time, a negative one or padding before a valid step is an error
	// (ErrInputValue) when the graph runs.
	Lengths *gorgonia.Node
	// Reverse runs the cell from each sample's last valid step back to
	// step 0 (the backward half of a bidirectional layer); step t's output
	// is the state after reading step t, and the last state is the one
	// after step 0 (PyTorch's h_n of the reverse direction).
	Reverse bool
	// Last returns the final state (batch, H) instead of every step's
	// state (batch, time, H).
	Last bool
	// Directions, when above 0, makes H0 and C0 (batch, Directions, H)
	// tensors of which the op reads (and puts gradients into) direction
	// Direction only: a bidirectional layer's states, PyTorch's h0/c0
	// (Directions, batch, H) with the batch first.
	Directions, Direction int
}

// RecurrentWith adds a recurrent layer of the given cell over x (batch,
// time, in) as one op with one gradient op (see Recurrent), with the
// options o.
func RecurrentWith(cell Cell, x, wih, whh, bih, bhh *gorgonia.Node, o RecurrentOptions) (*gorgonia.Node, error) {
	if o.C0 != nil && cell != LSTMCell {
		return nil, fmt.Errorf("%v: only an LSTM takes a cell state c0", cell)
	}
	if o.C0 != nil && o.H0 == nil {
		return nil, fmt.Errorf("%v: a cell state c0 needs h0", cell)
	}
	if err := checkRecurrent(cell, x, wih, whh, bih, bhh); err != nil {
		return nil, err
	}
	b, h := x.Shape()[0], whh.Shape()[1]
	want := tensor.Shape{b, h}
	if o.Directions > 0 {
		if o.Direction < 0 || o.Direction >= o.Directions {
			return nil, fmt.Errorf("%v: direction %d of %d", cell, o.Direction, o.Directions)
		}
		want = tensor.Shape{b, o.Directions, h}
	}
	for _, st := range []*gorgonia.Node{o.H0, o.C0} {
		if st != nil && (st.Dtype() != tensor.Float32 || !st.Shape().Eq(want)) {
			return nil, fmt.Errorf("%v: initial state %v %v, want float32 %v", cell, st.Dtype(), st.Shape(), want)
		}
	}
	op := &rnnOp{cell: cell, last: o.Last, inputGrad: !x.IsVar(), reverse: o.Reverse, dirs: o.Directions, dir: o.Direction}
	op.base = base{label: cell.String(), id: fmt.Sprintf("tapenet.%v.%p", cell, op)}
	in := []*gorgonia.Node{x, wih, whh, bih, bhh}
	if o.H0 != nil {
		op.nstate = 1
		in = append(in, o.H0)
	}
	if o.C0 != nil {
		op.nstate = 2
		in = append(in, o.C0)
	}
	if o.Lengths != nil {
		l, err := newSeqLens(o.Lengths, b, x.Shape()[1])
		if err != nil {
			return nil, fmt.Errorf("%v: %w", cell, err)
		}
		op.lens = l
		in = append(in, o.Lengths)
	}
	return gorgonia.ApplyOp(op, in...)
}

func checkRecurrent(cell Cell, x, wih, whh, bih, bhh *gorgonia.Node) error {
	if x.Dtype() != tensor.Float32 || x.Dims() != 3 {
		return fmt.Errorf("%v: want a float32 (batch, time, features) input, got %v %v", cell, x.Dtype(), x.Shape())
	}
	g := cell.Gates()
	ws, hs := wih.Shape(), whh.Shape()
	if wih.Dims() != 2 || whh.Dims() != 2 || ws[0]%g != 0 || ws[1] != x.Shape()[2] || hs[0] != ws[0] || hs[1] != ws[0]/g ||
		bih.Dims() != 1 || bhh.Dims() != 1 || bih.Shape()[0] != ws[0] || bhh.Shape()[0] != ws[0] {
		return fmt.Errorf("%v: weights %v %v and biases %v %v do not fit an input of %d features", cell, ws, hs, bih.Shape(), bhh.Shape(), x.Shape()[2])
	}
	return nil
}

func (op *rnnOp) Arity() int { return 5 + op.nstate + op.lens.arity() }

func (op *rnnOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	outDims := 3
	if op.last {
		outDims = 2
	}
	ts := []hm.Type{gorgonia.TensorType{Dims: 3, Of: a}, gorgonia.TensorType{Dims: 2, Of: a}, gorgonia.TensorType{Dims: 2, Of: a},
		gorgonia.TensorType{Dims: 1, Of: a}, gorgonia.TensorType{Dims: 1, Of: a}}
	stateDims := 2
	if op.dirs > 0 {
		stateDims = 3
	}
	for i := 0; i < op.nstate; i++ {
		ts = append(ts, gorgonia.TensorType{Dims: stateDims, Of: a})
	}
	if op.lens.given {
		ts = append(ts, op.lens.typ())
	}
	return hm.NewFnType(append(ts, gorgonia.TensorType{Dims: outDims, Of: a})...)
}

func (op *rnnOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	shapes, err := shapesOf(in)
	if err != nil || len(shapes) != op.Arity() || len(shapes[0]) != 3 || len(shapes[2]) != 2 {
		return nil, fmt.Errorf("%v: input shapes %v", op, in)
	}
	x, h := shapes[0], shapes[2][1]
	if op.last {
		return tensor.Shape{x[0], h}, nil
	}
	return tensor.Shape{x[0], x[1], h}, nil
}

func (op *rnnOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	v, err := op.do(in)
	return v, op.wrap(err)
}

func (op *rnnOp) do(in []gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != op.Arity() {
		return nil, fmt.Errorf("%v: %d inputs, want %d", op, len(in), op.Arity())
	}
	var lensVal gorgonia.Value
	if op.lens.given {
		lensVal, in = in[len(in)-1], in[:len(in)-1]
	}
	vals := make([][]float32, len(in))
	var xshape tensor.Shape
	for i, v := range in {
		t, data, err := rowMajor32(v)
		if err != nil {
			return nil, fmt.Errorf("%v: input %d: %w", op, i, err)
		}
		if i == 0 {
			xshape = t.Shape()
		}
		vals[i] = data
	}
	if len(xshape) != 3 {
		return nil, fmt.Errorf("%v: input of shape %v, want (batch, time, features)", op, xshape)
	}
	b, t, nin := xshape[0], xshape[1], xshape[2]
	gh := len(vals[3])
	h := gh / op.cell.Gates()
	if len(vals[1]) != gh*nin || len(vals[2]) != gh*h || len(vals[4]) != gh || t < 1 {
		return nil, fmt.Errorf("%v: weights of %d, %d values do not fit an input of shape %v", op, len(vals[1]), len(vals[2]), xshape)
	}
	var h0, c0 []float32
	if op.nstate > 0 {
		var err error
		if h0, err = op.state(vals[5], &op.h0, b, h); err != nil {
			return nil, fmt.Errorf("%v: h0: %w", op, err)
		}
	}
	if op.nstate > 1 {
		var err error
		if c0, err = op.state(vals[6], &op.c0, b, h); err != nil {
			return nil, fmt.Errorf("%v: c0: %w", op, err)
		}
	}
	lens, err := op.lens.read(lensVal, b, t, op.st.lens)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", op, err)
	}
	op.st.lens = lens
	op.st.positions(b, t, lens, op.reverse)
	op.st.forward(op.cell, b, t, nin, h, vals[0], vals[1], vals[2], vals[3], vals[4], h0, c0)
	hs := op.st.hs
	if op.last {
		out := op.out.get(tensor.Shape{b, h})
		copy(out.Float32s(), hs[t*b*h:])
		return out, nil
	}
	out := op.out.get(tensor.Shape{b, t, h})
	ys := out.Float32s()
	clear(ys)
	for s := 0; s < t; s++ {
		for i := 0; i < b; i++ {
			if p := op.st.pos[s*b+i]; p >= 0 {
				copy(ys[(i*t+p)*h:(i*t+p+1)*h], hs[((s+1)*b+i)*h:((s+1)*b+i+1)*h])
			}
		}
	}
	return out, nil
}

// positions sets st.pos: the time index of x that step s reads for sample
// i (s, or from the sample's last valid step back for reverse), -1 once
// the sample's steps are used up. lens nil means every sample has t steps.
func (st *rnnState) positions(b, t int, lens []int, reverse bool) {
	if cap(st.pos) < t*b {
		st.pos = make([]int, t*b)
	}
	st.pos = st.pos[:t*b]
	for i := 0; i < b; i++ {
		n := t
		if lens != nil {
			n = lens[i]
		}
		for s := 0; s < t; s++ {
			p := s
			if reverse {
				p = n - 1 - s
			}
			if s >= n {
				p = -1
			}
			st.pos[s*b+i] = p
		}
	}
}

// grow returns s resized to n values, reusing its memory.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// forward runs the cell over the sequence x (batch-major), keeping every
// intermediate value the backward pass needs.
func (st *rnnState) forward(cell Cell, b, t, nin, h int, x, wih, whh, bih, bhh, h0, c0 []float32) {
	st.b, st.t, st.in, st.h = b, t, nin, h
	g := cell.Gates()
	gh := g * h
	st.xt = grow(st.xt, t*b*nin)
	for i := 0; i < b; i++ {
		for s := 0; s < t; s++ {
			dst := st.xt[(s*b+i)*nin : (s*b+i+1)*nin]
			if p := st.pos[s*b+i]; p >= 0 {
				copy(dst, x[(i*t+p)*nin:(i*t+p+1)*nin])
			} else {
				clear(dst)
			}
		}
	}
	st.hs = grow(st.hs, (t+1)*b*h)
	clear(st.hs[:b*h])
	copy(st.hs[:b*h], h0)
	st.acts = grow(st.acts, t*b*gh)
	st.hg = grow(st.hg, b*gh)
	if cell == LSTMCell {
		st.cs = grow(st.cs, (t+1)*b*h)
		clear(st.cs[:b*h])
		copy(st.cs[:b*h], c0)
		st.tc = grow(st.tc, t*b*h)
	}
	if cell == GRUCell {
		st.hn = grow(st.hn, t*b*h)
	}
	// Input projections of every step at once: acts = x·W_ihᵀ + b_ih.
	for r := 0; r < t*b; r++ {
		copy(st.acts[r*gh:(r+1)*gh], bih)
	}
	sgemm := gorgonia.WhichBLAS().Sgemm
	sgemm(blas.NoTrans, blas.Trans, t*b, gh, nin, 1, st.xt, nin, wih, nin, 1, st.acts, gh)
	for s := 0; s < t; s++ {
		hp := st.hs[s*b*h : (s+1)*b*h]
		hcur := st.hs[(s+1)*b*h : (s+2)*b*h]
		a := st.acts[s*b*gh : (s+1)*b*gh]
		hg := st.hg
		for i := 0; i < b; i++ {
			copy(hg[i*gh:(i+1)*gh], bhh)
		}
		if s > 0 || h0 != nil {
			sgemm(blas.NoTrans, blas.Trans, b, gh, h, 1, hp, h, whh, h, 1, hg, gh)
		}
		switch cell {
		case TanhCell:
			for k := range a {
				a[k] += hg[k]
			}
			tanhSlice(hcur, a)
		case LSTMCell:
			for k := range a {
				a[k] += hg[k]
			}
			cp := st.cs[s*b*h : (s+1)*b*h]
			cc := st.cs[(s+1)*b*h : (s+2)*b*h]
			tc := st.tc[s*b*h : (s+1)*b*h]
			for i := 0; i < b; i++ {
				row := a[i*gh : (i+1)*gh]
				sigmoidSlice(row[:2*h], row[:2*h])
				tanhSlice(row[2*h:3*h], row[2*h:3*h])
				sigmoidSlice(row[3*h:], row[3*h:])
				ig, fg, gg := row[:h], row[h:2*h], row[2*h:3*h]
				c := cc[i*h : (i+1)*h]
				cprev := cp[i*h : (i+1)*h]
				for k := range c {
					c[k] = fg[k]*cprev[k] + ig[k]*gg[k]
				}
			}
			tanhSlice(tc, cc)
			for i := 0; i < b; i++ {
				og := a[i*gh+3*h : (i+1)*gh]
				hr := hcur[i*h : (i+1)*h]
				tr := tc[i*h : (i+1)*h]
				for k := range hr {
					hr[k] = og[k] * tr[k]
				}
			}
		case GRUCell:
			hn := st.hn[s*b*h : (s+1)*b*h]
			for i := 0; i < b; i++ {
				row := a[i*gh : (i+1)*gh]
				hrow := hg[i*gh : (i+1)*gh]
				for k := 0; k < 2*h; k++ {
					row[k] += hrow[k]
				}
				sigmoidSlice(row[:2*h], row[:2*h])
				r := row[:h]
				n := row[2*h:]
				copy(hn[i*h:(i+1)*h], hrow[2*h:])
				for k := range n {
					n[k] += r[k] * hrow[2*h+k]
				}
				tanhSlice(n, n)
				z := row[h : 2*h]
				hr := hcur[i*h : (i+1)*h]
				pr := hp[i*h : (i+1)*h]
				for k := range hr {
					hr[k] = (1-z[k])*n[k] + z[k]*pr[k]
				}
			}
		}
		// A sample past its length keeps its state.
		for i := 0; i < b; i++ {
			if st.pos[s*b+i] >= 0 {
				continue
			}
			copy(hcur[i*h:(i+1)*h], hp[i*h:(i+1)*h])
			if cell == LSTMCell {
				copy(st.cs[(s+1)*b*h+i*h:(s+1)*b*h+(i+1)*h], st.cs[s*b*h+i*h:s*b*h+(i+1)*h])
			}
		}
	}
}

// tanhSlice sets dst[i] = tanh(src[i]) as 2·sigmoid(2x) - 1 in float32.
func tanhSlice(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = 2 * v
	}
	sigmoidSlice(dst, dst)
	for i, v := range dst {
		dst[i] = 2*v - 1
	}
}

// DiffWRT: differentiable in every weight, and in x unless x is a leaf.
func (op *rnnOp) DiffWRT(int) []bool {
	d := []bool{op.inputGrad, true, true, true, true}
	for i := 0; i < op.nstate; i++ {
		d = append(d, true)
	}
	if op.lens.given {
		d = append(d, false)
	}
	return d
}

// SymDiff returns dx (nil for a leaf input), dW_ih, dW_hh, db_ih and db_hh,
// all computed by one rnnGradOp (backpropagation through time) and picked
// out of its result.
func (op *rnnOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(in) != op.Arity() {
		return nil, fmt.Errorf("%v: %d inputs, want %d", op, len(in), op.Arity())
	}
	shapes := make([]tensor.Shape, len(in))
	for i, n := range in {
		shapes[i] = n.Shape()
	}
	if !op.inputGrad {
		shapes[0] = nil
	}
	if op.lens.given {
		shapes[len(shapes)-1] = nil
	}
	gop := &rnnGradOp{fwd: op}
	gop.flatGrad = newFlatGrad(op.label+" grad", fmt.Sprintf("tapenet.%v.grad.%p", op.cell, op), []int{3, 2, 2, grad.Dims()}, shapes)
	g, err := gorgonia.ApplyOp(gop, in[0], in[1], in[2], grad)
	if err != nil {
		return nil, err
	}
	return gop.picks(g)
}

// rnnGradOp is backpropagation through time for an rnnOp's last run: from
// x, W_ih, W_hh and dy it computes every gradient in one pass and returns
// them concatenated (see flatGrad).
type rnnGradOp struct {
	flatGrad
	fwd *rnnOp
	ws  rnnGradScratch
}

type rnnGradScratch struct {
	dax, dah, dh, dhn, dc, dxt []float32
	dahGRU                     []float32 // GRU: the hidden side's gate gradients differ in n
}

func (op *rnnGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	vals, err := op.inputs(in)
	if err != nil {
		return nil, err
	}
	xs, wih, whh, dy := vals[0], vals[1], vals[2], vals[3]
	st := &op.fwd.st
	cell := op.fwd.cell
	b, t, nin, h := st.b, st.t, st.in, st.h
	g := cell.Gates()
	gh := g * h
	if len(xs) != b*t*nin || len(wih) != gh*nin || len(whh) != gh*h {
		return nil, fmt.Errorf("%v: inputs do not match the forward run (batch %d, time %d)", op, b, t)
	}
	if (op.fwd.last && len(dy) != b*h) || (!op.fwd.last && len(dy) != b*t*h) {
		return nil, fmt.Errorf("%v: output gradient of %d values", op, len(dy))
	}
	w := &op.ws
	w.dax = grow(w.dax, t*b*gh)
	w.dah = w.dax
	if cell == GRUCell {
		w.dahGRU = grow(w.dahGRU, t*b*gh)
		w.dah = w.dahGRU
	}
	w.dh = grow(w.dh, b*h)
	w.dhn = grow(w.dhn, b*h)
	clear(w.dhn)
	w.dc = grow(w.dc, b*h)
	clear(w.dc)
	sgemm := gorgonia.WhichBLAS().Sgemm
	for s := t - 1; s >= 0; s-- {
		dh := w.dh
		copy(dh, w.dhn)
		switch {
		case op.fwd.last && s == t-1:
			for k := range dh {
				dh[k] += dy[k]
			}
		case !op.fwd.last:
			for i := 0; i < b; i++ {
				p := st.pos[s*b+i]
				if p < 0 {
					continue
				}
				row := dy[(i*t+p)*h : (i*t+p+1)*h]
				d := dh[i*h : (i+1)*h]
				for k := range d {
					d[k] += row[k]
				}
			}
		}
		a := st.acts[s*b*gh : (s+1)*b*gh]
		dax := w.dax[s*b*gh : (s+1)*b*gh]
		dah := w.dah[s*b*gh : (s+1)*b*gh]
		hcur := st.hs[(s+1)*b*h : (s+2)*b*h]
		hp := st.hs[s*b*h : (s+1)*b*h]
		switch cell {
		case TanhCell:
			for k := range dax {
				dax[k] = dh[k] * (1 - hcur[k]*hcur[k])
			}
			for i := 0; i < b; i++ {
				if st.pos[s*b+i] < 0 {
					clear(dax[i*h : (i+1)*h])
				}
			}
		case LSTMCell:
			cp := st.cs[s*b*h : (s+1)*b*h]
			tc := st.tc[s*b*h : (s+1)*b*h]
			for i := 0; i < b; i++ {
				row := a[i*gh : (i+1)*gh]
				drow := dax[i*gh : (i+1)*gh]
				if st.pos[s*b+i] < 0 {
					clear(drow) // the cell state passes through unchanged
					continue
				}
				for k := 0; k < h; k++ {
					j := i*h + k
					ig, fg, gg, og := row[k], row[h+k], row[2*h+k], row[3*h+k]
					tcv := tc[j]
					dhv := dh[j]
					dcc := w.dc[j] + dhv*og*(1-tcv*tcv)
					drow[k] = dcc * gg * ig * (1 - ig)
					drow[h+k] = dcc * cp[j] * fg * (1 - fg)
					drow[2*h+k] = dcc * ig * (1 - gg*gg)
					drow[3*h+k] = dhv * tcv * og * (1 - og)
					w.dc[j] = dcc * fg
				}
			}
		case GRUCell:
			hn := st.hn[s*b*h : (s+1)*b*h]
			for i := 0; i < b; i++ {
				row := a[i*gh : (i+1)*gh]
				dx := dax[i*gh : (i+1)*gh]
				dhr := dah[i*gh : (i+1)*gh]
				if st.pos[s*b+i] < 0 {
					clear(dx)
					clear(dhr)
					continue
				}
				for k := 0; k < h; k++ {
					j := i*h + k
					r, z, n := row[k], row[h+k], row[2*h+k]
					dhv := dh[j]
					dan := dhv * (1 - z) * (1 - n*n)
					dar := dan * hn[j] * r * (1 - r)
					daz := dhv * (hp[j] - n) * z * (1 - z)
					dx[k], dx[h+k], dx[2*h+k] = dar, daz, dan
					dhr[k], dhr[h+k], dhr[2*h+k] = dar, daz, dan*r
				}
			}
		}
		if s == 0 && op.fwd.nstate == 0 {
			break
		}
		beta := float32(0)
		if cell == GRUCell {
			for i := 0; i < b; i++ {
				z := a[i*gh+h : i*gh+2*h]
				for k := 0; k < h; k++ {
					w.dhn[i*h+k] = dh[i*h+k] * z[k]
				}
			}
			beta = 1
		}
		sgemm(blas.NoTrans, blas.NoTrans, b, h, gh, 1, dah, gh, whh, h, beta, w.dhn, h)
		for i := 0; i < b; i++ {
			if st.pos[s*b+i] < 0 { // the state passed through this step unchanged
				copy(w.dhn[i*h:(i+1)*h], dh[i*h:(i+1)*h])
			}
		}
	}
	out := op.out.get(op.shape)
	flat := out.Float32s()
	parts := op.split(flat)
	if parts[0] != nil {
		w.dxt = grow(w.dxt, t*b*nin)
		sgemm(blas.NoTrans, blas.NoTrans, t*b, nin, gh, 1, w.dax, gh, wih, nin, 0, w.dxt, nin)
		clear(parts[0])
		for i := 0; i < b; i++ {
			for s := 0; s < t; s++ {
				if p := st.pos[s*b+i]; p >= 0 {
					copy(parts[0][(i*t+p)*nin:(i*t+p+1)*nin], w.dxt[(s*b+i)*nin:(s*b+i+1)*nin])
				}
			}
		}
	}
	sgemm(blas.Trans, blas.NoTrans, gh, nin, t*b, 1, w.dax, gh, st.xt, nin, 0, parts[1], nin)
	sgemm(blas.Trans, blas.NoTrans, gh, h, t*b, 1, w.dah, gh, st.hs, h, 0, parts[2], h)
	colSums(parts[3], w.dax, gh)
	colSums(parts[4], w.dah, gh)
	if op.fwd.nstate > 0 {
		op.fwd.putState(parts[5], w.dhn, b, h) // the s = 0 step left dL/dh0 there
	}
	if op.fwd.nstate > 1 {
		op.fwd.putState(parts[6], w.dc, b, h) // and dL/dc0 = dc·f at s = 0
	}
	return out, nil
}

// colSums sets dst[j] = Σ_r m[r·cols+j].
func colSums(dst, m []float32, cols int) {
	clear(dst)
	for r := 0; r+cols <= len(m); r += cols {
		row := m[r : r+cols]
		for j, v := range row {
			dst[j] += v
		}
	}
}

// flatGrad is a gradient op that computes the gradients of several inputs
// in one pass and returns them concatenated into one vector, in input
// order (an input whose shape is nil gets none); picks adds one pickOp per
// gradient to read them out in their shapes.
type flatGrad struct {
	gradOp
	dims   []int // ranks of the op's inputs
	shapes []tensor.Shape
}

func newFlatGrad(label, id string, dims []int, shapes []tensor.Shape) flatGrad {
	total := 0
	for _, s := range shapes {
		if s != nil {
			total += s.TotalSize()
		}
	}
	return flatGrad{gradOp: newGradOp(label, id, len(dims), tensor.Shape{total}), dims: dims, shapes: shapes}
}

// Type is a function of tensors of the inputs' ranks to a vector.
func (op *flatGrad) Type() hm.Type {
	a := hm.TypeVariable('a')
	ts := make([]hm.Type, 0, len(op.dims)+1)
	for _, d := range op.dims {
		ts = append(ts, gorgonia.TensorType{Dims: d, Of: a})
	}
	ts = append(ts, gorgonia.TensorType{Dims: 1, Of: a})
	return hm.NewFnType(ts...)
}

// split returns the parts of flat, one per shape (nil for a nil shape).
func (op *flatGrad) split(flat []float32) [][]float32 {
	parts := make([][]float32, len(op.shapes))
	off := 0
	for i, s := range op.shapes {
		if s == nil {
			continue
		}
		n := s.TotalSize()
		parts[i] = flat[off : off+n]
		off += n
	}
	return parts
}

func (op *flatGrad) picks(g *gorgonia.Node) (gorgonia.Nodes, error) {
	nodes := make(gorgonia.Nodes, len(op.shapes))
	off := 0
	for i, s := range op.shapes {
		if s == nil {
			continue
		}
		p := &pickOp{off: off, shape: s.Clone()}
		p.base = base{label: fmt.Sprintf("pick[%d]", i), id: fmt.Sprintf("%s.pick%d", op.id, i)}
		n, err := gorgonia.ApplyOp(p, g)
		if err != nil {
			return nil, err
		}
		nodes[i] = n
		off += s.TotalSize()
	}
	return nodes, nil
}

// pickOp copies one gradient out of a flatGrad's vector.
type pickOp struct {
	base
	off   int
	shape tensor.Shape
	out   outputCache
}

func (*pickOp) Arity() int { return 1 }

func (op *pickOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(gorgonia.TensorType{Dims: 1, Of: a}, gorgonia.TensorType{Dims: len(op.shape), Of: a})
}

func (op *pickOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}

func (op *pickOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	x, err := float32Input(in)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", op, err)
	}
	xs := x.Float32s()
	n := op.shape.TotalSize()
	if len(xs) < op.off+n {
		return nil, fmt.Errorf("%v: %d values, want %d", op, len(xs), op.off+n)
	}
	out := op.out.get(op.shape)
	copy(out.Float32s(), xs[op.off:op.off+n])
	return out, nil
}

func (*pickOp) DiffWRT(int) []bool { return []bool{false} }

func (op *pickOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, fmt.Errorf("%v: no second derivative", op)
}
