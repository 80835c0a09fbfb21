package onnximport

// ONNX's RNN, GRU and LSTM operators onto graph.SimpleRNN, graph.GRU and
// graph.LSTM (PyTorch's formulas and weight layout): forward, reverse and
// bidirectional (one layer per direction; the reverse one runs over the
// sequence reversed in time), initial states (initial_h, initial_c; zeros
// are no input), sequence_lens (every sequence its whole length, or, for
// a forward operator of which one of Y and Y_h is read, shorter ones: the
// layers' lengths input, as PyTorch's packed sequences),
// layout 0 (sequence first) and 1 (batch first), the outputs Y, Y_h, Y_c,
// the default activations, GRU's linear_before_reset=1 (PyTorch's GRU).
// Refused, naming the node: other activations, clip, peepholes,
// input_forget, other shorter sequences and GRU's linear_before_reset=0. An LSTM
// whose Y_c is read becomes LSTMState layers, which also return the cell
// state.
//
// The layers work on (batch, seq, features). In a model of fixed input
// shapes the batch is an ordinary axis, so X (seq, batch, in) is
// transposed to (batch, seq, in) and Y (seq, dirs, batch, H) and Y_h
// (dirs, batch, H) are rebuilt from the layers' states. With a symbolic
// batch X comes with its batch moved to axis 1 (rnn_batch.go: the
// Transpose PyTorch puts before the operator), and Y and Y_h leave the
// same way for the Squeeze, Transpose and Reshape that follow.

import (
	"fmt"
	"slices"

	"github.com/tapenet/tapenet/graph"
)

// rnnForm describes one recurrent operator.
type rnnForm struct {
	gates       int
	activations []string
	order       []int // PyTorch's gate blocks as indices of ONNX's
	layer       func(units int) graph.Layer
}

var rnnForms = map[string]rnnForm{
	"RNN": {gates: 1, activations: []string{"Tanh"}, layer: func(u int) graph.Layer { return &graph.SimpleRNN{Units: u, Sequences: true} }},
	// ONNX i, o, f, c; PyTorch i, f, g(=c), o.
	"LSTM": {gates: 4, activations: []string{"Sigmoid", "Tanh", "Tanh"}, order: []int{0, 2, 3, 1}, layer: func(u int) graph.Layer { return &graph.LSTM{Units: u, Sequences: true} }},
	// ONNX z, r, h; PyTorch r, z, n.
	"GRU": {gates: 3, activations: []string{"Sigmoid", "Tanh"}, order: []int{1, 0, 2}, layer: func(u int) graph.Layer { return &graph.GRU{Units: u, Sequences: true} }},
}

