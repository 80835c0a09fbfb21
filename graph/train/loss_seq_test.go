package train

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/graph"
	"gorgonia.org/tensor"
)

// seqLossRef is one case of testdata/loss_seq_reference.json.
type seqLossRef struct {
	Name, Loss, Meaning string
	Ignore              *int
	Shape               []int
	Y                   []float64
	Labels              []int64
	Want                float64
	Grad                []float64
}

// oneHotTargets expands labels (shape without the last axis of shape) as
// the Trainer does: one-hot rows, zeros where the label is ignored.
func oneHotTargets(t *testing.T, l Loss, shape []int, labels []int64) []float32 {
	t.Helper()
	lt := tensor.New(tensor.WithShape(shape[:len(shape)-1]...), tensor.WithBacking(labels))
	got, err := sparseLabels(l, lt, shape[0], shape[1:])
	if err != nil {
		t.Fatal(err)
	}
	classes := shape[len(shape)-1]
	steps := len(got) / shape[0]
	dst := make([]float32, len(got)*classes)
	if err := fillOneHot(dst, got, allSamples(shape[0]), classes, steps); err != nil {
		t.Fatal(err)
	}
	return dst
}

// The per-step sparse losses, with and without an ignore index, give
// PyTorch's F.cross_entropy / F.nll_loss (ignore_index, mean over the
// non-ignored positions) and gradients on (batch, time, classes) outputs
// of every meaning.
func TestSequenceLossesMatchPyTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/loss_seq_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct{ Cases []seqLossRef }
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 10 {
		t.Fatalf("%d cases", len(ref.Cases))
	}
	for _, c := range ref.Cases {
		var l Loss = LossName(c.Loss)
		if c.Ignore != nil {
			l = IgnoreIndex{Loss: LossName(c.Loss), Index: *c.Ignore}
		}
		m, err := graph.ParseMeaning(c.Meaning)
		if err != nil {
			t.Fatal(err)
		}
		in := m
		if c.Loss == "sparse_nll" && m == graph.Logits {
			in = graph.LogProbabilities // cut to the logits of its final log-softmax
		}
		if _, err := l.Input(in, c.Shape[1:]); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		target := oneHotTargets(t, l, c.Shape, c.Labels)
		got, grad := lossAndGrad(t, l, m, c.Shape, f32sOf(c.Y), target)
		if d := math.Abs(got - c.Want); d > 2e-6*math.Max(1, math.Abs(c.Want)) {
			t.Errorf("%s: loss %.8g, PyTorch %.8g (diff %.2g)", c.Name, got, c.Want, d)
		}
		worst := 0.0
		for i, g := range grad {
			worst = math.Max(worst, math.Abs(float64(g)-c.Grad[i]))
		}
		if worst > 1e-6 {
			t.Errorf("%s: gradient differs from PyTorch's by up to %.2g", c.Name, worst)
		}
		t.Logf("%-34s %-40s loss %.6f  |Δloss| %.1e  max|Δgrad| %.1e", c.Name, l, got, math.Abs(got-c.Want), worst)
	}
}

// A batch whose every position is ignored has loss 0 and gradient 0, not
// PyTorch's NaN.
func TestIgnoreIndexAllIgnored(t *testing.T) {
	l := IgnoreIndex{Index: 0}
	shape := []int{2, 3, 4}
	y := make([]float32, 24)
	for i := range y {
		y[i] = float32(i%5) - 2
	}
	target := oneHotTargets(t, l, shape, make([]int64, 6))
	got, grad := lossAndGrad(t, l, graph.Logits, shape, y, target)
	if got != 0 {
		t.Errorf("loss %v, want 0", got)
	}
	for i, g := range grad {
		if g != 0 {
			t.Fatalf("gradient %d is %v, want 0", i, g)
		}
	}
}

// Bad labels are one-line errors naming what is wrong.
func TestSequenceLabelsBad(t *testing.T) {
	for _, c := range []struct {
		loss   Loss
		shape  []int // the output's per-sample shape
		labels *tensor.Dense
		want   string
	}{
		{SparseCrossEntropy, []int{4, 5}, tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(make([]int64, 6))), "labels have shape (2, 3), want (N, 4): one per position"},
		{SparseCrossEntropy, []int{2, 5}, tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]int64{1, 5})), "label 1 is 5, not in [0, 5)"},
		{IgnoreIndex{Index: -100}, []int{2, 5}, tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]int64{-100, -1})), "label 1 is -1, not in [0, 5) nor the ignored -100"},
		{IgnoreIndex{Loss: SparseNLL, Index: 0}, []int{2, 5}, tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float32{0, 1.5})), "label 1 is 1.5, not a whole number"},
	} {
		_, err := sparseLabels(c.loss, c.labels, c.labels.Shape()[0], c.shape)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want %q", c.loss, err, c.want)
		}
	}
	if _, err := (IgnoreIndex{Loss: MeanSquaredError}).Input(graph.Values, []int{3, 2}); err == nil || !strings.Contains(err.Error(), "ignore_index needs sparse_cross_entropy or sparse_nll") {
		t.Errorf("ignore index on mse: %v", err)
	}
}

