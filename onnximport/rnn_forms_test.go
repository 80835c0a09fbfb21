package onnximport_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
	"github.com/tapenet/tapenet/onnximport"
)

// rnnFormCase is one single-node RNN, GRU or LSTM model.
type rnnFormCase struct {
	name      string
	op        string
	dir       string // direction attribute ("" omits it)
	layout    int64
	symbolic  bool // the batch a dim_param (else every dimension fixed)
	initH     bool // initial_h (and, for an LSTM, initial_c) initializers
	seqLens   []int32
	attrs     []*onnx.AttributeProto
	outputs   []string // graph outputs among Y, Y_h, Y_c
	opset     int64
	peepholes bool
	want      string // "": runs and equals ORT; else what the refusal names
}

const rnnSeq, rnnBatch, rnnIn, rnnHidden = 4, 3, 2, 5

// floatsOf returns the values of a tensor floats made.
func floatsOf(t *onnx.TensorProto) []float32 { return f32values(t.RawData) }

// permute transposes v, of the given shape, by perm (numpy's transpose).
func permute(v []float32, shape, perm []int) []float32 {
	r := len(shape)
	out := make([]float32, len(v))
	newShape := make([]int, r)
	for j, p := range perm {
		newShape[j] = shape[p]
	}
	stride := make([]int, r)
	for k, s := r-1, 1; k >= 0; k-- {
		stride[k], s = s, s*shape[k]
	}
	idx := make([]int, r)
	for o := range out {
		src := 0
		for j := range r {
			src += idx[j] * stride[perm[j]]
		}
		out[o] = v[src]
		for j := r - 1; j >= 0; j-- {
			if idx[j]++; idx[j] < newShape[j] {
				break
			}
			idx[j] = 0
		}
	}
	return out
}

// dims declares a float tensor; dim -1 is the symbolic batch "N".
func dimsInfo(name string, dims ...int) *onnx.ValueInfoProto {
	var ds []*onnx.TensorShapeProto_Dimension
	for _, d := range dims {
		if d < 0 {
			ds = append(ds, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimParam{DimParam: "N"}})
		} else {
			ds = append(ds, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
		}
	}
	return &onnx.ValueInfoProto{Name: name, Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: &onnx.TypeProto_Tensor{
		ElemType: int32(onnx.TensorProto_FLOAT), Shape: &onnx.TensorShapeProto{Dim: ds},
	}}}}
}

