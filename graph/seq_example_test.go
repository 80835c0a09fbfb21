package graph_test

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
)

// A text classifier: ids -> vectors -> LSTM's last state -> classes.
func textClassifier() (*graph.Model, error) {
	return graph.NewSequential([]int{6},
		&graph.Embedding{Vocab: 20, Dim: 8},
		&graph.LSTM{Units: 16},
		&graph.Dense{Units: 3}, graph.Softmax{})
}

// A sequence model in a few lines: ids of 6 words in, 3 class
// probabilities out.
func ExampleLSTM() {
	m, err := textClassifier()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range m.Nodes() {
		fmt.Println(n.Name, m.Layer(n.Layer).Kind(), n.Shape)
	}
	fmt.Println(m.LayerParams("lstm1"))
	// Output:
	// embedding1 embedding [6 8]
	// lstm1 lstm [16]
	// fc1 dense [3]
	// softmax1 softmax [3]
	// [lstm1.weight_ih lstm1.weight_hh lstm1.bias_ih lstm1.bias_hh]
}

// TestSeqCheckpointRoundTrip saves every sequence layer and reloads it
// without the code that built it: same spec, same predictions.
func TestSeqCheckpointRoundTrip(t *testing.T) {
	pad := 0
	models := map[string][]graph.Layer{
		"lstm": {&graph.Embedding{Vocab: 20, Dim: 8, Padding: &pad}, &graph.LSTM{Units: 16, Sequences: true}, &graph.LayerNorm{}, &graph.GELU{Tanh: true}, &graph.TimeDense{Units: 5}},
		"gru":  {&graph.Embedding{Vocab: 20, Dim: 8}, &graph.GRU{Units: 7}, &graph.GELU{}, &graph.Dense{Units: 3}, graph.Softmax{}},
		"rnn":  {&graph.Embedding{Vocab: 20, Dim: 4}, &graph.SimpleRNN{Units: 5, Sequences: true}, &graph.LayerNorm{Eps: 1e-3}},
	}
	ids := tensor.New(tensor.WithShape(2, 6), tensor.WithBacking([]float32{1, 2, 3, 0, 19, 7, 4, 4, 4, 5, 6, 0}))
	for name, layers := range models {
		t.Run(name, func(t *testing.T) {
			m, err := graph.NewSequential([]int{6}, layers...)
			if err != nil {
				t.Fatal(err)
			}
			m.Init(7)
			want, err := graph.NewPredictor(m).Forward(ids)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := checkpoint.Write(&buf, m); err != nil {
				t.Fatal(err)
			}
			back, err := checkpoint.Read(&buf, graph.Builtin())
			if err != nil {
				t.Fatal(err)
			}
			got, err := graph.NewPredictor(back).Forward(ids)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Float32s(), want.Float32s()) {
				t.Errorf("reloaded model predicts %v, want %v", got.Float32s()[:4], want.Float32s()[:4])
			}
			a, _ := m.MarshalJSON()
			b, _ := back.MarshalJSON()
			if !bytes.Equal(a, b) {
				t.Errorf("spec changed:\n%s\n%s", a, b)
			}
		})
	}
}

