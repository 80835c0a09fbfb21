package export_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
)

// seqCase is one sequence model whose ONNX form ONNX Runtime runs.
type seqCase struct {
	name  string
	model func(t *testing.T) *graph.Model
	input func(rng *rand.Rand, n int) *tensor.Dense
	ops   []string // the ONNX operators the export must use (nil: not checked)
}

func floatSeq(shape ...int) func(*rand.Rand, int) *tensor.Dense {
	return func(rng *rand.Rand, n int) *tensor.Dense {
		full := append([]int{n}, shape...)
		size := n
		for _, d := range shape {
			size *= d
		}
		v := make([]float32, size)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return tensor.New(tensor.WithShape(full...), tensor.WithBacking(v))
	}
}

func sequential(input []int, layers ...graph.Layer) func(t *testing.T) *graph.Model {
	return func(t *testing.T) *graph.Model {
		t.Helper()
		m, err := graph.NewSequential(input, layers...)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(7)
		return m
	}
}

func seqCases() []seqCase {
	const steps, feats = 5, 3
	return []seqCase{
		{
			name: "embedding int64 ids",
			model: func(t *testing.T) *graph.Model {
				ids := graph.Input("ids", steps).As(graph.Int64)
				y := graph.Apply(&graph.TimeDense{Units: 2}, graph.Apply(&graph.Embedding{Vocab: 11, Dim: 4}, ids))
				m, err := graph.NewModel([]*graph.Tensor{ids}, []*graph.Tensor{y})
				if err != nil {
					t.Fatal(err)
				}
				m.Init(3)
				return m
			},
			input: func(rng *rand.Rand, n int) *tensor.Dense {
				v := make([]int64, n*steps)
				for i := range v {
					v[i] = rng.Int64N(11)
				}
				return tensor.New(tensor.WithShape(n, steps), tensor.WithBacking(v))
			},
			ops: []string{"Gather", "MatMul", "Add"},
		},
		{name: "simplernn last", model: sequential([]int{steps, feats}, &graph.SimpleRNN{Units: 4}), input: floatSeq(steps, feats), ops: []string{"Transpose", "RNN", "Squeeze"}},
		{name: "simplernn sequences", model: sequential([]int{steps, feats}, &graph.SimpleRNN{Units: 4, Sequences: true}), input: floatSeq(steps, feats), ops: []string{"Transpose", "RNN", "Squeeze", "Transpose"}},
		{name: "lstm last", model: sequential([]int{steps, feats}, &graph.LSTM{Units: 6}), input: floatSeq(steps, feats), ops: []string{"Transpose", "LSTM", "Squeeze"}},
		{name: "lstm sequences", model: sequential([]int{steps, feats}, &graph.LSTM{Units: 6, Sequences: true}, &graph.TimeDense{Units: 2}), input: floatSeq(steps, feats), ops: []string{"Transpose", "LSTM", "Squeeze", "Transpose", "MatMul", "Add"}},
		{name: "gru last", model: sequential([]int{steps, feats}, &graph.GRU{Units: 5}), input: floatSeq(steps, feats), ops: []string{"Transpose", "GRU", "Squeeze"}},
		{name: "gru sequences", model: sequential([]int{steps, feats}, &graph.GRU{Units: 5, Sequences: true}), input: floatSeq(steps, feats), ops: []string{"Transpose", "GRU", "Squeeze", "Transpose"}},
		{name: "layernorm", model: sequential([]int{steps, 8}, &graph.TimeDense{Units: 8}, &graph.LayerNorm{Eps: 1e-3}), input: floatSeq(steps, 8), ops: []string{"MatMul", "Add", "ReduceMean", "Sub", "Mul", "ReduceMean", "Add", "Sqrt", "Div", "Mul", "Add"}},
		{name: "multiheadattention", model: sequential([]int{steps, 8}, &graph.MultiHeadAttention{Heads: 2}), input: floatSeq(steps, 8),
			ops: attentionOps(false)},
		{name: "multiheadattention causal", model: sequential([]int{steps, 8}, &graph.MultiHeadAttention{Heads: 4, Causal: true}), input: floatSeq(steps, 8),
			ops: attentionOps(true)},
		{name: "positionalembedding", model: sequential([]int{steps, 4}, &graph.PositionalEmbedding{MaxLen: 9}), input: floatSeq(steps, 4), ops: []string{"Add"}},
		{name: "transformer post-norm relu", model: sequential([]int{steps, 8}, &graph.TransformerEncoderBlock{Heads: 2, FF: 16}), input: floatSeq(steps, 8)},
		{name: "transformer pre-norm gelu causal", model: sequential([]int{steps, 8}, &graph.TransformerEncoderBlock{Heads: 4, FF: 12, NormFirst: true, Activation: "gelu", Causal: true}), input: floatSeq(steps, 8)},
		{name: "gelu exact", model: sequential([]int{7}, &graph.GELU{}), input: floatSeq(7), ops: []string{"Div", "Erf", "Mul", "Add", "Mul"}},
		{name: "gelu tanh", model: sequential([]int{7}, &graph.GELU{Tanh: true}), input: floatSeq(7), ops: []string{"Mul", "Mul", "Mul", "Add", "Mul", "Tanh", "Mul", "Add", "Mul"}},
	}
}

// Every sequence layer's ONNX form computes in ONNX Runtime what tapenet's
// Forward computes, on 9 random samples run in batches of 4 (the symbolic
// batch), and uses the ONNX operators it should.
func TestONNXSeqRuntime(t *testing.T) {
	dir := ortDir(t)
	const n = 9
	for i, c := range seqCases() {
		t.Run(c.name, func(t *testing.T) {
			m := c.model(t)
			mp, model := onnxOf(t, m)
			var ops []string
			for _, nd := range mp.Graph.Node {
				ops = append(ops, nd.OpType)
			}
			if c.ops != nil && !slices.Equal(ops, c.ops) {
				t.Errorf("ops %v, want %v", ops, c.ops)
			}
			x := c.input(rand.New(rand.NewPCG(uint64(i), 1)), n)
			want, err := graph.NewPredictor(m).Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			name := mp.Graph.Input[0].Name
			res := runORT(t, dir, model, 4, []string{name}, []*tensor.Dense{x})
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

// attentionOps lists the ONNX operators of MultiHeadAttention's
// decomposition.
func attentionOps(causal bool) []string {
	ops := []string{"MatMul", "Add", "Reshape", "Transpose", "MatMul", "Add", "Reshape", "Transpose", "MatMul", "Add", "Reshape", "Transpose", "MatMul", "Mul"}
	if causal {
		ops = append(ops, "Add")
	}
	return append(ops, "Softmax", "MatMul", "Transpose", "Reshape", "MatMul", "Add")
}
