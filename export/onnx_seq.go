package export

// ONNX translations of graph's sequence layers (graph/seq_layers.go):
// Embedding as Gather, SimpleRNN/LSTM/GRU as ONNX's RNN/LSTM/GRU operators
// (gate blocks reordered from PyTorch's layout to ONNX's, batch-first input
// transposed to ONNX's (seq, batch, ...) layout of opset 13), LayerNorm and
// GELU as their standard decompositions (opset 13 has neither
// LayerNormalization nor Gelu) and TimeDense as MatMul + Add.

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/graph"
)

// seqONNX returns the translation of one of graph's sequence layer kinds.
func seqONNX(kind string) (ONNXFunc, bool) {
	switch kind {
	case "embedding":
		return embeddingONNX, true
	case "simplernn":
		return recurrentONNX("RNN", nil), true
	case "lstm":
		// PyTorch stacks i, f, g, o; ONNX i, o, f, c.
		return recurrentONNX("LSTM", []int{0, 3, 1, 2}), true
	case "gru":
		// PyTorch stacks r, z, n; ONNX z, r, h.
		return recurrentONNX("GRU", []int{1, 0, 2}), true
	case "layernorm":
		return layerNormONNX, true
	case "gelu":
		return geluONNX, true
	case "timedense":
		return timeDenseONNX, true
	case "multiheadattention":
		return attentionONNX, true
	case "positionalembedding":
		return positionsONNX, true
	case "transformerencoderblock":
		return transformerONNX, true
	case "maskedmean":
		return maskedMeanONNX, true
	}
	return nil, false
}

// nodeOutputs adds a node of op with n outputs; an output whose want entry
// is false is left unnamed (an optional output ONNX then does not compute).
func (b *ONNXBuilder) nodeOutputs(op string, inputs []string, want []bool, attrs ...*onnx.AttributeProto) []string {
	k := b.count[op]
	b.count[op]++
	suffix := ""
	if k > 0 {
		suffix = strconv.Itoa(k)
	}
	outs := make([]string, len(want))
	for i, w := range want {
		if w {
			outs[i] = b.unique(b.node.Name + "." + strings.ToLower(op) + suffix + "_" + strconv.Itoa(i))
		}
	}
	b.g.Node = append(b.g.Node, &onnx.NodeProto{
		Name:      b.node.Name + "/" + op + suffix,
		OpType:    op,
		Input:     append([]string(nil), inputs...),
		Output:    outs,
		Attribute: attrs,
	})
	return outs
}

// paramValues returns the values and shape of the layer's parameter name.
func (b *ONNXBuilder) paramValues(name string) ([]float32, []int, error) {
	t := b.m.Param(b.layer.Name + "." + name)
	if t == nil {
		return nil, nil, fmt.Errorf("layer %s: no parameter %q", b.layer.Name, name)
	}
	v, ok := t.Data().([]float32)
	if !ok {
		return nil, nil, fmt.Errorf("layer %s: parameter %q is not float32", b.layer.Name, name)
	}
	return v, t.Shape(), nil
}

func embeddingONNX(b *ONNXBuilder, ids string) (string, error) {
	w, err := b.Param("weight")
	if err != nil {
		return "", err
	}
	if b.inputDType() == graph.Float32 {
		// Whole numbers in a float32 tensor: Gather wants integer indices.
		ids = b.Node("Cast", []string{ids}, AttrInt("to", int64(onnx.TensorProto_INT64)))
	}
	return b.Node("Gather", []string{w, ids}, AttrInt("axis", 0)), nil
}

// inputDType returns the element type of the node's first input.
func (b *ONNXBuilder) inputDType() graph.DType {
	if len(b.dtypes) == 0 {
		return graph.Float32
	}
	return b.dtypes[0].Or()
}

// reorderBlocks returns v, a (G·H, cols) matrix or a (G·H) vector of gate
// blocks, with its blocks in the order order (nil keeps them).
func reorderBlocks(v []float32, gates int, order []int) []float32 {
	if order == nil {
		return append([]float32(nil), v...)
	}
	n := len(v) / gates
	out := make([]float32, 0, len(v))
	for _, g := range order {
		out = append(out, v[g*n:(g+1)*n]...)
	}
	return out
}