// TestSeqBadInput: each wrong input is one error naming what is wrong.
func TestSeqBadInput(t *testing.T) {
	m, err := textClassifier()
	if err != nil {
		t.Fatal(err)
	}
	pr := graph.NewPredictor(m)
	for _, c := range []struct {
		ids  []float32
		want string
	}{
		{[]float32{1, 2, 3, 20, 0, 0}, "id 20 outside the vocabulary of 20"},
		{[]float32{1, 2, -1, 4, 0, 0}, "id -1 outside the vocabulary of 20"},
		{[]float32{1, 2.5, 3, 4, 0, 0}, "id 2.5 is not a whole number"},
	} {
		_, err := pr.Forward(tensor.New(tensor.WithShape(1, 6), tensor.WithBacking(c.ids)))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ids %v: error %v, want one line with %q", c.ids, err, c.want)
		}
	}
	for _, c := range []struct {
		layers []graph.Layer
		want   string
	}{
		{[]graph.Layer{&graph.Embedding{Vocab: 0, Dim: 3}}, "vocab and dim must be positive"},
		{[]graph.Layer{&graph.Embedding{Vocab: 5, Dim: 3, Padding: new(int(5))}}, "padding id 5 outside"},
		{[]graph.Layer{&graph.Embedding{Vocab: 5, Dim: 3}, &graph.LSTM{}}, "units must be positive"},
		{[]graph.Layer{&graph.LSTM{Units: 3}}, "want (time, features) inputs"},
		{[]graph.Layer{&graph.TimeDense{Units: 0}}, "units must be positive"},
		{[]graph.Layer{&graph.LayerNorm{Eps: -1}}, "eps -1 is negative"},
		{[]graph.Layer{&graph.Embedding{Vocab: 5, Dim: 4}, &graph.PositionalEmbedding{MaxLen: 5}}, "a sequence of 6 steps is longer than max_len 5"},
		{[]graph.Layer{&graph.Embedding{Vocab: 5, Dim: 4}, &graph.MultiHeadAttention{Heads: 3}}, "4 features do not split into 3 heads"},
		{[]graph.Layer{&graph.Embedding{Vocab: 5, Dim: 4}, &graph.TransformerEncoderBlock{Heads: 2, FF: 8, Activation: "tanh"}}, `activation "tanh"`},
	} {
		_, err := graph.NewSequential([]int{6}, c.layers...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.layers, err, c.want)
		}
	}
}

// A small Transformer encoder over padded id sequences: the key padding
// mask is a second input.
func transformerClassifier() (*graph.Model, error) {
	ids := graph.Input("ids", 6)
	mask := graph.Input("mask", 6)
	h := graph.Apply(&graph.Embedding{Vocab: 20, Dim: 8}, ids)
	h = graph.Apply(&graph.PositionalEmbedding{MaxLen: 16}, h)
	h = graph.Apply(&graph.TransformerEncoderBlock{Heads: 2, FF: 16, NormFirst: true, Activation: "gelu"}, h, mask)
	y := graph.Apply(&graph.Dense{Units: 3}, h)
	return graph.NewModel([]*graph.Tensor{ids, mask}, []*graph.Tensor{graph.Apply(graph.Softmax{}, y), h})
}

func TestTransformerRoundTripAndMask(t *testing.T) {
	m, err := transformerClassifier()
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	ids := tensor.New(tensor.WithShape(2, 6), tensor.WithBacking([]float32{1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 9, 10}))
	mask := tensor.New(tensor.WithShape(2, 6), tensor.WithBacking([]float32{0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0}))
	want, err := graph.NewPredictor(m).Predict(ids, mask)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, m); err != nil {
		t.Fatal(err)
	}
	back, err := checkpoint.Read(&buf, graph.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	got, err := graph.NewPredictor(back).Predict(ids, mask)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[0].Float32s(), want[0].Float32s()) || !slices.Equal(got[1].Float32s(), want[1].Float32s()) {
		t.Error("the reloaded transformer predicts differently")
	}
	// The ids at padded steps do not change the other steps' encodings.
	ids2 := ids.Clone().(*tensor.Dense)
	ids2.Float32s()[4], ids2.Float32s()[5] = 17, 18
	other, err := graph.NewPredictor(m).Predict(ids2, mask)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := other[1].Float32s(), want[1].Float32s(); !slices.Equal(a[:4*8], b[:4*8]) || slices.Equal(a[4*8:6*8], b[4*8:6*8]) {
		t.Errorf("padded ids changed the unpadded steps' encodings (or not even their own)")
	}
	// A mask of the wrong shape is one error at declaration.
	ids3, bad := graph.Input("ids", 6), graph.Input("mask", 5)
	h := graph.Apply(&graph.Embedding{Vocab: 20, Dim: 8}, ids3)
	h = graph.Apply(&graph.MultiHeadAttention{Heads: 2}, h, bad)
	if _, err := graph.NewModel([]*graph.Tensor{ids3, bad}, []*graph.Tensor{h}); err == nil || !strings.Contains(err.Error(), "padding mask of shape (1, 5), want (batch, time) = (1, 6)") {
		t.Errorf("mask of the wrong shape: %v", err)
	}
}