func recurrent(nc *nodeCtx) error {
	op := nc.n.OpType
	form := rnnForms[op]
	if err := nc.allow("hidden_size", "direction", "activations", "activation_alpha", "activation_beta", "linear_before_reset", "input_forget", "layout", "clip"); err != nil {
		return err
	}
	if err := nc.inputs(3, 8); err != nil {
		return err
	}
	dirs, layout, err := rnnAttrs(nc, form)
	if err != nil {
		return err
	}
	// Y_c read: LSTMState layers, which also return the cell state.
	yc := op == "LSTM" && len(nc.n.Output) > 2 && nc.n.Output[2] != "" && nc.im.used[nc.n.Output[2]]
	if v := nc.input(7); v != nil && !zeroValue(v) {
		return unsupported("LSTM with peepholes (input P; tapenet's LSTM has none)")
	}
	hidden64, err := nc.attrInt("hidden_size", 0)
	if err != nil {
		return err
	}
	h := int(hidden64)
	// ONNX's batch is at axis 1 (layout 0) or 0 (layout 1) of X, Y_h and
	// the initial states, at axis 2 or 0 of Y.
	bpos := 1 - int(layout)
	x, err := rnnInternal(nc, 0, bpos, "X") // (batch, seq, in)
	if err != nil {
		return err
	}
	if len(x.Shape()) != 2 {
		return fmt.Errorf("input X of shape %v: want rank 3", fullShape(x))
	}
	seq, in := x.Shape()[0], x.Shape()[1]
	lens, err := seqLens(nc, seq)
	if err != nil {
		return err
	}
	d := len(dirs)
	// The weights: initializers become the layers' parameters; weights
	// computed by the model (in a model of fixed shapes) are the inputs
	// of Recurrent layers.
	var ps [][]param
	var wts [][4]*graph.Tensor
	if runtimeWeights(nc) && nc.im.fixed {
		if yc {
			return unsupported("LSTM output Y_c with weights computed by the model (only with initializers)")
		}
		if wts, err = tensorWeights(nc, form, d, h, in); err != nil {
			return err
		}
	} else if ps, err = paramWeights(nc, form, d, h, in); err != nil {
		return err
	}
	var init [2]*graph.Tensor // initial_h, initial_c as (batch, dirs, H); nil: zeros
	for k, what := range []string{"initial_h", "initial_c"} {
		v := nc.input(5 + k)
		if v == nil || zeroValue(v) {
			continue
		}
		if init[k], err = rnnInternal(nc, 5+k, bpos, what); err != nil {
			return err
		}
		if !slices.Equal(init[k].Shape(), []int{d, h}) {
			return fmt.Errorf("input %s of shape %v: want %d directions of %d", what, fullShape(init[k]), d, h)
		}
	}
	if lens != nil {
		return withLengths(nc, form, h, dirs, ps, x, lens, init, bpos, yc)
	}
	var states, lasts, cells []*graph.Tensor // per direction, (batch, seq, H), (batch, H) and (batch, H)
	for k, reverse := range dirs {
		var st [2]*graph.Tensor
		for j, s := range init {
			if s == nil {
				continue
			}
			if st[j], err = nc.apply(&Gather{Axis: 0, Indices: []int{k}, Scalar: true}, nil, s); err != nil {
				return err
			}
		}
		var y, last, cell *graph.Tensor
		switch {
		case wts != nil:
			y, last, cell, err = runDirection(nc, &Recurrent{Cell: rnnCells[op]}, nil, wts[k][:], x, reverse, st[0], st[1])
		case yc:
			y, last, cell, err = runDirection(nc, &LSTMState{Units: h}, ps[k], nil, x, reverse, st[0], st[1])
		default:
			y, last, cell, err = runDirection(nc, form.layer(h), ps[k], nil, x, reverse, st[0], st[1])
		}
		if err != nil {
			return err
		}
		states, lasts, cells = append(states, y), append(lasts, last), append(cells, cell)
	}
	if nc.n.Output[0] != "" {
		// Y: (seq, dirs, batch, H), or (batch, seq, dirs, H) in layout 1.
		y, err := joinDirections(nc, states, 1, []int{seq, d, h})
		if err != nil {
			return err
		}
		if err := rnnOut(nc, 0, y, 2*bpos); err != nil {
			return err
		}
	}
	if len(nc.n.Output) > 1 && nc.n.Output[1] != "" {
		// Y_h: (dirs, batch, H), or (batch, dirs, H) in layout 1.
		yh, err := joinDirections(nc, lasts, 0, []int{d, h})
		if err != nil {
			return err
		}
		if err := rnnOut(nc, 1, yh, bpos); err != nil {
			return err
		}
	}
	if yc {
		// Y_c: as Y_h.
		c, err := joinDirections(nc, cells, 0, []int{d, h})
		if err != nil {
			return err
		}
		if err := rnnOut(nc, 2, c, bpos); err != nil {
			return err
		}
	}
	return nil
}