// recurrentONNX translates SimpleRNN, LSTM and GRU (one layer, forward or
// bidirectional) into ONNX's RNN, LSTM or GRU with its gate blocks in
// ONNX's order: X (batch, time, in) is transposed to (time, batch, in); Y
// (time, directions, batch, H) back to (batch, time, directions·H) for a
// layer returning sequences, else Y_h (directions, batch, H) to (batch,
// directions·H). Initial states h0/c0 (batch, H), or (batch, 2, H) for a
// bidirectional layer, become initial_h/initial_c (directions, batch, H);
// lengths (int64/int32 (batch) or (batch, 1)) or a bool
// padding mask (batch, time) become sequence_lens (int32 (batch): the
// count of non-padding steps).
func recurrentONNX(op string, order []int) ONNXFunc {
	return func(b *ONNXBuilder, x string) (string, error) {
		in := b.InputShape()
		if len(in) != 2 {
			return "", fmt.Errorf("%s: want (time, features) inputs, got %v", op, in)
		}
		bidirectional := false
		switch l := b.layer.Layer.(type) {
		case *graph.SimpleRNN:
			bidirectional = l.Bidirectional
		case *graph.LSTM:
			bidirectional = l.Bidirectional
		case *graph.GRU:
			bidirectional = l.Bidirectional
		}
		suffixes := []string{""}
		if bidirectional {
			suffixes = append(suffixes, "_reverse")
		}
		dirs := len(suffixes)
		gates := map[string]int{"RNN": 1, "LSTM": 4, "GRU": 3}[op]
		var vals [3][]float32 // W, R, B of every direction
		gh := 0
		for _, suffix := range suffixes {
			var bias []float32
			for i, name := range []string{"weight_ih", "weight_hh", "bias_ih", "bias_hh"} {
				v, _, err := b.paramValues(name + suffix)
				if err != nil {
					return "", err
				}
				v = reorderBlocks(v, gates, order)
				if i < 2 {
					vals[i] = append(vals[i], v...)
				} else {
					gh = len(v)
					bias = append(bias, v...)
				}
			}
			vals[2] = append(vals[2], bias...)
		}
		hidden := gh / gates
		w, err := b.Constant("W", []int{dirs, gh, in[1]}, vals[0])
		if err != nil {
			return "", err
		}
		r, err := b.Constant("R", []int{dirs, gh, hidden}, vals[1])
		if err != nil {
			return "", err
		}
		bias, err := b.Constant("B", []int{dirs, 2 * gh}, vals[2])
		if err != nil {
			return "", err
		}
		attrs := []*onnx.AttributeProto{AttrInt("hidden_size", int64(hidden))}
		if bidirectional {
			attrs = append(attrs, &onnx.AttributeProto{Name: "direction", Type: onnx.AttributeProto_STRING, S: []byte("bidirectional")})
		}
		if op == "GRU" {
			// PyTorch applies the reset gate after the hidden projection.
			attrs = append(attrs, AttrInt("linear_before_reset", 1))
		}
		lens, states, err := recurrentExtras(b)
		if err != nil {
			return "", fmt.Errorf("%s: %w", op, err)
		}
		xt := b.Node("Transpose", []string{x}, AttrInts("perm", 1, 0, 2))
		inputs := []string{xt, w, r, bias, lens}
		if len(states) > 0 {
			axes, err := b.ConstantInt64("axes", []int{1}, []int64{0})
			if err != nil {
				return "", err
			}
			for _, st := range states {
				if bidirectional { // (batch, 2, H) -> (2, batch, H)
					inputs = append(inputs, b.Node("Transpose", []string{st}, AttrInts("perm", 1, 0, 2)))
				} else {
					inputs = append(inputs, b.Node("Unsqueeze", []string{st, axes}))
				}
			}
			if op == "LSTM" && len(states) == 1 {
				inputs = append(inputs, "") // initial_c zero
			}
		}
		for len(inputs) > 0 && inputs[len(inputs)-1] == "" {
			inputs = inputs[:len(inputs)-1]
		}
		sequences := len(b.OutputShape()) == 2
		outs := b.nodeOutputs(op, inputs, []bool{sequences, !sequences}, attrs...)
		if sequences {
			if bidirectional {
				// (time, 2, batch, H) -> (batch, time, 2, H) -> (batch, time, 2H)
				y := b.Node("Transpose", []string{outs[0]}, AttrInts("perm", 2, 0, 1, 3))
				shape, err := b.ConstantInt64("shape", []int{3}, []int64{0, 0, -1})
				if err != nil {
					return "", err
				}
				return b.Node("Reshape", []string{y, shape}), nil
			}
			axes, err := b.ConstantInt64("axes", []int{1}, []int64{1})
			if err != nil {
				return "", err
			}
			y := b.Node("Squeeze", []string{outs[0], axes})
			return b.Node("Transpose", []string{y}, AttrInts("perm", 1, 0, 2)), nil
		}
		if bidirectional {
			// (2, batch, H) -> (batch, 2, H) -> (batch, 2H): h_n[0] beside h_n[1]
			y := b.Node("Transpose", []string{outs[1]}, AttrInts("perm", 1, 0, 2))
			shape, err := b.ConstantInt64("shape", []int{2}, []int64{0, -1})
			if err != nil {
				return "", err
			}
			return b.Node("Reshape", []string{y, shape}), nil
		}
		axes, err := b.ConstantInt64("axes", []int{1}, []int64{0})
		if err != nil {
			return "", err
		}
		return b.Node("Squeeze", []string{outs[1], axes}), nil
	}
}

