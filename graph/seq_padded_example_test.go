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

// A classifier of padded id sequences: int64 ids (6 steps, padded) and
// each sample's length in, a bidirectional LSTM that stops at each
// sample's length, its states averaged over the valid steps, 3 classes out.
func paddedClassifier() (*graph.Model, error) {
	ids := graph.Input("ids", 6).As(graph.Int64)
	lengths := graph.Input("lengths").As(graph.Int64)
	h := graph.Apply(&graph.Embedding{Vocab: 20, Dim: 8, Padding: new(int)}, ids)
	h = graph.Apply(&graph.LSTM{Units: 5, Sequences: true, Bidirectional: true}, h, lengths)
	h = graph.Apply(&graph.MaskedMean{}, h, lengths)
	y := graph.Apply(&graph.Dense{Units: 3}, h)
	return graph.NewModel([]*graph.Tensor{ids, lengths}, []*graph.Tensor{graph.Apply(graph.Softmax{}, y)})
}

// A bidirectional LSTM over padded batches: the lengths are a second
// input of the LSTM and of the pooling.
func ExampleMaskedMean() {
	m, err := paddedClassifier()
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
	// lstm1 lstm [6 10]
	// maskedmean1 maskedmean [10]
	// fc1 dense [3]
	// softmax1 softmax [3]
	// [lstm1.weight_ih lstm1.weight_hh lstm1.bias_ih lstm1.bias_hh lstm1.weight_ih_reverse lstm1.weight_hh_reverse lstm1.bias_ih_reverse lstm1.bias_hh_reverse]
}

func int64s(shape []int, v ...int64) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
}

// TestPaddedRoundTrip: the padded classifier saves and reloads (same
// spec, same predictions), and what lies past a sample's length changes
// nothing.
func TestPaddedRoundTrip(t *testing.T) {
	m, err := paddedClassifier()
	if err != nil {
		t.Fatal(err)
	}
	m.Init(5)
	ids := int64s([]int{2, 6}, 3, 4, 5, 0, 0, 0, 7, 8, 9, 10, 11, 12)
	lengths := int64s([]int{2}, 3, 6)
	want, err := graph.NewPredictor(m).Predict(ids, lengths)
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
	got, err := graph.NewPredictor(back).Predict(ids, lengths)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[0].Float32s(), want[0].Float32s()) {
		t.Errorf("reloaded model predicts %v, want %v", got[0].Float32s(), want[0].Float32s())
	}
	a, _ := m.MarshalJSON()
	b, _ := back.MarshalJSON()
	if !bytes.Equal(a, b) || !strings.Contains(string(a), `"bidirectional":true`) {
		t.Errorf("spec changed or lost bidirectional:\n%s\n%s", a, b)
	}
	// Other ids past sample 0's length: the same prediction for it.
	other, err := graph.NewPredictor(m).Predict(int64s([]int{2, 6}, 3, 4, 5, 19, 18, 17, 7, 8, 9, 10, 11, 12), lengths)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(other[0].Float32s(), want[0].Float32s()) {
		t.Errorf("ids past the length changed the prediction: %v, want %v", other[0].Float32s(), want[0].Float32s())
	}
	// A shorter length does change it.
	short, err := graph.NewPredictor(m).Predict(ids, int64s([]int{2}, 2, 6))
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(short[0].Float32s()[:3], want[0].Float32s()[:3]) || !slices.Equal(short[0].Float32s()[3:], want[0].Float32s()[3:]) {
		t.Errorf("length 2 instead of 3: %v, want sample 0 changed and sample 1 not (%v)", short[0].Float32s(), want[0].Float32s())
	}
}

// TestPaddedBadInput: lengths or masks of the wrong shape are one error
// naming the layer when applied; lengths above the sequence's, or padding
// before a valid step, one line when the model runs.
func TestPaddedBadInput(t *testing.T) {
	ids := graph.Input("ids", 6).As(graph.Int64)
	h := graph.Apply(&graph.Embedding{Vocab: 20, Dim: 4}, ids)
	for _, c := range []struct {
		layer graph.Layer
		extra *graph.Tensor
		want  string
	}{
		{&graph.LSTM{Units: 3}, graph.Input("lengths", 2).As(graph.Int64), "layer lstm: applied to [[6 4] [2] int64]: lstm: lengths of shape (1, 2), want (batch) or (batch, 1) = (1)"},
		{&graph.GRU{Units: 3, Bidirectional: true}, graph.Input("mask", 5).As(graph.Bool), "layer gru: applied to [[6 4] [5] bool]: gru: padding mask of shape (1, 5), want (batch, time) = (1, 6)"},
		{&graph.MaskedMean{}, graph.Input("mask", 7).As(graph.Bool), "layer maskedmean: applied to [[6 4] [7] bool]: maskedmean: padding mask of shape (1, 7), want (batch, time) = (1, 6)"},
		{&graph.SimpleRNN{Units: 3}, graph.Input("lengths").As(graph.Float64), "input 1 is float64"},
		{&graph.LSTM{Units: 3, Bidirectional: true}, graph.Input("h0", 3), "lstm: initial state float32 (1, 3), want float32 (1, 2, 3)"},
	} {
		y := graph.Apply(c.layer, h, c.extra)
		_, err := graph.NewModel([]*graph.Tensor{ids, c.extra}, []*graph.Tensor{y})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line with %q", c.layer.Kind(), err, c.want)
		}
	}
	m, err := paddedClassifier()
	if err != nil {
		t.Fatal(err)
	}
	pr := graph.NewPredictor(m)
	for _, c := range []struct {
		lengths []int64
		want    string
	}{
		{[]int64{7}, "layer lstm1: lstm: input value out of range: length 7 of sample 0 is outside [0, 6]"},
		{[]int64{-1}, "length -1 of sample 0 is outside [0, 6]"},
	} {
		_, err := pr.Predict(int64s([]int{1, 6}, 1, 2, 3, 4, 5, 6), int64s([]int{1}, c.lengths...))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("lengths %v: error %v, want one line with %q", c.lengths, err, c.want)
		}
	}
	x := graph.Input("x", 4, 2)
	mask := graph.Input("mask", 4).As(graph.Bool)
	mm, err := graph.NewModel([]*graph.Tensor{x, mask}, []*graph.Tensor{graph.Apply(&graph.GRU{Units: 2}, x, mask)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = graph.NewPredictor(mm).Predict(tensor.New(tensor.WithShape(1, 4, 2), tensor.Of(tensor.Float32)),
		tensor.New(tensor.WithShape(1, 4), tensor.WithBacking([]bool{false, true, false, true})))
	if want := "layer gru1: gru: input value out of range: padding mask of sample 0 has a valid step 2 after padding step 1"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("padding before a valid step: %v, want %q", err, want)
	}
}
