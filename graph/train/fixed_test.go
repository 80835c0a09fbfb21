package train

import (
	"context"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
)

// A model whose inputs have a fixed batch (a default torch.onnx.export)
// trains through Fit in batches of its batch, drops the last partial one,
// and evaluates sets of a whole number of its batches.
func TestFitFixedBatch(t *testing.T) {
	newModel := func() *graph.Model {
		in := graph.Input("ids", 2).As(graph.Int64).WithBatch(4)
		z := graph.Apply(&graph.Embedding{Vocab: 6, Dim: 3}, in)
		z = graph.Apply(graph.Flatten{}, z)
		z = graph.Apply(&graph.Dense{Units: 2}, z)
		z = graph.Apply(graph.Softmax{}, z)
		m, err := graph.NewModel([]*graph.Tensor{in}, []*graph.Tensor{z})
		if err != nil {
			t.Fatal(err)
		}
		m.Init(1)
		return m
	}
	x, labels, _ := idsData(graph.Int64, 66) // 16 batches of 4 and 2 left over
	tx, tl, _ := idsData(graph.Int64, 66)
	testX := graph.SampleRange(tx, 0, 64)
	testT := graph.SampleRange(tl, 0, 64)
	fit := func(m *graph.Model, batch int, testX, testT *tensor.Dense) (*History, error) {
		tr, err := NewTrainer(m, Config{Losses: []Loss{SparseCrossEntropy}, Optimizer: &Adam{}, LearningRate: 0.05})
		if err != nil {
			t.Fatal(err)
		}
		return Fit(context.Background(), tr, FitData{X: []*tensor.Dense{x}, T: []*tensor.Dense{labels},
			TestX: []*tensor.Dense{testX}, TestT: []*tensor.Dense{testT}}, FitOptions{Epochs: 15, Batch: batch, Seed: 3})
	}
	h, err := fit(newModel(), 4, testX, testT)
	if err != nil {
		t.Fatal(err)
	}
	first, last := h.Epochs[0], h.Epochs[len(h.Epochs)-1]
	if !(last.Loss < first.Loss/2) || last.Test.Accuracy < 0.9 {
		t.Errorf("loss %.4f -> %.4f, test accuracy %.4f: the fixed-batch model did not learn", first.Loss, last.Loss, last.Test.Accuracy)
	}
	if first.Steps != 16 {
		t.Errorf("%d steps an epoch, want 16 (66 samples in batches of 4, the last 2 dropped)", first.Steps)
	}
	if last.Test.Samples != 64 {
		t.Errorf("test samples %d, want 64", last.Test.Samples)
	}
	for _, c := range []struct {
		batch        int
		testX, testT *tensor.Dense
		want         string
	}{
		{8, testX, testT, "fixed batch of 4 (every input's first axis): train with batches of 4, not 8"},
		{4, tx, tl, "66 samples are not a whole number of the model's fixed batches of 4"},
		{4, graph.SampleRange(tx, 0, 3), graph.SampleRange(tl, 0, 3), "3 samples, fewer than the model's fixed batch of 4"},
	} {
		if _, err := fit(newModel(), c.batch, c.testX, c.testT); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("batch %d: error %v, want %q", c.batch, err, c.want)
		}
	}
}
