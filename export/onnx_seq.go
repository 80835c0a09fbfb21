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

// recurrentONNX translates SimpleRNN, LSTM and GRU (one layer, forward,
// zero initial state) into ONNX's RNN, LSTM or GRU with its gate blocks in
// ONNX's order: X (batch, time, in) is transposed to (time, batch, in); Y
// (time, 1, batch, H) back to (batch, time, H) for a layer returning
// sequences, else Y_h (1, batch, H) squeezed to (batch, H).
func recurrentONNX(op string, order []int) ONNXFunc {
	return func(b *ONNXBuilder, x string) (string, error) {
		if len(b.Inputs()) > 1 {
			return "", fmt.Errorf("%s: initial-state inputs (h0, c0) have no ONNX translation yet", op)
		}
		in := b.InputShape()
		if len(in) != 2 {
			return "", fmt.Errorf("%s: want (time, features) inputs, got %v", op, in)
		}
		gates := map[string]int{"RNN": 1, "LSTM": 4, "GRU": 3}[op]
		var vals [4][]float32
		for i, name := range []string{"weight_ih", "weight_hh", "bias_ih", "bias_hh"} {
			v, _, err := b.paramValues(name)
			if err != nil {
				return "", err
			}
			vals[i] = reorderBlocks(v, gates, order)
		}
		gh := len(vals[2])
		hidden := gh / gates
		w, err := b.Constant("W", []int{1, gh, in[1]}, vals[0])
		if err != nil {
			return "", err
		}
		r, err := b.Constant("R", []int{1, gh, hidden}, vals[1])
		if err != nil {
			return "", err
		}
		bias, err := b.Constant("B", []int{1, 2 * gh}, append(vals[2], vals[3]...))
		if err != nil {
			return "", err
		}
		attrs := []*onnx.AttributeProto{AttrInt("hidden_size", int64(hidden))}
		if op == "GRU" {
			// PyTorch applies the reset gate after the hidden projection.
			attrs = append(attrs, AttrInt("linear_before_reset", 1))
		}
		xt := b.Node("Transpose", []string{x}, AttrInts("perm", 1, 0, 2))
		sequences := len(b.OutputShape()) == 2
		outs := b.nodeOutputs(op, []string{xt, w, r, bias}, []bool{sequences, !sequences}, attrs...)
		if sequences {
			axes, err := b.ConstantInt64("axes", []int{1}, []int64{1})
			if err != nil {
				return "", err
			}
			y := b.Node("Squeeze", []string{outs[0], axes})
			return b.Node("Transpose", []string{y}, AttrInts("perm", 1, 0, 2)), nil
		}
		axes, err := b.ConstantInt64("axes", []int{1}, []int64{0})
		if err != nil {
			return "", err
		}
		return b.Node("Squeeze", []string{outs[1], axes}), nil
	}
}

// layerNormONNX writes (x - mean) / sqrt(var + eps) · weight + bias over
// the last axis with ReduceMean, Sub, Mul, Add, Sqrt, Div.
func layerNormONNX(b *ONNXBuilder, x string) (string, error) {
	ln, ok := b.layer.Layer.(*graph.LayerNorm)
	if !ok {
		return "", fmt.Errorf("layernorm: layer is a %T", b.layer.Layer)
	}
	w, err := b.Param("weight")
	if err != nil {
		return "", err
	}
	bias, err := b.Param("bias")
	if err != nil {
		return "", err
	}
	eps := ln.Eps
	if eps == 0 {
		eps = 1e-5
	}
	e, err := b.Constant("eps", nil, []float32{float32(eps)})
	if err != nil {
		return "", err
	}
	mean := b.Node("ReduceMean", []string{x}, AttrInts("axes", -1), AttrInt("keepdims", 1))
	d := b.Node("Sub", []string{x, mean})
	v := b.Node("ReduceMean", []string{b.Node("Mul", []string{d, d})}, AttrInts("axes", -1), AttrInt("keepdims", 1))
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
	if gl.Tanh {
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