// model builds the case's model (weights drawn from seed) and returns it
// with X's shape.
func (c rnnFormCase) model(seed uint64) (*onnx.ModelProto, []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	rnd := func(name string, shape ...int) *onnx.TensorProto {
		v := make([]float32, rnnSize(shape))
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.5)
		}
		return floats(name, shape, v...)
	}
	gates := map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}[c.op]
	d := 1
	if c.dir == "bidirectional" {
		d = 2
	}
	batch := rnnBatch
	if c.symbolic {
		batch = -1
	}
	xdims := []int{rnnSeq, batch, rnnIn}
	sdims := []int{d, rnnBatch, rnnHidden} // initial states
	if c.layout == 1 {
		xdims = []int{batch, rnnSeq, rnnIn}
		sdims = []int{rnnBatch, d, rnnHidden}
	}
	inits := []*onnx.TensorProto{
		rnd("W", d, gates*rnnHidden, rnnIn), rnd("R", d, gates*rnnHidden, rnnHidden), rnd("B", d, 2*gates*rnnHidden),
	}
	in := []string{"x", "W", "R", "B", "", "", "", ""}
	if c.seqLens != nil {
		inits = append(inits, &onnx.TensorProto{Name: "lens", Dims: []int64{int64(len(c.seqLens))}, DataType: int32(onnx.TensorProto_INT32), Int32Data: c.seqLens})
		in[4] = "lens"
	}
	if c.initH {
		// Drawn as (dirs, batch, H), transposed for layout 1, so that the
		// layout-0 twin of a case has the same states.
		for _, name := range []string{"h0", "c0"}[:map[bool]int{false: 1, true: 2}[c.op == "LSTM"]] {
			s := rnd(name, d, rnnBatch, rnnHidden)
			if c.layout == 1 {
				s = floats(name, sdims, permute(floatsOf(s), []int{d, rnnBatch, rnnHidden}, []int{1, 0, 2})...)
			}
			inits = append(inits, s)
			in[5+map[string]int{"h0": 0, "c0": 1}[name]] = name
		}
	}
	if c.peepholes {
		inits = append(inits, rnd("P", d, 3*rnnHidden))
		in[7] = "P"
	}
	for len(in) > 0 && in[len(in)-1] == "" {
		in = in[:len(in)-1]
	}
	attrs := append([]*onnx.AttributeProto{aInt("hidden_size", rnnHidden)}, c.attrs...)
	if c.dir != "" {
		attrs = append(attrs, aString("direction", c.dir))
	}
	if c.layout != 0 {
		attrs = append(attrs, aInt("layout", c.layout))
	}
	if c.op == "GRU" && !strings.Contains(c.name, "linear_before_reset") {
		attrs = append(attrs, aInt("linear_before_reset", 1))
	}
	outs := []string{"Y", "Y_h", "Y_c"}[:map[string]int{"RNN": 2, "GRU": 2, "LSTM": 3}[c.op]]
	var graphOut []*onnx.ValueInfoProto
	for _, o := range c.outputs {
		graphOut = append(graphOut, &onnx.ValueInfoProto{Name: o})
	}
	opset := c.opset
	if opset == 0 {
		opset = 14
	}
	n := &onnx.NodeProto{Name: "/rnn/" + c.op, OpType: c.op, Input: in, Output: outs, Attribute: attrs}
	mp := &onnx.ModelProto{
		IrVersion:   8,
		OpsetImport: []*onnx.OperatorSetIdProto{{Domain: "", Version: opset}},
		Graph: &onnx.GraphProto{Name: "rnn", Node: []*onnx.NodeProto{n}, Initializer: inits,
			Input: []*onnx.ValueInfoProto{dimsInfo("x", xdims...)}, Output: graphOut},
	}
	if c.layout == 0 {
		xdims[1] = rnnBatch
	} else {
		xdims[0] = rnnBatch
	}
	return mp, xdims
}

