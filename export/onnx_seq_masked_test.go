package export_test

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
)

// extraCase is a recurrent (or pooling) layer with more inputs than its
// sequence: lengths (int64, per-sample shape ()) and/or initial states.
type extraCase struct {
	name    string
	layer   graph.Layer
	lengths bool
	mask    graph.DType // a padding mask input of this type ("" none)
	states  int         // initial states (h0, c0) given
	ops     []string    // the ONNX operators the export must use (nil: not checked)
}

func extraCases() []extraCase {
	bi := func(ops ...string) []string {
		return append([]string{"Transpose"}, ops...)
	}
	return []extraCase{
		{name: "lstm bidirectional sequences", layer: &graph.LSTM{Units: 4, Sequences: true, Bidirectional: true}, ops: bi("LSTM", "Transpose", "Reshape")},
		{name: "lstm bidirectional last", layer: &graph.LSTM{Units: 4, Bidirectional: true}, ops: bi("LSTM", "Transpose", "Reshape")},
		{name: "gru bidirectional sequences", layer: &graph.GRU{Units: 3, Sequences: true, Bidirectional: true}},
		{name: "gru bidirectional last", layer: &graph.GRU{Units: 3, Bidirectional: true}},
		{name: "simplernn bidirectional sequences", layer: &graph.SimpleRNN{Units: 5, Sequences: true, Bidirectional: true}},
		{name: "simplernn bidirectional last", layer: &graph.SimpleRNN{Units: 5, Bidirectional: true}},
		{name: "lstm lengths sequences", layer: &graph.LSTM{Units: 4, Sequences: true}, lengths: true, ops: []string{"Cast", "Transpose", "LSTM", "Squeeze", "Transpose"}},
		{name: "lstm lengths last", layer: &graph.LSTM{Units: 4}, lengths: true},
		{name: "gru bidirectional lengths sequences", layer: &graph.GRU{Units: 3, Sequences: true, Bidirectional: true}, lengths: true},
		{name: "gru bidirectional lengths last", layer: &graph.GRU{Units: 3, Bidirectional: true}, lengths: true},
		{name: "simplernn bidirectional lengths sequences", layer: &graph.SimpleRNN{Units: 5, Sequences: true, Bidirectional: true}, lengths: true},
		{name: "lstm bidirectional lengths last", layer: &graph.LSTM{Units: 4, Bidirectional: true}, lengths: true},
		{name: "lstm h0 c0 sequences", layer: &graph.LSTM{Units: 4, Sequences: true}, states: 2, ops: []string{"Transpose", "Unsqueeze", "Unsqueeze", "LSTM", "Squeeze", "Transpose"}},
		{name: "lstm h0 last", layer: &graph.LSTM{Units: 4}, states: 1},
		{name: "gru h0 lengths last", layer: &graph.GRU{Units: 3}, states: 1, lengths: true},
		{name: "simplernn h0 sequences", layer: &graph.SimpleRNN{Units: 5, Sequences: true}, states: 1},
		{name: "lstm bidirectional h0 c0 lengths sequences", layer: &graph.LSTM{Units: 4, Sequences: true, Bidirectional: true}, states: 2, lengths: true},
		{name: "gru bidirectional h0 last", layer: &graph.GRU{Units: 3, Bidirectional: true}, states: 1},
		{name: "simplernn bidirectional h0 bool mask sequences", layer: &graph.SimpleRNN{Units: 5, Sequences: true, Bidirectional: true}, states: 1, mask: graph.Bool},
		{name: "maskedmean lengths", layer: &graph.MaskedMean{}, lengths: true},
		{name: "maskedmean", layer: &graph.MaskedMean{}, ops: []string{"ReduceMean"}},
		{name: "lstm bool mask sequences", layer: &graph.LSTM{Units: 4, Sequences: true}, mask: graph.Bool, ops: []string{"Not", "Cast", "ReduceSum", "Transpose", "LSTM", "Squeeze", "Transpose"}},
		{name: "gru bidirectional bool mask last", layer: &graph.GRU{Units: 3, Bidirectional: true}, mask: graph.Bool},
		{name: "maskedmean bool mask", layer: &graph.MaskedMean{}, mask: graph.Bool},
		{name: "maskedmean float mask", layer: &graph.MaskedMean{}, mask: graph.Float32},
	}
}

