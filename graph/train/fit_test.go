package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"gorgonia.org/tensor"
)

// noisy is an augmentation: the inputs plus seeded noise.
func noisy(x []*tensor.Dense, rng *rand.Rand) ([]*tensor.Dense, error) {
	src := x[0].Data().([]float32)
	out := make([]float32, len(src))
	for i, v := range src {
		out[i] = v + float32(rng.NormFloat64()*0.1)
	}
	return []*tensor.Dense{tensor.New(tensor.WithShape(x[0].Shape()...), tensor.WithBacking(out))}, nil
}

func modelBytes(t *testing.T, m *graph.Model) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := checkpoint.Write(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Fit takes the steps a loop of Epoch calls takes: the same weights.
func TestFitIsTheEpochLoop(t *testing.T) {
	x, y, _ := toyData(90)
	a, b := smallNet(t), smallNet(t)
	tra, _ := NewTrainer(a, resumeConfig(a, "adam"))
	trb, _ := NewTrainer(b, resumeConfig(b, "adam"))
	for range 4 {
		if _, err := tra.Epoch(x, y, 16, nil); err != nil {
			t.Fatal(err)
		}
	}
	h, err := Fit(context.Background(), trb, FitData{X: []*tensor.Dense{x}, T: []*tensor.Dense{y}, TestX: []*tensor.Dense{x}, TestT: []*tensor.Dense{y}},
		FitOptions{Epochs: 4, Batch: 16, ScoreTrain: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(modelBytes(t, a), modelBytes(t, b)) {
		t.Error("Fit's weights differ from the Epoch loop's")
	}
	if len(h.Epochs) != 4 || h.Epochs[3].Train == nil || h.Epochs[3].Test == nil || h.Epochs[3].Validation != nil || h.Epochs[3].Steps != 6 {
		t.Errorf("history %+v", h.Epochs)
	}
	m, _ := tra.Evaluate(x, y, 16)
	if h.Epochs[3].Test.Accuracy != m.Accuracy || h.Epochs[3].Test.Loss != m.Loss {
		t.Errorf("test scores %+v, Evaluate %+v", h.Epochs[3].Test, m)
	}
}

// A run stopped after epoch 3 and resumed from its checkpoint ends with the
// bytes of the straight run: weights, optimiser state, generators, the
// augmentation generator, early stopping and the history.
func TestFitResumeMatchesUninterrupted(t *testing.T) {
	x, y, _ := toyData(120)
	dir := t.TempDir()
	data := FitData{X: []*tensor.Dense{x}, T: []*tensor.Dense{y}, ValidationSplit: 30, Augment: noisy}
	opts := func(path string, cb ...Callback) FitOptions {
		return FitOptions{Epochs: 6, Batch: 16, Patience: 10, Seed: 9, Extra: map[string]string{"mine": "kept"},
			Callbacks: append([]Callback{SaveCheckpoint(path)}, cb...)}
	}
	a := smallNet(t)
	tra, _ := NewTrainer(a, resumeConfig(a, "adamw"))
	ha, err := Fit(context.Background(), tra, data, opts(filepath.Join(dir, "a")))
	if err != nil {
		t.Fatal(err)
	}
	b := smallNet(t)
	trb, _ := NewTrainer(b, resumeConfig(b, "adamw"))
	if h, err := Fit(context.Background(), trb, data, opts(filepath.Join(dir, "b"), StopAfter(3))); err != nil || len(h.Epochs) != 3 {
		t.Fatalf("stopped run: %v, %d epochs", err, len(h.Epochs))
	}
	m, st, err := Resume(filepath.Join(dir, "b"))
	if err != nil {
		t.Fatal(err)
	}
	if FitExtra(st)["mine"] != "kept" {
		t.Errorf("extra: %v", FitExtra(st))
	}
	trc, _ := NewTrainer(m, resumeConfig(m, "adamw"))
	o := opts(filepath.Join(dir, "b"))
	o.Resume = st
	hb, err := Fit(context.Background(), trc, data, o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readAll(t, filepath.Join(dir, "a")), readAll(t, filepath.Join(dir, "b"))) {
		t.Error("resumed checkpoint differs from the straight run's")
	}
	for i := range ha.Epochs {
		ha.Epochs[i].Seconds, hb.Epochs[i].Seconds = 0, 0
	}
	if !reflect.DeepEqual(ha, hb) {
		t.Errorf("histories differ:\n%+v\n%+v", ha, hb)
	}
	o.Resume = st
	o.Epochs = 3
	if _, err := Fit(context.Background(), trc, data, o); err == nil || !strings.Contains(err.Error(), "nothing to resume") {
		t.Errorf("resuming a finished run: %v", err)
	}
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Early stopping ends a run whose validation score does not improve, and
// the best model is written at the best epoch only.
func TestFitEarlyStoppingAndBest(t *testing.T) {
	x, y, _ := toyData(60)
	m := smallNet(t)
	tr, _ := NewTrainer(m, Config{LearningRate: 1e-12, Seed: 1})
	best := filepath.Join(t.TempDir(), "best")
	var log bytes.Buffer
	h, err := Fit(context.Background(), tr, FitData{X: []*tensor.Dense{x}, T: []*tensor.Dense{y}, ValidationSplit: 20},
		FitOptions{Epochs: 10, Batch: 20, Patience: 2, Callbacks: []Callback{SaveBest(best), JSONLog(&log)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Epochs) != 3 || !h.Epochs[2].Stopped || !h.Epochs[0].Best || h.Stopping.BestEpoch != 1 {
		t.Errorf("history %+v, stopping %+v", h.Epochs, h.Stopping)
	}
	if _, err := os.Stat(best); err != nil {
		t.Error(err)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || last["stopped"] != true || last["validation_accuracy"] == nil || last["best"] != false || last["validation_mse"] != nil {
		t.Errorf("JSON log:\n%s", log.String())
	}
}

// A regression run logs MSE, MAE and R², not an accuracy; its early
// stopping follows the validation loss.
func TestFitRegression(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 80
	xs, ys := make([]float32, 2*n), make([]float32, n)
	for i := range n {
		a, b := float32(rng.NormFloat64()), float32(rng.NormFloat64())
		xs[2*i], xs[2*i+1], ys[i] = a, b, 2*a-b+0.5
	}
	m, err := graph.NewSequential([]int{2}, &graph.Dense{Units: 1})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	tr, _ := NewTrainer(m, Config{LearningRate: 0.05})
	var log, text bytes.Buffer
	h, err := Fit(context.Background(), tr, FitData{X: []*tensor.Dense{tensor.New(tensor.WithShape(n, 2), tensor.WithBacking(xs))},
		T: []*tensor.Dense{tensor.New(tensor.WithShape(n, 1), tensor.WithBacking(ys))}, ValidationSplit: 20},
		FitOptions{Epochs: 30, Batch: 10, Callbacks: []Callback{JSONLog(&log), TextLog(&text)}})
	if err != nil {
		t.Fatal(err)
	}
	v := h.Epochs[len(h.Epochs)-1].Validation
	if v.Task != Regression || v.R2 < 0.99 || v.MSE > 0.02 || v.Accuracy != 0 || h.Stopping.Best != -h.Epochs[h.Stopping.BestEpoch-1].Validation.Loss {
		t.Errorf("validation %+v, stopping %+v", v, h.Stopping)
	}
	if strings.Contains(log.String(), "accuracy") || !strings.Contains(log.String(), `"validation_r2"`) || !strings.Contains(text.String(), "val mse ") {
		t.Errorf("logs:\n%s\n%s", log.String(), text.String())
	}
}

// Bad options and a cancelled context end Fit with an error.
func TestFitErrors(t *testing.T) {
	x, y, _ := toyData(30)
	m := smallNet(t)
	tr, _ := NewTrainer(m, Config{})
	data := FitData{X: []*tensor.Dense{x}, T: []*tensor.Dense{y}}
	for _, test := range []struct {
		data FitData
		opt  FitOptions
		want string
	}{
		{data, FitOptions{Batch: 10}, "must be positive"},
		{data, FitOptions{Epochs: 1}, "must be positive"},
		{FitData{X: data.X, T: data.T, ValidationSplit: 30}, FitOptions{Epochs: 1, Batch: 10}, "leaves none"},
		{FitData{}, FitOptions{Epochs: 1, Batch: 10}, "no training data"},
	} {
		if _, err := Fit(context.Background(), tr, test.data, test.opt); err == nil || !strings.Contains(err.Error(), test.want) {
			t.Errorf("%+v: %v, want %q", test.opt, err, test.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Fit(ctx, tr, data, FitOptions{Epochs: 2, Batch: 10}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	boom := errors.New("boom")
	if _, err := Fit(context.Background(), tr, data, FitOptions{Epochs: 2, Batch: 10, Callbacks: []Callback{EpochFunc(func(*FitRun) error { return boom })}}); !errors.Is(err, boom) {
		t.Errorf("callback error: %v", err)
	}
}
