package train

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
)

// headModel is 4 inputs -> Dense units -> head (nil: none).
func headModel(t *testing.T, units int, head graph.Layer) *graph.Model {
	t.Helper()
	layers := []graph.Layer{&graph.Dense{Units: units}}
	if head != nil {
		layers = append(layers, head)
	}
	m, err := graph.NewSequential([]int{4}, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The default loss follows the output's meaning and the task; a loss
// that fits neither is one error naming it.
func TestChooseLoss(t *testing.T) {
	for _, test := range []struct {
		name       string
		head       graph.Layer
		units      int
		loss       string
		regression bool
		want, why  string // want "" : an error containing why
	}{
		{"softmax", graph.Softmax{}, 3, "", false, "cross_entropy", "the output means probabilities"},
		{"log-softmax", graph.LogSoftmax{}, 3, "", false, "nll", "the output means log_probabilities"},
		{"sigmoid", graph.Sigmoid{}, 1, "", false, "binary_cross_entropy", "the output means binary_probabilities"},
		{"values, labels", nil, 3, "", false, "cross_entropy", "the output means values, the targets are class labels"},
		{"values, regression", nil, 2, "", true, "mse", "the output means values, the targets are regression targets"},
		{"given", graph.Softmax{}, 3, "sparse_cross_entropy", false, "sparse_cross_entropy", "given, on output probabilities of class labels"},
		{"huber", nil, 2, "huber", true, "huber", "given"},
		{"nll on probabilities", graph.Softmax{}, 3, "nll", false, "", "loss nll does not fit the model's output (probabilities, shape [3])"},
		{"cross-entropy on regression", nil, 2, "cross_entropy", true, "", "loss cross_entropy is a classification loss, but the data has regression targets"},
		{"unknown", nil, 2, "hinge", false, "", `loss "hinge"`},
	} {
		loss, why, err := ChooseLoss(headModel(t, test.units, test.head), test.loss, test.regression)
		switch {
		case test.want == "" && (err == nil || !strings.HasPrefix(err.Error(), test.why)):
			t.Errorf("%s: error %v, want one starting %q", test.name, err, test.why)
		case test.want != "" && (err != nil || loss.String() != test.want || !strings.HasPrefix(why, test.why)):
			t.Errorf("%s: %v (%q), %v; want %s (%q)", test.name, loss, why, err, test.want, test.why)
		}
	}
}

func TestCheckTargets(t *testing.T) {
	for _, test := range []struct {
		units, classes, columns int
		want                    string // "" : fits
	}{
		{10, 10, 0, ""},
		{10, 3, 0, ""}, // a wider output than the classes: fine
		{3, 5, 0, "the model's output has shape [3], but the data has 5 classes"},
		{2, 0, 2, ""},
		{3, 0, 2, "the model's output has shape [3], but the data has 2 regression targets per sample"},
	} {
		err := CheckTargets(headModel(t, test.units, nil), test.classes, test.columns)
		if (test.want == "") != (err == nil) || err != nil && err.Error() != test.want {
			t.Errorf("%d units, %d classes, %d columns: %v, want %q", test.units, test.classes, test.columns, err, test.want)
		}
	}
}

// Targets: one-hot rows as wide as the output, the labels for a sparse
// loss, regression values as they are.
func TestTargets(t *testing.T) {
	m := headModel(t, 4, graph.Softmax{})
	oh, err := Targets(m, CrossEntropy, []int{2, 0, 3}, nil)
	if err != nil || !slices.Equal([]int(oh.Shape()), []int{3, 4}) ||
		!slices.Equal(oh.Data().([]float32), []float32{0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1}) {
		t.Errorf("one-hot: %v %v", oh, err)
	}
	sp, err := Targets(m, SparseCrossEntropy, []int{2, 0, 3}, nil)
	if err != nil || !slices.Equal(sp.Data().([]int), []int{2, 0, 3}) || sp.Dims() != 1 {
		t.Errorf("sparse: %v %v", sp, err)
	}
	v := tensor.New(tensor.WithShape(2, 1), tensor.WithBacking([]float32{0.5, -1}))
	if got, err := Targets(m, MeanSquaredError, nil, v); err != nil || got != v {
		t.Errorf("values: %v %v", got, err)
	}
	if _, err := Targets(m, CrossEntropy, []int{1, 4}, nil); err == nil || err.Error() != "label 1 is 4, not one of the output's 4 classes" {
		t.Errorf("label out of range: %v", err)
	}
}

func TestValidationSize(t *testing.T) {
	for _, test := range []struct {
		v    string
		n    int
		want int
		err  string
	}{
		{"5000", 60000, 5000, ""},
		{"0.1", 60000, 6000, ""},
		{"0.001", 300, 1, ""}, // 0.3 rounds to 0: at least 1
		{"0.5", math.MaxInt, 1, ""},
		{"1e-1", 50, 5, ""},
		{"abc", 10, 0, `validation "abc" is neither a count of samples nor a fraction in (0, 1)`},
		{"1.5", 10, 0, "is neither"},
		{"0", 10, 0, "is neither"},
		{"-3", 10, 0, "is neither"},
		{"300", 300, 0, "validation 300 takes 300 of the 300 training samples: none would be left to train on"},
	} {
		k, err := ValidationSize(test.v, test.n)
		if test.err == "" && (err != nil || k != test.want) || test.err != "" && (err == nil || !strings.Contains(err.Error(), test.err)) {
			t.Errorf("%q of %d: %d, %v; want %d, %q", test.v, test.n, k, err, test.want, test.err)
		}
	}
}

// Resume refuses a weights-only file and a missing one, each naming it.
func TestResumeErrors(t *testing.T) {
	dir := t.TempDir()
	weights := filepath.Join(dir, "w.safetensors")
	f, err := os.Create(weights)
	if err != nil {
		t.Fatal(err)
	}
	m := headModel(t, 2, nil)
	m.Init(1)
	if err := checkpoint.Write(f, m); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for path, want := range map[string]string{
		weights:                       weights + " holds weights only, no training state",
		filepath.Join(dir, "missing"): "missing",
	} {
		if _, _, err := Resume(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Resume(%s): %v, want %q", path, err, want)
		}
	}
}

// Progress draws a bar headed with the epoch, and clears it at the end of
// each epoch.
func TestProgress(t *testing.T) {
	x, y, _ := toyData(64)
	m := smallNet(t)
	tr, _ := NewTrainer(m, resumeConfig(m, "adam"))
	var b strings.Builder
	if _, err := Fit(t.Context(), tr, FitData{X: []*tensor.Dense{x}, T: []*tensor.Dense{y}},
		FitOptions{Epochs: 2, Batch: 16, Callbacks: []Callback{Progress(&b)}}); err != nil {
		t.Fatal(err)
	}
	// With a sampler, the bar counts the epoch's draws.
	m = smallNet(t)
	tr, _ = NewTrainer(m, resumeConfig(m, "adam"))
	if _, err := Fit(t.Context(), tr, FitData{X: []*tensor.Dense{x}, T: []*tensor.Dense{y}},
		FitOptions{Epochs: 1, Batch: 16, Sampler: WithReplacement(16, 1, func(int, int) int { return 10 }), Callbacks: []Callback{Progress(&b)}}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"epoch 1/2", "epoch 2/2", "/64)", "epoch 1/1", "/160)"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress output %q lacks %q", out, want)
		}
	}
}