// The Trainer takes (N, time) labels for a (time, classes) output of
// logits and ignores the padding label: the loss of a step is the mean of
// -log softmax over the labelled positions of the predictions.
func TestTrainerIgnoreIndex(t *testing.T) {
	const n, steps, feats, classes = 4, 5, 3, 6
	model := func() *graph.Model {
		m, err := graph.NewSequential([]int{steps, feats}, &graph.GRU{Units: 8, Sequences: true}, &graph.TimeDense{Units: classes})
		if err != nil {
			t.Fatal(err)
		}
		m.Init(3)
		return m
	}
	m := model()
	x := tensor.New(tensor.WithShape(n, steps, feats), tensor.Of(tensor.Float32))
	for i, v := range x.Float32s() {
		x.Float32s()[i] = float32(math.Sin(float64(i)*0.7)) + v
	}
	labels := []int64{1, 2, 3, 0, 0, 5, 4, 3, 2, 0, 2, 2, 0, 0, 0, 1, 1, 1, 1, 1}
	logits, err := graph.NewPredictor(m).Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	want, count := 0.0, 0
	for r, l := range labels {
		if l == 0 {
			continue
		}
		z := logits.Float32s()[r*classes : (r+1)*classes]
		sum := 0.0
		for _, v := range z {
			sum += math.Exp(float64(v))
		}
		want -= float64(z[l]) - math.Log(sum)
		count++
	}
	want /= float64(count)
	step := func(labels []int64) float32 {
		t.Helper()
		tr, err := NewTrainer(model(), Config{Losses: []Loss{IgnoreIndex{Index: 0}}, LearningRate: 0.01})
		if err != nil {
			t.Fatal(err)
		}
		loss, err := tr.Step(x, tensor.New(tensor.WithShape(n, steps), tensor.WithBacking(labels)))
		if err != nil {
			t.Fatal(err)
		}
		return loss
	}
	got := step(labels)
	if d := math.Abs(float64(got) - want); d > 1e-5 {
		t.Errorf("trainer loss %.7f, want %.7f from the predictions", got, want)
	}
	// A position that was ignored, now labelled, changes the loss.
	other := append([]int64(nil), labels...)
	other[3] = 4
	if step(other) == got {
		t.Error("a labelled position that was ignored did not change the loss")
	}
	// Evaluate scores only the labelled positions (one batch: its loss is
	// the mean over the batch's labelled positions).
	tr, err := NewTrainer(model(), Config{Losses: []Loss{IgnoreIndex{Index: 0}}})
	if err != nil {
		t.Fatal(err)
	}
	met, err := tr.Evaluate(x, tensor.New(tensor.WithShape(n, steps), tensor.WithBacking(labels)), n)
	if err != nil {
		t.Fatal(err)
	}
	right := 0
	for r, l := range labels {
		if l == 0 {
			continue
		}
		z := logits.Float32s()[r*classes : (r+1)*classes]
		best := 0
		for c, v := range z {
			if v > z[best] {
				best = c
			}
		}
		if best == int(l) {
			right++
		}
	}
	if wantAcc := float64(right) / float64(count); math.Abs(met.Accuracy-wantAcc) > 1e-12 || math.Abs(met.Loss-want) > 1e-5*math.Max(1, want) {
		t.Errorf("evaluate: accuracy %v loss %v, want %v (%d of %d labelled) and %v", met.Accuracy, met.Loss, wantAcc, right, count, want)
	}
	t.Logf("trainer loss %.7f, from predictions %.7f; accuracy %v over %d labelled positions", got, want, met.Accuracy, count)
}

// A padded-batch classifier (int64 ids and lengths, a bidirectional LSTM
// stopped at each length, MaskedMean over the valid steps) learns a task
// that depends only on the valid steps: the class is the id at the last
// valid step; the padding holds random ids.
func TestTrainPaddedBatches(t *testing.T) {
	const n, steps, vocab, classes = 96, 6, 6, 3
	ids := graph.Input("ids", steps).As(graph.Int64)
	lengths := graph.Input("lengths").As(graph.Int64)
	h := graph.Apply(&graph.Embedding{Vocab: vocab, Dim: 8}, ids)
	h = graph.Apply(&graph.LSTM{Units: 12, Sequences: true, Bidirectional: true}, h, lengths)
	h = graph.Apply(&graph.MaskedMean{}, h, lengths)
	y := graph.Apply(&graph.Dense{Units: classes}, h)
	m, err := graph.NewModel([]*graph.Tensor{ids, lengths}, []*graph.Tensor{graph.Apply(graph.Softmax{}, y)})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(4)
	idv, lv, labels := make([]int64, n*steps), make([]int64, n), make([]int64, n)
	rng := rand.New(rand.NewPCG(22, 1))
	for i := range n {
		lv[i] = 1 + rng.Int64N(steps)
		for s := range steps {
			idv[i*steps+s] = rng.Int64N(vocab)
		}
		labels[i] = idv[i*steps+int(lv[i])-1] % classes
	}
	xs := []*tensor.Dense{tensor.New(tensor.WithShape(n, steps), tensor.WithBacking(idv)), tensor.New(tensor.WithShape(n), tensor.WithBacking(lv))}
	ts := []*tensor.Dense{tensor.New(tensor.WithShape(n), tensor.WithBacking(labels))}
	tr, err := NewTrainer(m, Config{Losses: []Loss{SparseCrossEntropy}, LearningRate: 0.02, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	first, err := tr.EvaluateInputs(xs, ts, n)
	if err != nil {
		t.Fatal(err)
	}
	for range 30 {
		if _, err := tr.EpochInputs(xs, ts, 16, nil); err != nil {
			t.Fatal(err)
		}
	}
	last, err := tr.EvaluateInputs(xs, ts, n)
	if err != nil {
		t.Fatal(err)
	}
	if last.Loss > first.Loss/4 || last.Accuracy < 0.95 {
		t.Errorf("loss %.3f -> %.3f, accuracy %.2f -> %.2f: did not learn", first.Loss, last.Loss, first.Accuracy, last.Accuracy)
	}
	t.Logf("loss %.3f -> %.3f, accuracy %.2f -> %.2f", first.Loss, last.Loss, first.Accuracy, last.Accuracy)
}
