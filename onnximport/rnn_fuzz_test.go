package onnximport_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/onnximport"
)

// FuzzRecurrent builds RNN, GRU and LSTM nodes of any direction, layout,
// sizes (weights of the wrong shape included), initial states and
// sequence lengths, alone or behind PyTorch's batch-moving Transpose over
// a symbolic batch: the importer returns a model or an error, never an
// internal error (a recovered panic), and a model it returns runs.
func FuzzRecurrent(f *testing.F) {
	f.Add(uint8(2), uint8(2), uint8(0), uint8(3), uint8(4), uint8(2), uint8(3), uint8(2), uint8(0b1011))
	f.Add(uint8(2), uint8(2), uint8(0), uint8(3), uint8(4), uint8(2), uint8(3), uint8(2), uint8(0b1001))
	f.Add(uint8(1), uint8(0), uint8(0), uint8(2), uint8(3), uint8(2), uint8(2), uint8(1), uint8(0b0010))
	f.Add(uint8(1), uint8(1), uint8(1), uint8(2), uint8(1), uint8(1), uint8(2), uint8(1), uint8(0b0110))
	f.Add(uint8(0), uint8(0), uint8(0), uint8(1), uint8(3), uint8(3), uint8(1), uint8(1), uint8(0b10001))
	f.Add(uint8(2), uint8(1), uint8(0), uint8(0), uint8(2), uint8(2), uint8(2), uint8(3), uint8(0b11100))
	f.Fuzz(func(t *testing.T, opK, dirK, layout, hidden, seq, batch, in, wdirs, flags uint8) {
		op := []string{"RNN", "GRU", "LSTM"}[opK%3]
		dir := []string{"forward", "reverse", "bidirectional", "sideways"}[dirK%4]
		h, s, b, n, wd := int(hidden%5), int(seq%5), int(batch%4), int(in%4), int(wdirs%3)
		symbolic, initH, lens, moved, yh := flags&1 != 0, flags&2 != 0, flags&4 != 0, flags&8 != 0, flags&16 != 0
		gates := map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}[op]
		rng := rand.New(rand.NewPCG(uint64(flags), 3))
		rnd := func(name string, shape ...int) *onnx.TensorProto {
			v := make([]float32, rnnSize(shape))
			for i := range v {
				v[i] = float32(rng.NormFloat64())
			}
			return floats(name, shape, v...)
		}
		inits := []*onnx.TensorProto{rnd("W", wd, gates*h, n), rnd("R", wd, gates*h, h), rnd("B", wd, 2*gates*h)}
		ins := []string{"X", "W", "R", "B", "", ""}
		if lens {
			inits = append(inits, &onnx.TensorProto{Name: "lens", Dims: []int64{int64(b)}, DataType: int32(onnx.TensorProto_INT32), Int32Data: make([]int32, b)})
			ins[4] = "lens"
		}
		if initH {
			inits = append(inits, rnd("h0", wd, b, h))
			ins[5] = "h0"
		}
		attrs := []*onnx.AttributeProto{aInt("hidden_size", int64(h)), aString("direction", dir), aInt("layout", int64(layout%3))}
		if op == "GRU" {
			attrs = append(attrs, aInt("linear_before_reset", 1))
		}
		// X: the model input, or (moved) its transposition of a
		// batch-first input, as PyTorch exports a batch_first module.
		xdims := []int{s, b, n}
		var nodes []*onnx.NodeProto
		if moved {
			xdims = []int{b, s, n}
			nodes = append(nodes, node("Transpose", []string{"x"}, []string{"X"}, aInts("perm", 1, 0, 2)))
		} else {
			ins[0] = "x"
		}
		bdims := slices.Clone(xdims)
		if symbolic {
			bdims[0] = -1
		}
		outs := []string{"Y", "Y_h"}
		nodes = append(nodes, &onnx.NodeProto{Name: "/rnn/" + op, OpType: op, Input: ins, Output: outs, Attribute: attrs})
		out := "Y"
		if yh {
			out = "Y_h"
		}
		if moved {
			perm := map[bool][]int64{false: {2, 0, 1, 3}, true: {1, 0, 2}}[yh] // the batch back first
			nodes = append(nodes, node("Transpose", []string{out}, []string{"y"}, aInts("perm", perm...)))
			out = "y"
		}
		mp := &onnx.ModelProto{
			IrVersion:   8,
			OpsetImport: []*onnx.OperatorSetIdProto{{Domain: "", Version: 14}},
			Graph: &onnx.GraphProto{Name: "rnn", Node: nodes, Initializer: inits,
				Input: []*onnx.ValueInfoProto{dimsInfo("x", bdims...)}, Output: []*onnx.ValueInfoProto{{Name: out}}},
		}
		m, err := onnximport.FromProto(mp)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("%s %s layout %d: %v", op, dir, layout%3, err)
			}
			return
		}
		if xdims[0] == 0 {
			xdims[0] = 2 // a first dimension of 0 is read as a symbolic batch
		}
		if slices.Contains(xdims, 0) {
			t.Fatalf("%s: imported a model with an empty X %v", op, xdims)
		}
		x := tensor.New(tensor.WithShape(xdims...), tensor.WithBacking(make([]float32, rnnSize(xdims))))
		if _, err := graph.NewPredictor(m).Predict(x); err != nil {
			t.Fatalf("%s %s layout %d: imported, then running failed: %v", op, dir, layout%3, err)
		}
	})
}