// recurrentExtras returns the sequence_lens input ("" for none) and the
// initial-state inputs of a recurrent layer's node: float32 inputs after
// the sequence are initial states, a last integer or bool one the lengths
// or padding mask.
func recurrentExtras(b *ONNXBuilder) (string, []string, error) {
	inputs := b.Inputs()
	states := inputs[1:]
	if len(states) == 0 {
		return "", nil, nil
	}
	last := len(inputs) - 1
	if d := b.dtypes[last].Or(); d == graph.Float32 {
		return "", states, nil
	}
	lens, err := validLengths(b, last, onnx.TensorProto_INT32)
	return lens, states[:len(states)-1], err
}

// validLengths returns the number of valid steps per sample, (batch) of
// element type to, from the node's input i: int64/int32 lengths of
// per-sample shape () or (1), or a bool padding mask (time), true on
// padding.
func validLengths(b *ONNXBuilder, i int, to onnx.TensorProto_DataType) (string, error) {
	name := b.Inputs()[i]
	shape := b.InputShapes()[i]
	switch d := b.dtypes[i].Or(); d {
	case graph.Int64, graph.Int32:
		if len(shape) == 1 {
			flat, err := b.ConstantInt64("flat", []int{1}, []int64{-1})
			if err != nil {
				return "", err
			}
			name = b.Node("Reshape", []string{name, flat})
		}
		if (d == graph.Int64 && to == onnx.TensorProto_INT64) || (d == graph.Int32 && to == onnx.TensorProto_INT32) {
			return name, nil
		}
		return b.Node("Cast", []string{name}, AttrInt("to", int64(to))), nil
	case graph.Bool:
		valid := b.Node("Cast", []string{b.Node("Not", []string{name})}, AttrInt("to", int64(to)))
		axes, err := b.ConstantInt64("axes", []int{1}, []int64{1})
		if err != nil {
			return "", err
		}
		return b.Node("ReduceSum", []string{valid, axes}, AttrInt("keepdims", 0)), nil
	default:
		return "", fmt.Errorf("lengths input of type %s has no ONNX translation", d)
	}
}