// Embedding takes int64 ids (an Int64 input) as well as whole float32 ones,
// with the same vectors.
func TestEmbeddingInt64Ids(t *testing.T) {
	build := func(d graph.DType) *graph.Model {
		x := graph.Input("ids", 4).As(d)
		y := graph.Apply(&graph.LSTM{Units: 3, Sequences: true}, graph.Apply(&graph.Embedding{Vocab: 9, Dim: 5}, x))
		m, err := graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{y})
		if err != nil {
			t.Fatal(err)
		}
		m.Init(5)
		return m
	}
	f, err := graph.NewPredictor(build(graph.Float32)).Forward(tensor.New(tensor.WithShape(2, 4), tensor.WithBacking([]float32{0, 8, 3, 3, 1, 2, 7, 6})))
	if err != nil {
		t.Fatal(err)
	}
	i, err := graph.NewPredictor(build(graph.Int64)).Forward(tensor.New(tensor.WithShape(2, 4), tensor.WithBacking([]int64{0, 8, 3, 3, 1, 2, 7, 6})))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Float32s(), i.Float32s()) {
		t.Errorf("int64 ids give %v, float32 ids %v", i.Float32s()[:3], f.Float32s()[:3])
	}
	_, err = graph.NewPredictor(build(graph.Int64)).Forward(tensor.New(tensor.WithShape(1, 4), tensor.WithBacking([]int64{0, 9, 3, 3})))
	if err == nil || !strings.Contains(err.Error(), "id 9 outside the vocabulary of 9") {
		t.Errorf("id 9 of 9: %v", err)
	}
}

// TestLSTMInitialState: an LSTM applied to (x, h0, c0) equals the plain
// LSTM when the states are zero, differs when they are not, and needs
// states of (batch, units).
func TestLSTMInitialState(t *testing.T) {
	build := func(states bool) *graph.Model {
		x := graph.Input("x", 3, 2)
		ins := []*graph.Tensor{x}
		l := &graph.LSTM{Units: 4, Sequences: true}
		var y *graph.Tensor
		if states {
			h0, c0 := graph.Input("h0", 4), graph.Input("c0", 4)
			ins = append(ins, h0, c0)
			y = graph.ApplyNamed("lstm", l, x, h0, c0)
		} else {
			y = graph.ApplyNamed("lstm", l, x)
		}
		m, err := graph.NewModel(ins, []*graph.Tensor{y})
		if err != nil {
			t.Fatal(err)
		}
		m.Init(5)
		return m
	}
	x := tensor.New(tensor.WithShape(2, 3, 2), tensor.WithBacking([]float32{1, -1, 0.5, 2, 0, 1, -2, 0.3, 1, 1, 0, -1}))
	zero := func() *tensor.Dense {
		return tensor.New(tensor.WithShape(2, 4), tensor.WithBacking(make([]float32, 8)))
	}
	plain, err := graph.NewPredictor(build(false)).Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	withStates := graph.NewPredictor(build(true))
	fromZero, err := withStates.Predict(x, zero(), zero())
	if err != nil {
		t.Fatal(err)
	}
	a, b := plain[0].Data().([]float32), fromZero[0].Data().([]float32)
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-6 {
			t.Fatalf("zero states: %v, plain LSTM %v", b, a)
		}
	}
	h0 := tensor.New(tensor.WithShape(2, 4), tensor.WithBacking([]float32{1, 1, 1, 1, -1, -1, -1, -1}))
	fromH, err := withStates.Predict(x, h0, zero())
	if err != nil {
		t.Fatal(err)
	}
	if c := fromH[0].Data().([]float32); math.Abs(float64(c[0]-a[0])) < 1e-6 {
		t.Errorf("h0 changed nothing: %v", c)
	}
	x2, bad := graph.Input("x", 3, 2), graph.Input("h0", 5)
	if _, err := graph.NewModel([]*graph.Tensor{x2, bad}, []*graph.Tensor{graph.Apply(&graph.LSTM{Units: 4}, x2, bad)}); err == nil {
		t.Error("h0 of 5 units accepted by an LSTM of 4")
	}
}
