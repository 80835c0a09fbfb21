package onnximport

import (
	"fmt"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/ops"
)

// Recurrent is one direction of an ONNX RNN, GRU or LSTM whose weights
// are tensors computed by the model (graph inputs, as ONNX's node tests
// give them) rather than initializers: the fused recurrent op of
// graph.SimpleRNN, graph.GRU and graph.LSTM (ops.RecurrentFrom) on its
// inputs x (batch, seq, in), weight_ih (G·H, in), weight_hh (G·H, H),
// bias_ih and bias_hh (G·H), in PyTorch's gate order, and optionally h0
// and, for an LSTM, c0 (batch, H). It returns every step's state (batch,
// seq, H). The importer uses it only in models of fixed input shapes,
// where the weights are tensors like the others; it does not export to
// ONNX.
type Recurrent struct {
	// Cell is "rnn" (tanh), "gru" or "lstm".
	Cell string `json:"cell"`
}

// Kind returns "onnx-recurrent".
func (*Recurrent) Kind() string { return "onnx-recurrent" }

func (l *Recurrent) cell() (ops.Cell, error) {
	switch l.Cell {
	case "rnn":
		return ops.TanhCell, nil
	case "gru":
		return ops.GRUCell, nil
	case "lstm":
		return ops.LSTMCell, nil
	}
	return 0, fmt.Errorf("onnx-recurrent: cell %q (want rnn, gru or lstm)", l.Cell)
}

// Forward refuses: the layer takes its weights as inputs.
func (l *Recurrent) Forward(s *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return l.Merge(s, []*gorgonia.Node{x})
}

// Merge adds the recurrent op on x, the weights and the initial states.
func (l *Recurrent) Merge(_ *graph.Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	cell, err := l.cell()
	if err != nil {
		return nil, err
	}
	if len(xs) < 5 || len(xs) > 7 || (len(xs) == 7 && cell != ops.LSTMCell) {
		return nil, fmt.Errorf("onnx-recurrent: %d inputs, want x, the 4 weights and up to %d initial states", len(xs), map[bool]int{true: 2, false: 1}[cell == ops.LSTMCell])
	}
	if len(xs) == 5 {
		return ops.Recurrent(cell, xs[0], xs[1], xs[2], xs[3], xs[4], false)
	}
	var c0 *gorgonia.Node
	if len(xs) == 7 {
		c0 = xs[6]
	}
	return ops.RecurrentFrom(cell, xs[0], xs[1], xs[2], xs[3], xs[4], xs[5], c0, false)
}

// rnnCells names the cells of the operators for Recurrent.
var rnnCells = map[string]string{"RNN": "rnn", "GRU": "gru", "LSTM": "lstm"}

