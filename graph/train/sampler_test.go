package train

import (
	"bytes"
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// pickRows returns the rows idx of the (n, k) float32 tensor x.
func pickRows(x *tensor.Dense, idx []int) *tensor.Dense {
	k := x.Shape()[1]
	src, out := x.Data().([]float32), make([]float32, 0, len(idx)*k)
	for _, j := range idx {
		out = append(out, src[j*k:(j+1)*k]...)
	}
	return tensor.New(tensor.WithShape(len(idx), k), tensor.WithBacking(out))
}

// Fit with WithReplacement takes the steps of hand-fed batches drawn by
// rand.NewPCG(seed, 0xb00c).IntN(n), epoch by epoch as steps says, and
// the epoch's loss is the mean of its steps'.
func TestWithReplacementIsHandFed(t *testing.T) {
	const n, batch, seed = 50, 8, 5
	x, y, _ := toyData(n)
	steps := func(epoch, n int) int { return epoch } // 1, 2, 3 batches
	a := smallNet(t)
	tra, _ := NewTrainer(a, resumeConfig(a, "adam"))
	rng := rand.New(rand.NewPCG(seed, 0xb00c))
	var losses []float64
	for epoch := 1; epoch <= 3; epoch++ {
		var sum float64
		for range epoch {
			idx := make([]int, batch)
			for j := range idx {
				idx[j] = rng.IntN(n)
			}
			l, err := tra.Step(pickRows(x, idx), pickRows(y, idx))
			if err != nil {
				t.Fatal(err)
			}
			sum += float64(l) * batch
		}
		losses = append(losses, sum/float64(epoch*batch))
	}
	b := smallNet(t)
	trb, _ := NewTrainer(b, resumeConfig(b, "adam"))
	h, err := Fit(context.Background(), trb, FitData{X: []*tensor.Dense{x}, T: []*tensor.Dense{y}},
		FitOptions{Epochs: 3, Batch: batch, EvalBatch: 7, ScoreTrain: true, Sampler: WithReplacement(batch, seed, steps)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(modelBytes(t, a), modelBytes(t, b)) {
		t.Error("Fit's weights differ from the hand-fed steps'")
	}
	for i, e := range h.Epochs {
		if e.Steps != i+1 || e.Loss != losses[i] {
			t.Errorf("epoch %d: %d steps, loss %v; want %d, %v", e.Epoch, e.Steps, e.Loss, i+1, losses[i])
		}
	}
	if trb.Steps() != 6 || trb.Epochs() != 3 {
		t.Errorf("%d steps, %d epochs; want 6, 3", trb.Steps(), trb.Epochs())
	}
}

// A run with a WithReplacement sampler stopped and resumed ends with the
// bytes of the straight run: the sampler's generator is in the checkpoint.
func TestWithReplacementResumes(t *testing.T) {
	x, y, _ := toyData(40)
	dir := t.TempDir()
	data := FitData{X: []*tensor.Dense{x}, T: []*tensor.Dense{y}}
	opts := func(path string, cb ...Callback) FitOptions {
		return FitOptions{Epochs: 4, Batch: 8, Sampler: WithReplacement(8, 3, nil), Callbacks: append([]Callback{SaveCheckpoint(path)}, cb...)}
	}
	a := smallNet(t)
	tra, _ := NewTrainer(a, resumeConfig(a, "adam"))
	if _, err := Fit(context.Background(), tra, data, opts(filepath.Join(dir, "a"))); err != nil {
		t.Fatal(err)
	}
	b := smallNet(t)
	trb, _ := NewTrainer(b, resumeConfig(b, "adam"))
	if _, err := Fit(context.Background(), trb, data, opts(filepath.Join(dir, "b"), StopAfter(2))); err != nil {
		t.Fatal(err)
	}
	m, st, err := Resume(filepath.Join(dir, "b"))
	if err != nil {
		t.Fatal(err)
	}
	trc, _ := NewTrainer(m, resumeConfig(m, "adam"))
	o := opts(filepath.Join(dir, "b"))
	o.Resume = st
	if _, err := Fit(context.Background(), trc, data, o); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readAll(t, filepath.Join(dir, "a")), readAll(t, filepath.Join(dir, "b"))) {
		t.Error("resumed checkpoint differs from the straight run's")
	}
	// Without the sampler's state, resuming is refused.
	o.Sampler = samplerFunc(func(int, int) ([][]int, error) { return [][]int{{0}}, nil })
	o.Resume = st
	m2, _, _ := Resume(filepath.Join(dir, "a"))
	trd, _ := NewTrainer(m2, resumeConfig(m2, "adam"))
	o.Epochs = 6
	if _, err := Fit(context.Background(), trd, data, o); err == nil || !strings.Contains(err.Error(), "cannot take the state") {
		t.Errorf("resuming with a sampler without state: %v", err)
	}
}

type samplerFunc func(epoch, n int) ([][]int, error)

func (f samplerFunc) Batches(epoch, n int) ([][]int, error) { return f(epoch, n) }

// A sampler's bad batches are errors, not panics; a checkpoint of a run
// whose sampler keeps no state is refused.
func TestSamplerErrors(t *testing.T) {
	x, y, _ := toyData(10)
	for _, test := range []struct {
		batches [][]int
		want    string
	}{
		{[][]int{{0, 10}}, "sample 10 of a batch is outside the 10 samples"},
		{[][]int{{-1}}, "sample -1"},
		{[][]int{{}}, "an empty batch"},
		{nil, "an epoch of no batches"},
	} {
		m := smallNet(t)
		tr, _ := NewTrainer(m, resumeConfig(m, "adam"))
		s := samplerFunc(func(int, int) ([][]int, error) { return test.batches, nil })
		_, err := Fit(context.Background(), tr, FitData{X: []*tensor.Dense{x}, T: []*tensor.Dense{y}}, FitOptions{Epochs: 1, Batch: 4, Sampler: s})
		if err == nil || !strings.Contains(err.Error(), test.want) {
			t.Errorf("batches %v: %v, want %q", test.batches, err, test.want)
		}
	}
	m := smallNet(t)
	tr, _ := NewTrainer(m, resumeConfig(m, "adam"))
	s := samplerFunc(func(int, int) ([][]int, error) { return [][]int{{1, 2}}, nil })
	_, err := Fit(context.Background(), tr, FitData{X: []*tensor.Dense{x}, T: []*tensor.Dense{y}},
		FitOptions{Epochs: 1, Batch: 4, Sampler: s, Callbacks: []Callback{SaveCheckpoint(filepath.Join(t.TempDir(), "c"))}})
	if err == nil || !strings.Contains(err.Error(), "cannot save its state") {
		t.Errorf("checkpoint with a stateless sampler: %v", err)
	}
}