// runDirection runs one direction's layer over x (batch, seq, in) from
// the initial states h0 and c0 ((batch, H), nil for zeros), returning
// every state in time order, the last one computed and, for an
// LSTMState layer, the final cell state (else nil). The layer has its
// parameters ps, or takes its weights ws as inputs after x.
func runDirection(nc *nodeCtx, l graph.Layer, ps []param, ws []*graph.Tensor, x *graph.Tensor, reverse bool, h0, c0 *graph.Tensor) (y, last, cell *graph.Tensor, err error) {
	seq := x.Shape()[0]
	back := make([]int, seq)
	for k := range back {
		back[k] = seq - 1 - k
	}
	reverse = reverse && seq > 1
	if reverse {
		if x, err = nc.apply(&Gather{Axis: 0, Indices: back}, nil, x); err != nil {
			return nil, nil, nil, err
		}
	}
	if c0 != nil && h0 == nil {
		if h0, err = nc.apply(&Fill{Shape: c0.Shape(), Value: 0}, nil, c0); err != nil {
			return nil, nil, nil, err
		}
	}
	ins := append([]*graph.Tensor{x}, ws...)
	if h0 != nil {
		ins = append(ins, h0)
	}
	if c0 != nil {
		ins = append(ins, c0)
	}
	if y, err = nc.apply(l, ps, ins...); err != nil {
		return nil, nil, nil, err
	}
	if _, ok := l.(*LSTMState); ok {
		// (batch, seq+1, H): the states, then the cell state.
		if cell, err = nc.apply(&Gather{Axis: 0, Indices: []int{seq}, Scalar: true}, nil, y); err != nil {
			return nil, nil, nil, err
		}
		if y, err = nc.apply(&Slice{Begin: []int{0, 0}, Size: []int{seq, y.Shape()[1]}}, nil, y); err != nil {
			return nil, nil, nil, err
		}
	}
	if last, err = nc.apply(&Gather{Axis: 0, Indices: []int{seq - 1}, Scalar: true}, nil, y); err != nil {
		return nil, nil, nil, err
	}
	if reverse {
		if y, err = nc.apply(&Gather{Axis: 0, Indices: back}, nil, y); err != nil {
			return nil, nil, nil, err
		}
	}
	return y, last, cell, nil
}

// joinDirections concatenates the directions' tensors along a sample
// axis and gives each sample the shape.
func joinDirections(nc *nodeCtx, ts []*graph.Tensor, axis int, shape []int) (*graph.Tensor, error) {
	t := ts[0]
	if len(ts) > 1 {
		var err error
		if t, err = nc.apply(&graph.Concat{Axis: axis}, nil, ts...); err != nil {
			return nil, err
		}
	}
	return nc.apply(&graph.Reshape{Shape: shape}, nil, t)
}

// zeroValue reports whether a value is known to be all zeros.
func zeroValue(v *value) bool {
	switch {
	case v.moved != nil:
		return v.moved.zero
	case v.c != nil:
		return v.c.dt == tFloat && !v.c.hasSym() && !slices.ContainsFunc(v.c.f, func(f float32) bool { return f != 0 })
	}
	return false
}

// rnnInternal returns input k, an ONNX tensor of rank 3 whose batch is at
// axis bpos (0 or 1), as a tensor with the batch first. In a model of
// fixed shapes the batch is an ordinary axis, moved by a transposition;
// with a symbolic batch the tensor must come with its batch there (a
// Transpose of a batch-first tensor, or a ConstantOfShape).
func rnnInternal(nc *nodeCtx, k, bpos int, what string) (*graph.Tensor, error) {
	v := nc.input(k)
	if nc.im.fixed {
		t := v.t
		if v.c != nil {
			if v.c.dt != tFloat || len(v.c.shape) != 3 || v.c.hasSym() {
				return nil, fmt.Errorf("input %s %v: want float of rank 3", what, v.c)
			}
			var err error
			if t, err = constOutput(v.c, nc.im.first); err != nil {
				return nil, err
			}
		}
		if t == nil || len(t.Shape()) != 2 {
			return nil, fmt.Errorf("input %s: want a tensor of rank 3", what)
		}
		if bpos == 0 {
			return t, nil
		}
		return nc.apply(&Op{Op: "Transpose", Opset: nc.opset, Ints: map[string][]int64{"perm": {1, 0, 2}}, Inputs: []string{""}}, nil, t)
	}
	switch {
	case v.moved != nil && v.moved.axis == bpos:
		return v.moved.t, nil
	case v.moved != nil:
		return nil, unsupported("input %s with its batch at axis %d (want %d; %s moved it there)", what, v.moved.axis, bpos, v.moved.from)
	case v.t != nil && bpos == 0:
		return v.t, nil
	case v.t != nil:
		return nil, unsupported("input %s whose axis 0 is the model's symbolic batch: ONNX's batch of %s is axis 1, its axis 0 the sequence (a sequence-first model imports with fixed input shapes)", what, what)
	}
	return nil, unsupported("a constant %s in a model of a symbolic batch (its batch size would be fixed)", what)
}