// maskedMeanONNX writes the mean over each sample's valid steps: the
// valid steps as a float (batch, time) mask (a bool padding mask negated,
// a float32 one compared with 0, or Range(time) < lengths), then
// ReduceSum(x · valid) / Max(ReduceSum(valid), 1) over time.
func maskedMeanONNX(b *ONNXBuilder, x string) (string, error) {
	in := b.InputShape()
	if len(in) != 2 {
		return "", fmt.Errorf("maskedmean: want (time, features) inputs, got %v", in)
	}
	axes, err := b.ConstantInt64("axes", []int{1}, []int64{1})
	if err != nil {
		return "", err
	}
	if len(b.Inputs()) == 1 {
		return b.Node("ReduceMean", []string{x}, AttrInts("axes", 1), AttrInt("keepdims", 0)), nil
	}
	float := AttrInt("to", int64(onnx.TensorProto_FLOAT))
	var valid string
	switch b.dtypes[1].Or() {
	case graph.Bool:
		valid = b.Node("Cast", []string{b.Node("Not", []string{b.Inputs()[1]})}, float)
	case graph.Float32:
		zero, err := b.Constant("zero", []int{}, []float32{0})
		if err != nil {
			return "", err
		}
		valid = b.Node("Cast", []string{b.Node("Equal", []string{b.Inputs()[1], zero})}, float)
	default:
		lens, err := validLengths(b, 1, onnx.TensorProto_INT64)
		if err != nil {
			return "", fmt.Errorf("maskedmean: %w", err)
		}
		steps := make([]int64, in[0])
		for i := range steps {
			steps[i] = int64(i)
		}
		st, err := b.ConstantInt64("steps", []int{1, in[0]}, steps)
		if err != nil {
			return "", err
		}
		col := b.Node("Unsqueeze", []string{lens, axes})
		valid = b.Node("Cast", []string{b.Node("Less", []string{st, col})}, float)
	}
	axes2, err := b.ConstantInt64("axes", []int{1}, []int64{2})
	if err != nil {
		return "", err
	}
	sum := b.Node("ReduceSum", []string{b.Node("Mul", []string{x, b.Node("Unsqueeze", []string{valid, axes2})}), axes}, AttrInt("keepdims", 0))
	one, err := b.Constant("one", []int{}, []float32{1})
	if err != nil {
		return "", err
	}
	n := b.Node("Max", []string{b.Node("ReduceSum", []string{valid, axes}, AttrInt("keepdims", 1)), one})
	return b.Node("Div", []string{sum, n}), nil
}

// layerNormONNX writes (x - mean) / sqrt(var + eps) · weight + bias over
// the last axis with ReduceMean, Sub, Mul, Add, Sqrt, Div.
func layerNormONNX(b *ONNXBuilder, x string) (string, error) {
	ln, ok := b.layer.Layer.(*graph.LayerNorm)
	if !ok {
		return "", fmt.Errorf("layernorm: layer is a %T", b.layer.Layer)
	}
	return layerNormNodes(b, x, "", ln.Eps)
}

// layerNormNodes normalises x over its last axis with the parameters
// prefix+"weight" and prefix+"bias" (eps 0: 1e-5).
func layerNormNodes(b *ONNXBuilder, x, prefix string, eps float64) (string, error) {
	w, err := b.Param(prefix + "weight")
	if err != nil {
		return "", err
	}
	bias, err := b.Param(prefix + "bias")
	if err != nil {
		return "", err
	}
	if eps == 0 {
		eps = 1e-5
	}
	e, err := b.Constant(prefix+"eps", nil, []float32{float32(eps)})
	if err != nil {
		return "", err
	}
	last := int64(len(b.InputShape())) // the last axis, counting the batch
	mean := b.Node("ReduceMean", []string{x}, AttrInts("axes", last), AttrInt("keepdims", 1))
	d := b.Node("Sub", []string{x, mean})
	v := b.Node("ReduceMean", []string{b.Node("Mul", []string{d, d})}, AttrInts("axes", last), AttrInt("keepdims", 1))
	sd := b.Node("Sqrt", []string{b.Node("Add", []string{v, e})})
	n := b.Node("Div", []string{d, sd})
	return b.Node("Add", []string{b.Node("Mul", []string{n, w}), bias}), nil
}

// geluONNX writes 0.5·x·(1 + erf(x/√2)) or, for the tanh form,
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func geluONNX(b *ONNXBuilder, x string) (string, error) {
	gl, ok := b.layer.Layer.(*graph.GELU)
	if !ok {
		return "", fmt.Errorf("gelu: layer is a %T", b.layer.Layer)
	}
	return geluNodes(b, x, gl.Tanh)
}

