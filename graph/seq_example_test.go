package graph_test

import (
	"bytes"
	"fmt"
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
	} {
		_, err := graph.NewSequential([]int{6}, c.layers...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.layers, err, c.want)
		}
	}
}