// tensorWeights returns, per direction, weight_ih, weight_hh, bias_ih and
// bias_hh as tensors in PyTorch's gate order, from W (dirs, G·H, in), R
// (dirs, G·H, H) and B (dirs, 2·G·H) of which at least one is a tensor (a
// model of fixed shapes: the batch is an ordinary axis).
func tensorWeights(nc *nodeCtx, form rnnForm, dirs, h, in int) ([][4]*graph.Tensor, error) {
	gh := form.gates * h
	var src [3]*graph.Tensor
	for k, want := range [][]int{{dirs, gh, in}, {dirs, gh, h}, {dirs, 2 * gh}} {
		v := nc.input(1 + k)
		var err error
		switch {
		case v == nil: // B absent: zeros
			c := newConstant(tFloat, want)
			src[k], err = constOutput(c, nc.im.first)
		case v.c != nil:
			if v.c.dt != tFloat || v.c.hasSym() {
				return nil, fmt.Errorf("input %d of %v: want float", 1+k, v.c)
			}
			src[k], err = constOutput(v.c, nc.im.first)
		default:
			src[k] = v.t
		}
		if err != nil {
			return nil, err
		}
		if src[k] == nil || src[k].Batch() != dirs || !slices.Equal(src[k].Shape(), want[1:]) {
			return nil, fmt.Errorf("input %s of shape %v: want %v (hidden_size %d)", []string{"W", "R", "B"}[k], fullShape(src[k]), want, h)
		}
	}
	// rows lists the rows of a G·H block in PyTorch's gate order, from
	// offset off.
	rows := func(off int) []int64 {
		order := form.order
		if order == nil {
			order = []int{0}
		}
		var r []int64
		for _, g := range order {
			for i := range h {
				r = append(r, int64(off+g*h+i))
			}
		}
		return r
	}
	out := make([][4]*graph.Tensor, dirs)
	for d := range dirs {
		parts := []struct {
			t     *graph.Tensor
			rows  []int64
			shape []int64
		}{
			{src[0], rows(0), []int64{int64(gh), int64(in)}},
			{src[1], rows(0), []int64{int64(gh), int64(h)}},
			{src[2], rows(0), []int64{int64(gh)}},
			{src[2], rows(gh), []int64{int64(gh)}},
		}
		for k, p := range parts {
			one, err := nc.apply(opGather(nc, 0, []int64{int64(d)}), nil, p.t) // (1, ...)
			if err != nil {
				return nil, err
			}
			picked, err := nc.apply(opGather(nc, 1, p.rows), nil, one)
			if err != nil {
				return nil, err
			}
			if out[d][k], err = nc.apply(opReshape(nc, p.shape), nil, picked); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// opGather is an onnx-op Gather of the indices along axis.
func opGather(nc *nodeCtx, axis int64, indices []int64) *Op {
	return &Op{Op: "Gather", Opset: nc.opset, Ints: map[string][]int64{"axis": {axis}}, Inputs: []string{"", "const"},
		Consts: []OpConst{{DType: graph.Int64, Shape: []int{len(indices)}, I: indices}}}
}

// opReshape is an onnx-op Reshape to shape.
func opReshape(nc *nodeCtx, shape []int64) *Op {
	return &Op{Op: "Reshape", Opset: nc.opset, Inputs: []string{"", "const"}, Consts: []OpConst{{DType: graph.Int64, Shape: []int{len(shape)}, I: shape}}}
}

// LSTMState is graph.LSTM (the same parameters) that also returns the
// final cell state, for an ONNX LSTM whose output Y_c the model reads:
// output (batch, seq+1, Units), every step's hidden state then the cell
// state after the last step. The hidden states come from the fused op
// (ops.RecurrentFrom); the cell state is recomputed from them with the
// gates i, f and g of each step (c_t = f_t·c_{t-1} + i_t·g_t), nodes that
// the tape machine differentiates. Inputs x (batch, seq, in) and
// optionally h0 and c0 (batch, Units). It does not export to ONNX.
type LSTMState struct {
	// Units is the size of the state.
	Units int `json:"units"`
}

// Kind returns "onnx-lstm-state".
func (*LSTMState) Kind() string { return "onnx-lstm-state" }

// Params declares graph.LSTM's parameters.
func (l *LSTMState) Params(in []int) ([]graph.ParamSpec, error) {
	return (&graph.LSTM{Units: l.Units}).Params(in)
}

// Forward runs from zero states.
func (l *LSTMState) Forward(s *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return l.Merge(s, []*gorgonia.Node{x})
}

// Merge runs over xs[0] from the initial states xs[1] (h0) and xs[2] (c0).
func (l *LSTMState) Merge(s *graph.Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	if len(xs) < 1 || len(xs) > 3 || xs[0].Dims() != 3 {
		return nil, fmt.Errorf("onnx-lstm-state: %d inputs, want x (batch, seq, in) and up to 2 initial states", len(xs))
	}
	var w [4]*gorgonia.Node
	for k, name := range []string{"weight_ih", "weight_hh", "bias_ih", "bias_hh"} {
		p, err := s.Param(name)
		if err != nil {
			return nil, err
		}
		w[k] = p
	}
	x := xs[0]
	b, t, in, h := x.Shape()[0], x.Shape()[1], x.Shape()[2], l.Units
	zeros := func(part string) *gorgonia.Node {
		return gorgonia.NewMatrix(s.Graph(), tensor.Float32, gorgonia.WithShape(b, h), gorgonia.WithName(s.NodeName(fmt.Sprintf("%s%d", part, b))),
			gorgonia.WithValue(tensor.New(tensor.WithShape(b, h), tensor.WithBacking(make([]float32, b*h)))))
	}
	h0, c0 := zeros("h0zeros"), zeros("c0zeros")
	if len(xs) > 1 {
		h0 = xs[1]
	}
	if len(xs) > 2 {
		c0 = xs[2]
	}
	y, err := ops.RecurrentFrom(ops.LSTMCell, x, w[0], w[1], w[2], w[3], h0, c0, false)
	if err != nil {
		return nil, err
	}
	// The state before each step: h0, then the steps' states but the last.
	hprev, err := ops.Reshape(h0, tensor.Shape{b, 1, h})
	if err != nil {
		return nil, err
	}
	if t > 1 {
		first, err := sliceAxis(y, 1, 0, t-1)
		if err != nil {
			return nil, err
		}
		if hprev, err = gorgonia.Concat(1, hprev, first); err != nil {
			return nil, err
		}
	}
	gates, err := lstmGates(x, hprev, w, b*t, in, h)
	if err != nil {
		return nil, err
	}
	if gates, err = ops.Reshape(gates, tensor.Shape{b, t, 4 * h}); err != nil {
		return nil, err
	}
	c := c0
	for step := range t {
		g, err := sliceAxis(gates, 1, step, step+1)
		if err != nil {
			return nil, err
		}
		if g, err = ops.Reshape(g, tensor.Shape{b, 4 * h}); err != nil {
			return nil, err
		}
		var parts [3]*gorgonia.Node // i, f, g: PyTorch's first three blocks
		for k := range parts {
			if parts[k], err = sliceAxis(g, 1, k*h, (k+1)*h); err != nil {
				return nil, err
			}
			if k < 2 {
				parts[k], err = gorgonia.Sigmoid(parts[k])
			} else {
				parts[k], err = gorgonia.Tanh(parts[k])
			}
			if err != nil {
				return nil, err
			}
		}
		keep, err := gorgonia.HadamardProd(parts[1], c)
		if err != nil {
			return nil, err
		}
		add, err := gorgonia.HadamardProd(parts[0], parts[2])
		if err != nil {
			return nil, err
		}
		if c, err = gorgonia.Add(keep, add); err != nil {
			return nil, err
		}
	}
	c3, err := ops.Reshape(c, tensor.Shape{b, 1, h})
	if err != nil {
		return nil, err
	}
	return gorgonia.Concat(1, y, c3)
}

// lstmGates returns x·W_ihᵀ + b_ih + hprev·W_hhᵀ + b_hh for every step,
// (n, 4·H) with n = batch·seq.
func lstmGates(x, hprev *gorgonia.Node, w [4]*gorgonia.Node, n, in, h int) (*gorgonia.Node, error) {
	x2, err := ops.Reshape(x, tensor.Shape{n, in})
	if err != nil {
		return nil, err
	}
	h2, err := ops.Reshape(hprev, tensor.Shape{n, h})
	if err != nil {
		return nil, err
	}
	var sum [2]*gorgonia.Node
	for k, pair := range [][3]*gorgonia.Node{{x2, w[0], w[2]}, {h2, w[1], w[3]}} {
		wt, err := gorgonia.Transpose(pair[1])
		if err != nil {
			return nil, err
		}
		if sum[k], err = ops.Dense(pair[0], wt, pair[2]); err != nil {
			return nil, err
		}
	}
	return gorgonia.Add(sum[0], sum[1])
}