// geluNodes applies GELU, exact or (tanh) its tanh form, to x.
func geluNodes(b *ONNXBuilder, x string, tanh bool) (string, error) {
	c := func(name string, v float64) (string, error) { return b.Constant(name, nil, []float32{float32(v)}) }
	half, err := c("half", 0.5)
	if err != nil {
		return "", err
	}
	one, err := c("one", 1)
	if err != nil {
		return "", err
	}
	var inner string
	if tanh {
		k, err := c("k", math.Sqrt(2/math.Pi))
		if err != nil {
			return "", err
		}
		a, err := c("a", 0.044715)
		if err != nil {
			return "", err
		}
		x3 := b.Node("Mul", []string{b.Node("Mul", []string{x, x}), x})
		s := b.Node("Add", []string{x, b.Node("Mul", []string{x3, a})})
		inner = b.Node("Tanh", []string{b.Node("Mul", []string{s, k})})
	} else {
		r, err := c("sqrt2", math.Sqrt2)
		if err != nil {
			return "", err
		}
		inner = b.Node("Erf", []string{b.Node("Div", []string{x, r})})
	}
	hx := b.Node("Mul", []string{x, half})
	return b.Node("Mul", []string{hx, b.Node("Add", []string{inner, one})}), nil
}

// timeDenseONNX writes x·W + b over the last axis (MatMul broadcasts the
// leading axes).
func timeDenseONNX(b *ONNXBuilder, x string) (string, error) {
	w, err := b.Param("weight")
	if err != nil {
		return "", err
	}
	bias, err := b.Param("bias")
	if err != nil {
		return "", err
	}
	return b.Node("Add", []string{b.Node("MatMul", []string{x, w}), bias}), nil
}

// transposed returns the (cols, rows) transpose of a (rows, cols) block of
// v starting at row from.
func transposed(v []float32, from, rows, cols int) []float32 {
	out := make([]float32, rows*cols)
	for r := range rows {
		for c := range cols {
			out[c*rows+r] = v[(from+r)*cols+c]
		}
	}
	return out
}

// attentionONNX writes MultiHeadAttention without a padding mask as its
// standard decomposition: per projection MatMul + Add, the heads split by
// Reshape and Transpose, softmax(q·kᵀ/√d [+ causal mask])·v, the heads
// joined and the output projection.
func attentionONNX(b *ONNXBuilder, x string) (string, error) {
	a, ok := b.layer.Layer.(*graph.MultiHeadAttention)
	if !ok {
		return "", fmt.Errorf("multiheadattention: layer is a %T", b.layer.Layer)
	}
	if len(b.Inputs()) != 1 {
		return "", fmt.Errorf("multiheadattention with a padding mask has no ONNX translation yet")
	}
	return attentionNodes(b, x, "", a.Heads, a.Causal)
}

// attentionNodes applies self-attention with the parameters
// prefix+"in_proj_weight" ... prefix+"out_proj_bias" to x.
func attentionNodes(b *ONNXBuilder, x, prefix string, h int, causal bool) (string, error) {
	in := b.InputShape()
	if len(in) != 2 {
		return "", fmt.Errorf("attention: want (time, features) inputs, got %v", in)
	}
	t, e := in[0], in[1]
	d := e / h
	win, _, err := b.paramValues(prefix + "in_proj_weight")
	if err != nil {
		return "", err
	}
	bin, _, err := b.paramValues(prefix + "in_proj_bias")
	if err != nil {
		return "", err
	}
	wout, _, err := b.paramValues(prefix + "out_proj_weight")
	if err != nil {
		return "", err
	}
	bout, _, err := b.paramValues(prefix + "out_proj_bias")
	if err != nil {
		return "", err
	}
	// proj computes x·W[rows from..from+e]ᵀ + b[from..from+e].
	proj := func(name, x string, w, bias []float32, from int) (string, error) {
		wt, err := b.Constant(name+"_weight", []int{e, e}, transposed(w, from, e, e))
		if err != nil {
			return "", err
		}
		bb, err := b.Constant(name+"_bias", []int{e}, bias[from:from+e])
		if err != nil {
			return "", err
		}
		return b.Node("Add", []string{b.Node("MatMul", []string{x, wt}), bb}), nil
	}
	split, err := b.ConstantInt64("heads_shape", []int{4}, []int64{0, int64(t), int64(h), int64(d)})
	if err != nil {
		return "", err
	}
	var qkv [3]string
	for i, name := range []string{"q", "k", "v"} {
		p, err := proj(name, x, win, bin, i*e)
		if err != nil {
			return "", err
		}
		perm := []int64{0, 2, 1, 3} // (N, H, T, D)
		if name == "k" {
			perm = []int64{0, 2, 3, 1} // (N, H, D, T)
		}
		qkv[i] = b.Node("Transpose", []string{b.Node("Reshape", []string{p, split})}, AttrInts("perm", perm...))
	}
	scale, err := b.Constant("scale", nil, []float32{float32(1 / math.Sqrt(float64(d)))})
	if err != nil {
		return "", err
	}
	scores := b.Node("Mul", []string{b.Node("MatMul", []string{qkv[0], qkv[1]}), scale})
	if causal {
		mask := make([]float32, t*t)
		for i := range t {
			for j := i + 1; j < t; j++ {
				mask[i*t+j] = float32(math.Inf(-1))
			}
		}
		m, err := b.Constant("causal_mask", []int{t, t}, mask)
		if err != nil {
			return "", err
		}
		scores = b.Node("Add", []string{scores, m})
	}
	p := b.Node("Softmax", []string{scores}, AttrInt("axis", -1))
	ctx := b.Node("Transpose", []string{b.Node("MatMul", []string{p, qkv[2]})}, AttrInts("perm", 0, 2, 1, 3))
	join, err := b.ConstantInt64("join_shape", []int{3}, []int64{0, int64(t), int64(e)})
	if err != nil {
		return "", err
	}
	return proj("out", b.Node("Reshape", []string{ctx, join}), wout, bout, 0)
}

