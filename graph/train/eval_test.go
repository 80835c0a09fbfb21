package train

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// linear3 is a 2-3 softmax classifier with weights set by hand.
func linear3(t *testing.T, extra ...graph.Layer) *graph.Model {
	t.Helper()
	layers := append([]graph.Layer{&graph.Dense{Units: 3}}, extra...)
	m, err := graph.NewSequential([]int{2}, append(layers, graph.Softmax{})...)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetParam("fc1.weight", []int{2, 3}, []float32{1, -1, 0.5, 0.25, 2, -0.5}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetParam("fc1.bias", []int{3}, []float32{0.1, 0, -0.1}); err != nil {
		t.Fatal(err)
	}
	return m
}

var (
	evalX      = []float32{1, 0, 0, 1, -1, 1, 0.5, 0.5, 2, -1}
	evalLabels = []int{0, 1, 2, 1, 2}
)

// wantMetrics computes the mean cross-entropy and accuracy of linear3 on
// evalX by hand, in float64.
func wantMetrics() (loss, acc float64) {
	w := []float64{1, -1, 0.5, 0.25, 2, -0.5}
	b := []float64{0.1, 0, -0.1}
	correct := 0
	for i, l := range evalLabels {
		x0, x1 := float64(evalX[2*i]), float64(evalX[2*i+1])
		z := make([]float64, 3)
		best := 0
		for j := range z {
			z[j] = x0*w[j] + x1*w[3+j] + b[j]
			if z[j] > z[best] {
				best = j
			}
		}
		sum := 0.0
		for _, v := range z {
			sum += math.Exp(v)
		}
		loss -= z[l] - math.Log(sum)
		if best == l {
			correct++
		}
	}
	return loss / float64(len(evalLabels)), float64(correct) / float64(len(evalLabels))
}

// Evaluate gives the mean loss and accuracy computed by hand, whatever the
// batch size, with one-hot targets or labels, and in inference mode: a
// dropout layer changes nothing.
func TestEvaluate(t *testing.T) {
	wantLoss, wantAcc := wantMetrics()
	x := tensor.New(tensor.WithShape(5, 2), tensor.WithBacking(evalX))
	for _, test := range []struct {
		name   string
		m      *graph.Model
		losses []Loss
		target *tensor.Dense
		batch  int
	}{
		{"one-hot, one batch", linear3(t), nil, oneHot(evalLabels, 3), 5},
		{"one-hot, batches of 2", linear3(t), nil, oneHot(evalLabels, 3), 2},
		{"labels", linear3(t), []Loss{SparseCrossEntropy}, tensor.New(tensor.WithShape(5), tensor.WithBacking(evalLabels)), 3},
		{"dropout off", linear3(t, &graph.Dropout{Rate: 0.9}), nil, oneHot(evalLabels, 3), 4},
	} {
		tr, err := NewTrainer(test.m, Config{Losses: test.losses})
		if err != nil {
			t.Fatal(err)
		}
		got, err := tr.Evaluate(x, test.target, test.batch)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got.Loss-wantLoss) > 1e-6 || got.Accuracy != wantAcc || got.Samples != 5 {
			t.Errorf("%s: %+v, want loss %.6f accuracy %v", test.name, got, wantLoss, wantAcc)
		}
	}
	acc, err := Accuracy(graph.NewPredictor(linear3(t)), x, evalLabels, 2)
	if err != nil || acc != wantAcc {
		t.Errorf("Accuracy %v (%v), want %v", acc, err, wantAcc)
	}
}

