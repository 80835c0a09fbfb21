package onnximport

// ONNX's RNN, GRU and LSTM operators onto graph.SimpleRNN, graph.GRU and
// graph.LSTM (PyTorch's formulas and weight layout): one direction
// (forward), zero initial state, the default activations, no clip, no
// peepholes, no sequence lengths. ONNX puts the sequence first, X (seq,
// batch, in), so the operators import in a model of fixed input shapes,
// where the batch is an ordinary axis: X is transposed to tapenet's
// (batch, seq, in) around the layer, and Y (seq, 1, batch, H) and Y_h (1,
// batch, H) are rebuilt from the layer's (batch, seq, H) states.

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
	if err := nc.allow("hidden_size", "direction", "activations", "linear_before_reset", "input_forget", "layout", "clip"); err != nil {
		return err
	}
	if err := nc.inputs(3, 8); err != nil {
		return err
	}
	if err := rnnAttrs(nc, form); err != nil {
		return err
	}
	if nc.input(4) != nil {
		return unsupported("%s with sequence_lens (every sequence runs its whole length)", op)
	}
	for k, what := range map[int]string{5: "initial_h", 6: "initial_c", 7: "P (peepholes)"} {
		if v := nc.input(k); v != nil && (v.c == nil || v.c.dt != tFloat || slices.ContainsFunc(v.c.f, func(f float32) bool { return f != 0 })) {
			return unsupported("%s with a non-zero %s (tapenet's layers start from a zero state, without peepholes)", op, what)
		}
	}
	if op == "LSTM" && len(nc.n.Output) > 2 && nc.n.Output[2] != "" && nc.im.used[nc.n.Output[2]] {
		return unsupported("LSTM output Y_c (the final cell state)")
	}
	if !nc.im.fixed {
		return unsupported("%s over a symbolic batch: ONNX puts the sequence first, so tapenet imports it in a model of fixed input shapes", op)
	}
	x, err := nc.tensorIn(0)
	if err != nil {
		return err
	}
	xb := x.Batch()
	if xb < 1 || len(x.Shape()) != 2 {
		return fmt.Errorf("input X of shape %v: want (seq, batch, features) of fixed sizes", fullShape(x))
	}
	seq, batch, in := xb, x.Shape()[0], x.Shape()[1]
	hidden64, err := nc.attrInt("hidden_size", 0)
	if err != nil {
		return err
	}
	h := int(hidden64)
	w, err := rnnWeight(nc, 1, "W", form, h, in)
	if err != nil {
		return err
	}
	r, err := rnnWeight(nc, 2, "R", form, h, h)
	if err != nil {
		return err
	}
	gh := form.gates * h
	bih, bhh := param{local: "bias_ih", shape: []int{gh}, values: make([]float32, gh)}, param{local: "bias_hh", shape: []int{gh}, values: make([]float32, gh)}
	if nc.input(3) != nil {
		c, err := nc.constIn(3, "B")
		if err != nil {
			return err
		}
		if c.dt != tFloat || !slices.Equal(c.shape, []int{1, 2 * gh}) {
			return fmt.Errorf("input B of %s %v: want float (1, %d)", typeName(c.dt), c.shape, 2*gh)
		}
		bih.values = reorderGates(c.f[:gh], form)
		bhh.values = reorderGates(c.f[gh:], form)
		bih.source, bhh.source = c.init, c.init
	}
	// (seq, batch, in) -> (batch, seq, in), the layer, and back.
	xt, err := nc.apply(&Op{Op: "Transpose", Opset: nc.opset, Ints: map[string][]int64{"perm": {1, 0, 2}}, Inputs: []string{""}}, nil, x)
	if err != nil {
		return err
	}
	states, err := nc.apply(form.layer(h), []param{w, r, bih, bhh}, xt)
	if err != nil {
		return err
	}
	if nc.n.Output[0] != "" {
		yt, err := nc.apply(&Op{Op: "Transpose", Opset: nc.opset, Ints: map[string][]int64{"perm": {1, 0, 2}}, Inputs: []string{""}}, nil, states)
		if err != nil {
			return err
		}
		y, err := nc.apply(reshapeOp(nc, seq, 1, batch, h), nil, yt)
		if err != nil {
			return err
		}
		if err := nc.out(0, &value{t: y}); err != nil {
			return err
		}
	}
	if len(nc.n.Output) > 1 && nc.n.Output[1] != "" {
		last := &Op{Op: "Gather", Opset: nc.opset, Ints: map[string][]int64{"axis": {1}}, Inputs: []string{"", "const"},
			Consts: []OpConst{{DType: graph.Int64, Shape: []int{1}, I: []int64{int64(seq - 1)}}}}
		hl, err := nc.apply(last, nil, states) // (batch, 1, H)
		if err != nil {
			return err
		}
		yh, err := nc.apply(&Op{Op: "Transpose", Opset: nc.opset, Ints: map[string][]int64{"perm": {1, 0, 2}}, Inputs: []string{""}}, nil, hl)
		if err != nil {
			return err
		}
		if err := nc.out(1, &value{t: yh}); err != nil {
			return err
		}
	}
	return nil
}