// positionsONNX adds the first time rows of the table (a constant of
// those rows: the sequence length is fixed in the model) to x.
func positionsONNX(b *ONNXBuilder, x string) (string, error) {
	in := b.InputShape()
	w, shape, err := b.paramValues("weight")
	if err != nil {
		return "", err
	}
	if len(in) != 2 || len(shape) != 2 || in[0] > shape[0] || in[1] != shape[1] {
		return "", fmt.Errorf("positionalembedding: input %v does not fit the table %v", in, shape)
	}
	rows, err := b.Constant("positions", in, w[:in[0]*in[1]])
	if err != nil {
		return "", err
	}
	return b.Node("Add", []string{x, rows}), nil
}

// transformerONNX writes TransformerEncoderBlock (without a padding mask)
// from the attention, layer normalisation and GELU decompositions, the
// feed-forward as MatMul + Add, ReLU as Relu.
func transformerONNX(b *ONNXBuilder, x string) (string, error) {
	tb, ok := b.layer.Layer.(*graph.TransformerEncoderBlock)
	if !ok {
		return "", fmt.Errorf("transformerencoderblock: layer is a %T", b.layer.Layer)
	}
	if len(b.Inputs()) != 1 {
		return "", fmt.Errorf("transformerencoderblock with a padding mask has no ONNX translation yet")
	}
	dense := func(name, x string) (string, error) {
		w, err := b.Param(name + "_weight")
		if err != nil {
			return "", err
		}
		bias, err := b.Param(name + "_bias")
		if err != nil {
			return "", err
		}
		return b.Node("Add", []string{b.Node("MatMul", []string{x, w}), bias}), nil
	}
	ff := func(x string) (string, error) {
		h, err := dense("linear1", x)
		if err != nil {
			return "", err
		}
		if tb.Activation == "gelu" {
			if h, err = geluNodes(b, h, false); err != nil {
				return "", err
			}
		} else {
			h = b.Node("Relu", []string{h})
		}
		return dense("linear2", h)
	}
	attn := func(x string) (string, error) { return attentionNodes(b, x, "attn_", tb.Heads, tb.Causal) }
	norm := func(name, x string) (string, error) { return layerNormNodes(b, x, name+"_", tb.Eps) }
	if tb.NormFirst {
		n1, err := norm("norm1", x)
		if err != nil {
			return "", err
		}
		a, err := attn(n1)
		if err != nil {
			return "", err
		}
		x1 := b.Node("Add", []string{x, a})
		n2, err := norm("norm2", x1)
		if err != nil {
			return "", err
		}
		f, err := ff(n2)
		if err != nil {
			return "", err
		}
		return b.Node("Add", []string{x1, f}), nil
	}
	a, err := attn(x)
	if err != nil {
		return "", err
	}
	x1, err := norm("norm1", b.Node("Add", []string{x, a}))
	if err != nil {
		return "", err
	}
	f, err := ff(x1)
	if err != nil {
		return "", err
	}
	return norm("norm2", b.Node("Add", []string{x1, f}))
}