// Evaluating between epochs (a validation split) does not change the run.
func TestEvaluateLeavesTheRunAlone(t *testing.T) {
	x, y, _ := toyData(30)
	run := func(evaluate bool) []byte {
		m := smallNet(t)
		tr, err := NewTrainer(m, Config{Seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := tr.Epoch(x, y, 8, nil); err != nil {
				t.Fatal(err)
			}
			if evaluate {
				if _, err := tr.Evaluate(x, y, 7); err != nil {
					t.Fatal(err)
				}
			}
		}
		var buf bytes.Buffer
		if err := tr.WriteCheckpoint(&buf, nil); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	if !bytes.Equal(run(false), run(true)) {
		t.Error("evaluating between epochs changed the trained model or its state")
	}
}

// Training on labels (ints or float32 whole numbers) with
// SparseCrossEntropy gives the model that one-hot rows with CrossEntropy
// give, bit for bit; bad labels are errors naming them.
func TestSparseLabels(t *testing.T) {
	x, y, labels := toyData(30)
	run := func(loss Loss, target *tensor.Dense) []byte {
		m := smallNet(t)
		tr, err := NewTrainer(m, Config{Seed: 5, Losses: []Loss{loss}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Epoch(x, target, 8, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Step(tensor.New(tensor.WithShape(2, 6), tensor.WithBacking(x.Data().([]float32)[:12])), sliceRows(target, 2)); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := checkpoint.Write(&buf, m); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	dense := run(CrossEntropy, y)
	floats := make([]float32, 30)
	for i, l := range labels.Data().([]int) {
		floats[i] = float32(l)
	}
	if !bytes.Equal(dense, run(SparseCrossEntropy, labels)) || !bytes.Equal(dense, run(SparseCrossEntropy, tensor.New(tensor.WithShape(30), tensor.WithBacking(floats)))) {
		t.Error("sparse labels train differently from one-hot rows")
	}
	m := smallNet(t)
	tr, _ := NewTrainer(m, Config{Losses: []Loss{SparseCrossEntropy}})
	xs := tensor.New(tensor.WithShape(2, 6), tensor.WithBacking(make([]float32, 12)))
	for _, test := range []struct {
		labels *tensor.Dense
		want   string
	}{
		{tensor.New(tensor.WithShape(2), tensor.WithBacking([]int{0, 3})), "label 1 is 3, not in [0, 3)"},
		{tensor.New(tensor.WithShape(2), tensor.WithBacking([]int{-1, 0})), "label 0 is -1"},
		{tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{0, 1.5})), "not a whole number"},
		{tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(make([]float32, 6))), "want (N,)"},
		{tensor.New(tensor.WithShape(3), tensor.WithBacking([]int{0, 1, 2})), "2 samples"},
	} {
		_, err := tr.Step(xs, test.labels)
		if err == nil || !strings.Contains(err.Error(), test.want) {
			t.Errorf("labels %v: error %v, want one mentioning %q", test.labels.Data(), err, test.want)
		}
	}
}

func sliceRows(t *tensor.Dense, n int) *tensor.Dense {
	shape := append([]int{n}, t.Shape()[1:]...)
	per := t.Shape().TotalSize() / t.Shape()[0]
	switch d := t.Data().(type) {
	case []float32:
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d[:n*per]))
	case []int:
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d[:n*per]))
	}
	panic("type")
}

// twoHeads has a softmax classifier output and a linear regression output.
func twoHeads(t *testing.T) *graph.Model {
	t.Helper()
	x := graph.Input("x", 2)
	cls := graph.Apply(graph.Softmax{}, graph.Apply(&graph.Dense{Units: 3}, x))
	reg := graph.Apply(&graph.Dense{Units: 1}, x)
	m, err := graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{cls, reg})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	return m
}

// mseOnProbabilities is a loss of one's own on the softmax output itself:
// mean of (p - t)².
var mseOnProbabilities = LossFunc{Name: "mse_probabilities", Func: func(y, t *gorgonia.Node) (*gorgonia.Node, error) {
	d, err := gorgonia.Sub(y, t)
	if err != nil {
		return nil, err
	}
	sq, err := gorgonia.Square(d)
	if err != nil {
		return nil, err
	}
	return gorgonia.Mean(sq)
}}