// rnnOut sets output k to t (batch first) with the batch moved to axis
// bpos of the ONNX tensor.
func rnnOut(nc *nodeCtx, k int, t *graph.Tensor, bpos int) error {
	if !nc.im.fixed || bpos == 0 {
		return nc.out(k, movedValue(t, bpos, nodeLabel(nc)))
	}
	perm := make([]int64, len(t.Shape())+1)
	for j := range perm {
		switch {
		case j < bpos:
			perm[j] = int64(j + 1)
		case j > bpos:
			perm[j] = int64(j)
		}
	}
	y, err := nc.apply(&Op{Op: "Transpose", Opset: nc.opset, Ints: map[string][]int64{"perm": perm}, Inputs: []string{""}}, nil, t)
	if err != nil {
		return err
	}
	return nc.out(k, &value{t: y})
}

// seqLens returns sequence_lens as a tensor of lengths, or nil when it is
// absent or every sequence runs its whole length.
func seqLens(nc *nodeCtx, seq int) (*graph.Tensor, error) {
	v := nc.input(4)
	switch {
	case v == nil:
		return nil, nil
	case v.moved != nil:
		return nil, unsupported("%s with sequence_lens whose batch is at axis %d", nc.n.OpType, v.moved.axis)
	case v.t != nil:
		if dt := v.t.DType().Or(); (dt != graph.Int32 && dt != graph.Int64) || len(v.t.Shape()) != 0 {
			return nil, fmt.Errorf("sequence_lens of %s %v: want int32 lengths (batch)", dt, fullShape(v.t))
		}
		return v.t, nil
	}
	lens, err := v.c.ints()
	if err != nil || v.c.hasSym() || len(v.c.shape) != 1 {
		return nil, fmt.Errorf("sequence_lens %v: want a vector of int32 lengths", v.c)
	}
	full := true
	for _, n := range lens {
		if n < 1 || n > int64(seq) {
			return nil, fmt.Errorf("sequence_lens %v: lengths from 1 to the %d steps", lens, seq)
		}
		full = full && n == int64(seq)
	}
	if full {
		return nil, nil
	}
	if !nc.im.fixed {
		return nil, unsupported("%s with constant sequence_lens %v in a model of a symbolic batch (their number fixes the batch size)", nc.n.OpType, lens)
	}
	return constOutput(v.c, nc.im.first)
}

