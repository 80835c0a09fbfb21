package onnximport_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/onnximport"
)

// fixBatch gives every graph input and output of mp the fixed batch n, as
// torch.onnx.export without dynamic_axes writes them.
func fixBatch(mp *onnx.ModelProto, n int) {
	for _, vi := range slices.Concat(mp.Graph.Input, mp.Graph.Output) {
		vi.GetType().GetTensorType().GetShape().Dim[0].Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(n)}
	}
}

// tapenet's SimpleRNN, LSTM and GRU, exported as ONNX's RNN, LSTM and GRU
// (with a fixed batch, as a default PyTorch export has) and imported again,
// and with a symbolic one, compute what the original computes, returning
// the last state or every state; the imported model holds the same
// recurrent layer kind, and its batch is symbolic either way.
func TestRecurrentRoundTrip(t *testing.T) {
	const batch, steps, feats = 3, 6, 4
	for _, tc := range []struct {
		name  string
		layer graph.Layer
		kind  string
	}{
		{"rnn last", &graph.SimpleRNN{Units: 5}, "simplernn"},
		{"rnn sequences", &graph.SimpleRNN{Units: 5, Sequences: true}, "simplernn"},
		{"lstm last", &graph.LSTM{Units: 7}, "lstm"},
		{"lstm sequences", &graph.LSTM{Units: 7, Sequences: true}, "lstm"},
		{"gru last", &graph.GRU{Units: 6}, "gru"},
		{"gru sequences", &graph.GRU{Units: 6, Sequences: true}, "gru"},
	} {
		for _, fixed := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s fixed %v", tc.name, fixed), func(t *testing.T) {
				m, err := graph.NewSequential([]int{steps, feats}, tc.layer)
				if err != nil {
					t.Fatal(err)
				}
				m.Init(11)
				mp, err := export.ONNXModel(m)
				if err != nil {
					t.Fatal(err)
				}
				if fixed {
					fixBatch(mp, batch)
				}
				back, err := onnximport.FromProto(mp)
				if err != nil {
					t.Fatal(err)
				}
				var kinds []string
				for _, l := range back.Layers() {
					kinds = append(kinds, l.Layer.Kind())
				}
				if !slices.Contains(kinds, tc.kind) {
					t.Errorf("imported layers %v lack %s", kinds, tc.kind)
				}
				rng := rand.New(rand.NewPCG(5, 6))
				v := make([]float32, batch*steps*feats)
				for i := range v {
					v[i] = float32(rng.NormFloat64())
				}
				x := tensor.New(tensor.WithShape(batch, steps, feats), tensor.WithBacking(v))
				want, err := graph.NewPredictor(m).Forward(x)
				if err != nil {
					t.Fatal(err)
				}
				got, err := graph.NewPredictor(back).Forward(x.Clone().(*tensor.Dense))
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.Shape(), want.Shape()) {
					t.Fatalf("imported shape %v, original %v", got.Shape(), want.Shape())
				}
				d := 0.0
				for i, w := range want.Data().([]float32) {
					d = math.Max(d, math.Abs(float64(got.Data().([]float32)[i]-w)))
				}
				if d > 1e-6 {
					t.Errorf("imported model differs by %.3g", d)
				}
				t.Logf("layers %v; input batch %d (0: symbolic); max |difference| %.3g", kinds, back.Inputs()[0].Batch, d)
			})
		}
	}
}

// What the importer does not map onto tapenet's layers is refused naming
// the operator and the form.
func TestRecurrentRefusals(t *testing.T) {
	m, err := graph.NewSequential([]int{4, 2}, &graph.LSTM{Units: 3})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	for _, tc := range []struct {
		name  string
		edit  func(n *onnx.NodeProto)
		fixed bool
		want  string
	}{
		// Bidirectional needs W, R and B of two directions.
		{"bidirectional", func(n *onnx.NodeProto) {
			n.Attribute = append(n.Attribute, &onnx.AttributeProto{Name: "direction", Type: onnx.AttributeProto_STRING, S: []byte("bidirectional")})
		}, true, "want float [2 12 2]"},
		{"direction", func(n *onnx.NodeProto) {
			n.Attribute = append(n.Attribute, &onnx.AttributeProto{Name: "direction", Type: onnx.AttributeProto_STRING, S: []byte("sideways")})
		}, true, `direction "sideways"`},
		// The symbolic batch: the Transpose before the LSTM moves the
		// batch to axis 1, where only the recurrent operators and the
		// shape operators around them take it.
		{"moved batch", func(n *onnx.NodeProto) { n.Input[0] = "input" }, false, "input X whose axis 0 is the model's symbolic batch"},
		{"clip", func(n *onnx.NodeProto) { n.Attribute = append(n.Attribute, export.AttrFloat("clip", 3)) }, true, "clip"},
		{"sequence_lens", func(n *onnx.NodeProto) { n.Input = append(n.Input, "input") }, true, "sequence_lens of float32 [-1 4 2]: want int32 lengths"},
		{"activations", func(n *onnx.NodeProto) {
			n.Attribute = append(n.Attribute, &onnx.AttributeProto{Name: "activations", Type: onnx.AttributeProto_STRINGS, Strings: [][]byte{[]byte("Relu"), []byte("Tanh"), []byte("Tanh")}})
		}, true, "activations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mp, err := export.ONNXModel(m)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range mp.Graph.Node {
				if n.OpType == "LSTM" {
					tc.edit(n)
				}
			}
			if tc.fixed {
				fixBatch(mp, 2)
			}
			_, err = onnximport.FromProto(mp)
			if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.fixed && !strings.Contains(err.Error(), "LSTM")) {
				t.Errorf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}