// A model with two outputs trains on the weighted sum of their losses:
// the objective Evaluate reports is Σ weight·loss of each output's loss
// measured alone. A loss of one's own receives the output (probabilities)
// or, with OnLogits, the logits.
func TestLossWeightsAndOwnLosses(t *testing.T) {
	x := tensor.New(tensor.WithShape(5, 2), tensor.WithBacking(evalX))
	reg := tensor.New(tensor.WithShape(5, 1), tensor.WithBacking([]float32{0.5, -1, 2, 0, 1}))
	ts := []*tensor.Dense{oneHot(evalLabels, 3), reg}
	score := func(cfg Config) float64 {
		t.Helper()
		tr, err := NewTrainer(twoHeads(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tr.EvaluateInputs([]*tensor.Dense{x}, ts, 5)
		if err != nil {
			t.Fatal(err)
		}
		return got.Loss
	}
	ce, mse := score(Config{LossWeights: []float64{1, 0}}), score(Config{LossWeights: []float64{0, 1}})
	// Labels for the first output: the same objective, and a step takes them.
	labels := tensor.New(tensor.WithShape(5), tensor.WithBacking(evalLabels))
	sparse, err := NewTrainer(twoHeads(t), Config{Losses: []Loss{SparseCrossEntropy}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := sparse.EvaluateInputs([]*tensor.Dense{x}, []*tensor.Dense{labels, reg}, 2); err != nil || math.Abs(got.Loss-(ce+mse)) > 1e-6 {
		t.Errorf("labels for the first of two outputs: %v (%v), want %v", got.Loss, err, ce+mse)
	}
	if _, err := sparse.StepInputs([]*tensor.Dense{x}, []*tensor.Dense{labels, reg}); err != nil {
		t.Errorf("a step on labels and regression targets: %v", err)
	}
	if got, want := score(Config{LossWeights: []float64{2, 0.5}}), 2*ce+0.5*mse; math.Abs(got-want) > 1e-6 {
		t.Errorf("weighted objective %v, want 2·%v + 0.5·%v = %v", got, ce, mse, want)
	}
	if got := score(Config{}); math.Abs(got-(ce+mse)) > 1e-6 {
		t.Errorf("default objective %v, want the sum %v", got, ce+mse)
	}
	onLogits := LossFunc{Name: "ce", OnLogits: true, Func: func(y, t *gorgonia.Node) (*gorgonia.Node, error) { return CrossEntropy.Build(y, t, graph.Logits) }}
	if got := score(Config{Losses: []Loss{onLogits}, LossWeights: []float64{1, 0}}); math.Abs(got-ce) > 1e-7 {
		t.Errorf("own cross-entropy on logits %v, built-in %v", got, ce)
	}
	// The probabilities by hand: softmax of the first head's logits.
	m := twoHeads(t)
	outs, err := graph.NewPredictor(m).Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	p, want := outs[0].Data().([]float32), 0.0
	for i, l := range evalLabels {
		for j := range 3 {
			d := float64(p[3*i+j])
			if j == l {
				d--
			}
			want += d * d / 15
		}
	}
	if got := score(Config{Losses: []Loss{mseOnProbabilities}, LossWeights: []float64{1, 0}}); math.Abs(got-want) > 1e-6 {
		t.Errorf("own loss on probabilities %v, by hand %v", got, want)
	}
	// And it trains: the loss falls.
	tr, err := NewTrainer(m, Config{Losses: []Loss{mseOnProbabilities}, LossWeights: []float64{1, 0.1}, LearningRate: 0.05, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := tr.EvaluateInputs([]*tensor.Dense{x}, ts, 5)
	for range 20 {
		if _, err := tr.EpochInputs([]*tensor.Dense{x}, ts, 5, nil); err != nil {
			t.Fatal(err)
		}
	}
	if last, _ := tr.EvaluateInputs([]*tensor.Dense{x}, ts, 5); last.Loss > first.Loss/2 {
		t.Errorf("own loss %v after 20 steps, %v before", last.Loss, first.Loss)
	}
	for _, cfg := range []Config{{LossWeights: []float64{1}}, {LossWeights: []float64{1, -1}}, {Losses: []Loss{CrossEntropy, MeanSquaredError, CrossEntropy}}} {
		if _, err := NewTrainer(m, cfg); err == nil {
			t.Errorf("config %+v: no error", cfg)
		}
	}
}

// EarlyStopping keeps the best epoch and stops after Patience epochs
// without a rise of more than MinDelta.
func TestEarlyStopping(t *testing.T) {
	for _, test := range []struct {
		name      string
		e         EarlyStopping
		scores    []float64
		stopAt    int // epoch that reports stop (0: never)
		bestEpoch int
	}{
		{"improving", EarlyStopping{Patience: 2}, []float64{0.1, 0.2, 0.3, 0.4}, 0, 4},
		{"plateau", EarlyStopping{Patience: 2}, []float64{0.5, 0.6, 0.6, 0.55}, 4, 2},
		{"min delta", EarlyStopping{Patience: 2, MinDelta: 0.05}, []float64{0.5, 0.52, 0.54, 0.7}, 3, 1},
		{"no patience never stops", EarlyStopping{}, []float64{0.9, 0.1, 0.1, 0.1}, 0, 1},
		{"NaN is no improvement", EarlyStopping{Patience: 1}, []float64{0.3, math.NaN()}, 2, 1},
	} {
		e := test.e
		stopAt := 0
		for i, s := range test.scores {
			best, stop := e.Observe(i+1, s)
			if best != (e.BestEpoch == i+1) {
				t.Errorf("%s: epoch %d: best %v but BestEpoch %d", test.name, i+1, best, e.BestEpoch)
			}
			if stop {
				stopAt = i + 1
				break
			}
		}
		if stopAt != test.stopAt || e.BestEpoch != test.bestEpoch {
			t.Errorf("%s: stop at %d, best epoch %d; want %d, %d", test.name, stopAt, e.BestEpoch, test.stopAt, test.bestEpoch)
		}
	}
}

// Early stopping on a validation split: keep training while the
// validation accuracy rises, and keep the best epoch's model.
func ExampleEarlyStopping() {
	stop := EarlyStopping{Patience: 2}
	for epoch, acc := range []float64{0.90, 0.93, 0.95, 0.94, 0.95, 0.96} {
		best, done := stop.Observe(epoch+1, acc)
		fmt.Printf("epoch %d: validation %.2f best %v\n", epoch+1, acc, best)
		if done {
			break
		}
	}
	fmt.Printf("best epoch %d (%.2f)\n", stop.BestEpoch, stop.Best)
	// Output:
	// epoch 1: validation 0.90 best true
	// epoch 2: validation 0.93 best true
	// epoch 3: validation 0.95 best true
	// epoch 4: validation 0.94 best false
	// epoch 5: validation 0.95 best false
	// best epoch 3 (0.95)
}