// withLengths converts a forward operator whose sequences are shorter
// than X (sequence_lens): the layer takes the lengths as its last input,
// as PyTorch's packed sequences, outputting zeros past each sequence's
// length and, for the last state, the state at its last step. One of Y
// and Y_h is read (a layer gives either).
func withLengths(nc *nodeCtx, form rnnForm, h int, dirs []bool, ps [][]param, x, lens *graph.Tensor, init [2]*graph.Tensor, bpos int, yc bool) error {
	op := nc.n.OpType
	used := func(k int) bool { return len(nc.n.Output) > k && nc.n.Output[k] != "" && nc.im.used[nc.n.Output[k]] }
	switch {
	case len(dirs) != 1 || dirs[0]:
		return unsupported("%s direction reverse or bidirectional with sequence_lens shorter than the sequence (only forward)", op)
	case ps == nil:
		return unsupported("%s with sequence_lens shorter than the sequence and weights computed by the model", op)
	case yc:
		return unsupported("LSTM output Y_c with sequence_lens shorter than the sequence")
	case used(0) && used(1):
		return unsupported("%s outputs Y and Y_h both read, with sequence_lens shorter than the sequence (one of them)", op)
	}
	ins := []*graph.Tensor{x}
	if init[0] != nil || init[1] != nil {
		for j, s := range init {
			if s == nil && j == 0 {
				var err error
				if s, err = nc.apply(&Fill{Shape: []int{1, h}, Value: 0}, nil, init[1]); err != nil {
					return err
				}
			}
			if s == nil {
				continue
			}
			one, err := nc.apply(&Gather{Axis: 0, Indices: []int{0}, Scalar: true}, nil, s)
			if err != nil {
				return err
			}
			ins = append(ins, one)
		}
	}
	ins = append(ins, lens)
	seq := x.Shape()[0]
	if used(1) {
		l := map[string]graph.Layer{"RNN": &graph.SimpleRNN{Units: h}, "GRU": &graph.GRU{Units: h}, "LSTM": &graph.LSTM{Units: h}}[op]
		last, err := nc.apply(l, ps[0], ins...) // (batch, H)
		if err != nil {
			return err
		}
		yh, err := nc.apply(&graph.Reshape{Shape: []int{1, h}}, nil, last)
		if err != nil {
			return err
		}
		return rnnOut(nc, 1, yh, bpos)
	}
	y, err := nc.apply(form.layer(h), ps[0], ins...)
	if err != nil {
		return err
	}
	if y, err = nc.apply(&graph.Reshape{Shape: []int{seq, 1, h}}, nil, y); err != nil {
		return err
	}
	return rnnOut(nc, 0, y, 2*bpos)
}

// rnnAttrs checks the attributes and returns the directions (reverse or
// not, in ONNX's order) and the layout: the default activations, no clip,
// PyTorch's GRU form.
func rnnAttrs(nc *nodeCtx, form rnnForm) ([]bool, int64, error) {
	op := nc.n.OpType
	dir, err := nc.attrString("direction", "forward")
	if err != nil {
		return nil, 0, err
	}
	dirs, ok := map[string][]bool{"forward": {false}, "reverse": {true}, "bidirectional": {false, true}}[dir]
	if !ok {
		return nil, 0, fmt.Errorf("direction %q (want forward, reverse or bidirectional)", dir)
	}
	if a, ok := nc.attrs["activations"]; ok {
		var acts []string
		for _, s := range a.Strings {
			acts = append(acts, string(s))
		}
		want := form.activations
		if len(dirs) == 2 {
			want = slices.Concat(want, want)
		}
		if !slices.Equal(acts, want) {
			return nil, 0, unsupported("%s activations %v (only the default %v)", op, acts, want)
		}
	}
	for _, name := range []string{"activation_alpha", "activation_beta"} {
		if _, ok := nc.attrs[name]; ok {
			return nil, 0, unsupported("%s with %s (only the default activations)", op, name)
		}
	}
	if _, ok := nc.attrs["clip"]; ok {
		return nil, 0, unsupported("%s with clip (tapenet's layers do not clip the gates)", op)
	}
	layout, err := nc.attrInt("layout", 0)
	if err != nil {
		return nil, 0, err
	}
	if layout != 0 && layout != 1 {
		return nil, 0, fmt.Errorf("layout=%d (want 0 or 1)", layout)
	}
	if layout != 0 && nc.opset < 14 {
		return nil, 0, fmt.Errorf("layout=%d in opset %d (the attribute exists from opset 14)", layout, nc.opset)
	}
	if op == "LSTM" {
		f, err := nc.attrInt("input_forget", 0)
		if err != nil {
			return nil, 0, err
		}
		if f != 0 {
			return nil, 0, unsupported("LSTM input_forget=%d (coupled input and forget gates)", f)
		}
	}
	if op == "GRU" {
		lbr, err := nc.attrInt("linear_before_reset", 0)
		if err != nil {
			return nil, 0, err
		}
		if lbr != 1 {
			return nil, 0, unsupported("GRU linear_before_reset=%d (tapenet's GRU is PyTorch's, linear_before_reset=1)", lbr)
		}
	}
	if _, ok := nc.attrs["hidden_size"]; !ok {
		return nil, 0, fmt.Errorf("%s without hidden_size", op)
	}
	return dirs, layout, nil
}