// reshapeOp returns an onnx-op Reshape to the given shape.
func reshapeOp(nc *nodeCtx, shape ...int) *Op {
	s := make([]int64, len(shape))
	for i, d := range shape {
		s[i] = int64(d)
	}
	return &Op{Op: "Reshape", Opset: nc.opset, Inputs: []string{"", "const"}, Consts: []OpConst{{DType: graph.Int64, Shape: []int{len(s)}, I: s}}}
}

// rnnAttrs checks the attributes: one forward direction, the default
// activations, no clip, batch-second layout, PyTorch's GRU form.
func rnnAttrs(nc *nodeCtx, form rnnForm) error {
	op := nc.n.OpType
	dir, err := nc.attrString("direction", "forward")
	if err != nil {
		return err
	}
	if dir != "forward" {
		return unsupported("%s direction %q (only forward)", op, dir)
	}
	if a, ok := nc.attrs["activations"]; ok {
		var acts []string
		for _, s := range a.Strings {
			acts = append(acts, string(s))
		}
		if !slices.Equal(acts, form.activations) {
			return unsupported("%s activations %v (only the default %v)", op, acts, form.activations)
		}
	}
	if _, ok := nc.attrs["clip"]; ok {
		return unsupported("%s with clip", op)
	}
	layout, err := nc.attrInt("layout", 0)
	if err != nil {
		return err
	}
	if layout != 0 {
		return unsupported("%s layout=%d (only 0, sequence first)", op, layout)
	}
	if op == "LSTM" {
		f, err := nc.attrInt("input_forget", 0)
		if err != nil {
			return err
		}
		if f != 0 {
			return unsupported("LSTM input_forget=%d", f)
		}
	}
	if op == "GRU" {
		lbr, err := nc.attrInt("linear_before_reset", 0)
		if err != nil {
			return err
		}
		if lbr != 1 {
			return unsupported("GRU linear_before_reset=%d (tapenet's GRU is PyTorch's, linear_before_reset=1)", lbr)
		}
	}
	if _, ok := nc.attrs["hidden_size"]; !ok {
		return fmt.Errorf("%s without hidden_size", op)
	}
	return nil
}

// rnnWeight reads W (input 1) or R (input 2), (1, G·H, cols), as a
// (G·H, cols) parameter in PyTorch's gate order.
func rnnWeight(nc *nodeCtx, k int, what string, form rnnForm, h, cols int) (param, error) {
	c, err := nc.constIn(k, what)
	if err != nil {
		return param{}, err
	}
	want := []int{1, form.gates * h, cols}
	if h < 1 || c.dt != tFloat || !slices.Equal(c.shape, want) {
		return param{}, fmt.Errorf("input %s of %s %v: want float %v (hidden_size %d)", what, typeName(c.dt), c.shape, want, h)
	}
	local := map[string]string{"W": "weight_ih", "R": "weight_hh"}[what]
	return param{local: local, shape: want[1:], values: reorderGates(c.f, form), source: c.init}, nil
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