// The forms of ONNX's recurrent operators that PyTorch does not export
// (reverse, layout 1, constant initial states, sequence_lens, shorter
// sequences for a forward operator) and those
// it does, in single-node models: each runs and equals ONNX Runtime on
// every output, or is refused naming the form.
func TestRecurrentForms(t *testing.T) {
	full := []int32{rnnSeq, rnnSeq, rnnSeq}
	cases := []rnnFormCase{
		{name: "lstm forward states", op: "LSTM", initH: true, outputs: []string{"Y", "Y_h"}},
		{name: "lstm reverse", op: "LSTM", dir: "reverse", outputs: []string{"Y", "Y_h"}},
		{name: "lstm Y_c bidirectional states", op: "LSTM", dir: "bidirectional", initH: true, outputs: []string{"Y_c", "Y", "Y_h"}},
		{name: "lstm Y_c layout 1 symbolic", op: "LSTM", layout: 1, symbolic: true, outputs: []string{"Y_c"}},
		{name: "lstm bidirectional layout 1 symbolic", op: "LSTM", dir: "bidirectional", layout: 1, symbolic: true, outputs: []string{"Y", "Y_h"}},
		{name: "lstm bidirectional states layout 1", op: "LSTM", dir: "bidirectional", layout: 1, initH: true, outputs: []string{"Y_h", "Y"}},
		{name: "gru bidirectional states lens", op: "GRU", dir: "bidirectional", initH: true, seqLens: full, outputs: []string{"Y", "Y_h"}},
		{name: "gru reverse layout 1 symbolic", op: "GRU", dir: "reverse", layout: 1, symbolic: true, outputs: []string{"Y_h"}},
		{name: "rnn bidirectional states layout 1", op: "RNN", dir: "bidirectional", layout: 1, initH: true, outputs: []string{"Y", "Y_h"}},
		{name: "rnn forward lens", op: "RNN", dir: "forward", seqLens: full, outputs: []string{"Y"}},
		{name: "rnn default activations given", op: "RNN", dir: "bidirectional", outputs: []string{"Y"},
			attrs: []*onnx.AttributeProto{{Name: "activations", Type: onnx.AttributeProto_STRINGS, Strings: [][]byte{[]byte("Tanh"), []byte("Tanh")}}}},

		{name: "clip", op: "LSTM", outputs: []string{"Y"}, attrs: []*onnx.AttributeProto{aFloat("clip", 3)}, want: "LSTM with clip"},
		{name: "relu", op: "RNN", outputs: []string{"Y"}, want: "RNN activations [Relu]",
			attrs: []*onnx.AttributeProto{{Name: "activations", Type: onnx.AttributeProto_STRINGS, Strings: [][]byte{[]byte("Relu")}}}},
		{name: "input_forget", op: "LSTM", outputs: []string{"Y"}, attrs: []*onnx.AttributeProto{aInt("input_forget", 1)}, want: "input_forget=1"},
		{name: "linear_before_reset 0", op: "GRU", outputs: []string{"Y"}, want: "linear_before_reset=0"},
		{name: "gru short sequences Y", op: "GRU", seqLens: []int32{4, 2, 3}, outputs: []string{"Y"}},
		{name: "lstm short sequences Y_h states", op: "LSTM", seqLens: []int32{1, 4, 2}, initH: true, outputs: []string{"Y_h"}},
		{name: "rnn short sequences Y layout 1", op: "RNN", layout: 1, seqLens: []int32{3, 1, 4}, outputs: []string{"Y"}},
		{name: "short sequences both outputs", op: "GRU", seqLens: []int32{4, 2, 3}, outputs: []string{"Y", "Y_h"}, want: "outputs Y and Y_h both read"},
		{name: "short sequences bidirectional", op: "LSTM", dir: "bidirectional", seqLens: []int32{4, 2, 3}, outputs: []string{"Y"}, want: "bidirectional with sequence_lens shorter"},
		{name: "short sequences symbolic", op: "RNN", layout: 1, symbolic: true, seqLens: []int32{4, 2, 3}, outputs: []string{"Y"}, want: "constant sequence_lens [4 2 3] in a model of a symbolic batch"},

		{name: "peepholes", op: "LSTM", peepholes: true, outputs: []string{"Y"}, want: "peepholes"},
		{name: "layout 1 opset 13", op: "RNN", layout: 1, opset: 13, outputs: []string{"Y"}, want: "layout=1 in opset 13"},
		{name: "constant states symbolic", op: "RNN", layout: 1, symbolic: true, initH: true, outputs: []string{"Y"}, want: "a constant initial_h in a model of a symbolic batch"},
		// A sequence-first X over a symbolic batch: the model's batch
		// would be the sequence.
		{name: "sequence first symbolic", op: "GRU", symbolic: true, outputs: []string{"Y"}, want: `input "x" has shape (4, N, 2): not supported: a symbolic or empty sample dimension`},
	}
	var jobs []ortJob
	var got [][][]float32
	var names []string
	var layouts []int64
	for k, c := range cases {
		mp, xdims := c.model(uint64(k + 1))
		m, err := onnximport.FromProto(mp)
		if c.want != "" {
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.op) && !c.symbolic {
				t.Errorf("%s: error %v, want a refusal naming %s and %q", c.name, err, c.op, c.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if b := m.Inputs()[0].Batch; (b == 0) != (c.symbolic || (c.layout == 1 && !c.initH && !slices.ContainsFunc(c.seqLens, func(n int32) bool { return n != rnnSeq }))) {
			t.Errorf("%s: imported with input batch %d", c.name, b)
		}
		rng := rand.New(rand.NewPCG(uint64(k), 9))
		x := make([]float32, rnnSize(xdims))
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		outs, err := graph.NewPredictor(m).Predict(tensor.New(tensor.WithShape(xdims...), tensor.WithBacking(x)))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var vals [][]float32
		for _, o := range outs {
			vals = append(vals, o.Data().([]float32))
		}
		job := ortJob{Model: marshal(t, mp), Batch: 0, Inputs: []ortInput{{Name: "x", Data: x, Dims: xdims}}}
		if c.layout == 1 {
			// ONNX Runtime has no layout 1: it runs the layout-0 twin (the
			// same weights and states) on X transposed, and the outputs
			// are transposed back below.
			twin := c
			twin.layout, twin.symbolic = 0, false
			tm, _ := twin.model(uint64(k + 1))
			job = ortJob{Model: marshal(t, tm), Batch: 0, Inputs: []ortInput{{Name: "x", Data: permute(x, xdims, []int{1, 0, 2}), Dims: []int{rnnSeq, rnnBatch, rnnIn}}}}
		}
		layouts = append(layouts, c.layout)
		jobs = append(jobs, job)
		got = append(got, vals)
		names = append(names, c.name)
	}
	res, version := runORT(t, jobs)
	for k, r := range res {
		if r.Err != "" {
			t.Errorf("%s: ORT: %s", names[k], r.Err)
			continue
		}
		for o, want := range r.Outputs {
			if layouts[k] == 1 && len(want.Dims) == 4 { // Y (seq, dirs, batch, H)
				want.Data = permute(want.Data, want.Dims, []int{2, 0, 1, 3})
				want.Dims = []int{want.Dims[2], want.Dims[0], want.Dims[1], want.Dims[3]}
			} else if layouts[k] == 1 { // Y_h (dirs, batch, H)
				want.Data = permute(want.Data, want.Dims, []int{1, 0, 2})
				want.Dims = []int{want.Dims[1], want.Dims[0], want.Dims[2]}
			}
			d := maxAbsDiff(got[k][o], want.Data)
			if d > 1e-5 {
				t.Errorf("%s: output %s differs from ORT %s by %.3g", names[k], want.Name, version, d)
			}
			t.Logf("%s: %s %v max |diff| vs ORT %.3g", names[k], want.Name, want.Dims, d)
		}
	}
}

// An LSTM whose final cell state Y_c is the output (an onnx-lstm-state
// layer) trains: the cell state's recomputation from the gates is
// differentiable, and ten Adam steps lower the squared error.
func TestRecurrentCellStateTrains(t *testing.T) {
	c := rnnFormCase{name: "Y_c", op: "LSTM", layout: 1, symbolic: true, outputs: []string{"Y_c"}}
	mp, xdims := c.model(5)
	m, err := onnximport.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, rnnSize(xdims))
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]float32, rnnBatch*rnnHidden)
	for i := range y {
		y[i] = float32(rng.NormFloat64())
	}
	tr, err := train.NewTrainer(m, train.Config{Optimizer: &train.Adam{}, LearningRate: 0.02, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var losses []float32
	for range 10 {
		l, err := tr.Step(tensor.New(tensor.WithShape(xdims...), tensor.WithBacking(x)), tensor.New(tensor.WithShape(rnnBatch, 1, rnnHidden), tensor.WithBacking(y)))
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, l)
	}
	if !(losses[9] < losses[0]) {
		t.Errorf("loss %v does not go down", losses)
	}
	t.Logf("loss %.4f -> %.4f over 10 steps", losses[0], losses[9])
}