// runtimeWeights reports whether W, R or B is computed by the model.
func runtimeWeights(nc *nodeCtx) bool {
	for k := 1; k <= 3; k++ {
		if v := nc.input(k); v != nil && v.c == nil {
			return true
		}
	}
	return false
}

// paramWeights reads W, R and B, initializers, as each direction's
// parameters weight_ih, weight_hh, bias_ih and bias_hh.
func paramWeights(nc *nodeCtx, form rnnForm, d, h, in int) ([][]param, error) {
	w, err := rnnWeights(nc, 1, "W", form, d, h, in)
	if err != nil {
		return nil, err
	}
	r, err := rnnWeights(nc, 2, "R", form, d, h, h)
	if err != nil {
		return nil, err
	}
	bih, bhh, err := rnnBiases(nc, form, d, h)
	if err != nil {
		return nil, err
	}
	ps := make([][]param, d)
	for k := range ps {
		ps[k] = []param{w[k], r[k], bih[k], bhh[k]}
	}
	return ps, nil
}

// rnnWeights reads W (input 1) or R (input 2), (dirs, G·H, cols), as one
// (G·H, cols) parameter per direction in PyTorch's gate order.
func rnnWeights(nc *nodeCtx, k int, what string, form rnnForm, dirs, h, cols int) ([]param, error) {
	c, err := nc.constIn(k, what)
	if err != nil {
		return nil, err
	}
	want := []int{dirs, form.gates * h, cols}
	if h < 1 || c.dt != tFloat || !slices.Equal(c.shape, want) {
		return nil, fmt.Errorf("input %s of %s %v: want float %v (hidden_size %d)", what, typeName(c.dt), c.shape, want, h)
	}
	local := map[string]string{"W": "weight_ih", "R": "weight_hh"}[what]
	n := form.gates * h * cols
	var ps []param
	for d := range dirs {
		ps = append(ps, param{local: local, shape: want[1:], values: reorderGates(c.f[d*n:(d+1)*n], form), source: dirSource(c.init, d)})
	}
	return ps, nil
}

// rnnBiases reads B (input 3), (dirs, 2·G·H), as bias_ih and bias_hh per
// direction (zeros when absent).
func rnnBiases(nc *nodeCtx, form rnnForm, dirs, h int) (bih, bhh []param, err error) {
	gh := form.gates * h
	var c *constant
	if nc.input(3) != nil {
		if c, err = nc.constIn(3, "B"); err != nil {
			return nil, nil, err
		}
		if c.dt != tFloat || !slices.Equal(c.shape, []int{dirs, 2 * gh}) {
			return nil, nil, fmt.Errorf("input B of %s %v: want float (%d, %d)", typeName(c.dt), c.shape, dirs, 2*gh)
		}
	}
	for d := range dirs {
		i := param{local: "bias_ih", shape: []int{gh}, values: make([]float32, gh)}
		hh := param{local: "bias_hh", shape: []int{gh}, values: make([]float32, gh)}
		if c != nil {
			row := c.f[d*2*gh : (d+1)*2*gh]
			i.values, hh.values = reorderGates(row[:gh], form), reorderGates(row[gh:], form)
			i.source, hh.source = dirSource(c.init, d), dirSource(c.init, d)
		}
		bih, bhh = append(bih, i), append(bhh, hh)
	}
	return bih, bhh, nil
}

// dirSource is the source key of direction d's part of an initializer: the
// initializer's name for the first, a name of its own for the reverse one
// (one initializer is the parameters of two layers).
func dirSource(init string, d int) string {
	if init == "" || d == 0 {
		return init
	}
	return fmt.Sprintf("%s[direction %d]", init, d)
}

// reorderGates returns v, G blocks of gates, in PyTorch's order.
func reorderGates(v []float32, form rnnForm) []float32 {
	if form.order == nil {
		return slices.Clone(v)
	}
	n := len(v) / form.gates
	out := make([]float32, 0, len(v))
	for _, g := range form.order {
		out = append(out, v[g*n:(g+1)*n]...)
	}
	return out
}