func (c extraCase) model(t *testing.T, steps, feats int) *graph.Model {
	t.Helper()
	x := graph.Input("x", steps, feats)
	inputs := []*graph.Tensor{x}
	units := 0
	switch l := c.layer.(type) {
	case *graph.LSTM:
		units = l.Units
	case *graph.GRU:
		units = l.Units
	case *graph.SimpleRNN:
		units = l.Units
	}
	bidirectional := false
	switch l := c.layer.(type) {
	case *graph.LSTM:
		bidirectional = l.Bidirectional
	case *graph.GRU:
		bidirectional = l.Bidirectional
	case *graph.SimpleRNN:
		bidirectional = l.Bidirectional
	}
	for i := 0; i < c.states; i++ {
		shape := []int{units}
		if bidirectional {
			shape = []int{2, units}
		}
		inputs = append(inputs, graph.Input([]string{"h0", "c0"}[i], shape...))
	}
	if c.lengths {
		inputs = append(inputs, graph.Input("lengths").As(graph.Int64))
	}
	if c.mask != "" {
		inputs = append(inputs, graph.Input("mask", steps).As(c.mask))
	}
	y := graph.Apply(c.layer, inputs...)
	m, err := graph.NewModel(inputs, []*graph.Tensor{y})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(11)
	return m
}

// Bidirectional, padded (lengths) and initial-state recurrent layers and
// the masked mean compute in ONNX Runtime what tapenet computes, on 9
// samples run in batches of 4, lengths from 0 to the whole sequence.
func TestONNXSeqExtraInputsRuntime(t *testing.T) {
	dir := ortDir(t)
	const n, steps, feats = 9, 5, 3
	for i, c := range extraCases() {
		t.Run(c.name, func(t *testing.T) {
			m := c.model(t, steps, feats)
			mp, model := onnxOf(t, m)
			var ops []string
			for _, nd := range mp.Graph.Node {
				ops = append(ops, nd.OpType)
			}
			if c.ops != nil && !slices.Equal(ops, c.ops) {
				t.Errorf("ops %v, want %v", ops, c.ops)
			}
			rng := rand.New(rand.NewPCG(uint64(i), 2))
			xs := []*tensor.Dense{floatSeq(steps, feats)(rng, n)}
			for j := 1; j < len(m.Inputs()); j++ {
				in := m.Inputs()[j]
				if in.DType.Or() == graph.Int64 {
					// Lengths 0..steps, the first sample's whole.
					lo := int64(0)
					v := make([]int64, n)
					for k := range v {
						v[k] = lo + rng.Int64N(steps+1-lo)
					}
					v[0] = steps
					xs = append(xs, tensor.New(tensor.WithShape(n), tensor.WithBacking(v)))
					continue
				}
				if in.Name == "mask" { // padding after 0..steps valid steps
					pad := make([]bool, n*steps)
					f := make([]float32, n*steps)
					for k := 0; k < n; k++ {
						valid := rng.IntN(steps + 1)
						if k == 0 {
							valid = steps
						}
						for s := valid; s < steps; s++ {
							pad[k*steps+s], f[k*steps+s] = true, 1
						}
					}
					if in.DType.Or() == graph.Bool {
						xs = append(xs, tensor.New(tensor.WithShape(n, steps), tensor.WithBacking(pad)))
					} else {
						xs = append(xs, tensor.New(tensor.WithShape(n, steps), tensor.WithBacking(f)))
					}
					continue
				}
				xs = append(xs, floatSeq(in.Shape...)(rng, n))
			}
			want, err := graph.NewPredictor(m).Predict(xs...)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, in := range mp.Graph.Input {
				names = append(names, in.Name)
			}
			res := runORT(t, dir, model, 4, names, xs)
			got := res.Outputs[mp.Graph.Output[0].Name]
			if !slices.Equal(got.Dims, want[0].Shape()) {
				t.Fatalf("ORT dims %v, tapenet %v", got.Dims, want[0].Shape())
			}
			d := maxAbsDiff(got.Data, want[0].Data().([]float32))
			if d > 2e-5 {
				t.Errorf("ORT %s differs from tapenet by %.3g", res.Version, d)
			}
			t.Logf("ORT %s: max |difference| %.3g over %v", res.Version, d, got.Dims)
		})
	}
}

// A bidirectional layer's summary counts both directions' parameters.
func TestBidirectionalSummary(t *testing.T) {
	m, err := graph.NewSequential([]int{5, 3}, &graph.LSTM{Units: 4, Bidirectional: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := export.WriteSummary(&buf, m); err != nil {
		t.Fatal(err)
	}
	// Per direction 16·3 + 16·4 + 2·16 = 144 (16 = 4 gates · 4 units); two
	// directions 288, and an output of 2·4.
	if s := buf.String(); !strings.Contains(s, "lstm1 (lstm)                (None, 8)                         288") {
		t.Errorf("summary does not show 288 parameters and an output of 8:\n%s", s)
	}
}
