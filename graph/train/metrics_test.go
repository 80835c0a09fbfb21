package train

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/tapenet/tapenet/graph"
	"gorgonia.org/tensor"
)

type metricsRef struct {
	Regression struct {
		Shape        []int
		Y, T         []float64
		MSE, MAE, R2 float64
	}
	Classification struct {
		Classes, K int
		Scores     []float64
		Labels     []int
		Accuracy   float64
		TopK       float64    `json:"top_k"`
		PerClass   []*float64 `json:"per_class"`
		Confusion  [][]int
	}
}

func readMetricsRef(t *testing.T) metricsRef {
	t.Helper()
	b, err := os.ReadFile("testdata/metrics_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref metricsRef
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

// identity is a model that outputs its input: its "predictions" are the
// data given.
func identity(t *testing.T, n int, layers ...graph.Layer) *graph.Model {
	t.Helper()
	m, err := graph.NewSequential([]int{n}, append([]graph.Layer{graph.Identity{}}, layers...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A regression head reports MSE, MAE and R² (numpy's values, whatever the
// batch size) and no accuracy.
func TestRegressionMetricsMatchNumpy(t *testing.T) {
	ref := readMetricsRef(t).Regression
	n, k := ref.Shape[0], ref.Shape[1]
	x := tensor.New(tensor.WithShape(n, k), tensor.WithBacking(f32sOf(ref.Y)))
	y := tensor.New(tensor.WithShape(n, k), tensor.WithBacking(f32sOf(ref.T)))
	for _, loss := range []Loss{nil, MeanAbsoluteError, Huber} {
		tr, err := NewTrainer(identity(t, k), Config{Losses: []Loss{loss}})
		if err != nil {
			t.Fatal(err)
		}
		for _, batch := range []int{n, 4} {
			m, err := tr.Evaluate(x, y, batch)
			if err != nil {
				t.Fatal(err)
			}
			if m.Task != Regression || m.Accuracy != 0 || m.PerClass != nil || m.K != 0 {
				t.Errorf("%v: task %s, accuracy %v, per class %v", loss, m.Task, m.Accuracy, m.PerClass)
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{{"mse", m.MSE, ref.MSE}, {"mae", m.MAE, ref.MAE}, {"r2", m.R2, ref.R2}} {
				if math.Abs(c.got-c.want) > 1e-9*math.Max(1, math.Abs(c.want)) {
					t.Errorf("loss %v, batch %d: %s %.12g, numpy %.12g", loss, batch, c.name, c.got, c.want)
				}
			}
		}
	}
}

// A classifier reports accuracy, top-k, per-class accuracy and confusion
// counts as numpy computes them, on logits, on probabilities and from
// labels; and no regression metrics.
func TestClassificationMetricsMatchNumpy(t *testing.T) {
	ref := readMetricsRef(t).Classification
	n, c := len(ref.Labels), ref.Classes
	x := tensor.New(tensor.WithShape(n, c), tensor.WithBacking(f32sOf(ref.Scores)))
	labels := tensor.New(tensor.WithShape(n), tensor.WithBacking(slices.Clone(ref.Labels)))
	for _, test := range []struct {
		name   string
		m      *graph.Model
		loss   Loss
		target *tensor.Dense
	}{
		{"logits, one-hot", identity(t, c), CrossEntropy, oneHot(ref.Labels, c)},
		{"logits, labels", identity(t, c), SparseCrossEntropy, labels},
		{"softmax, one-hot", identity(t, c, graph.Softmax{}), nil, oneHot(ref.Labels, c)},
		{"softmax trained by mse", identity(t, c, graph.Softmax{}), MeanSquaredError, oneHot(ref.Labels, c)},
	} {
		tr, err := NewTrainer(test.m, Config{Losses: []Loss{test.loss}, TopK: ref.K})
		if err != nil {
			t.Fatal(err)
		}
		m, err := tr.Evaluate(x, test.target, 5)
		if err != nil {
			t.Fatal(err)
		}
		if m.Task != Classification || m.MSE != 0 || m.R2 != 0 {
			t.Errorf("%s: task %s, mse %v, r2 %v", test.name, m.Task, m.MSE, m.R2)
		}
		if math.Abs(m.Accuracy-ref.Accuracy) > 1e-12 || m.K != ref.K || math.Abs(m.TopK-ref.TopK) > 1e-12 {
			t.Errorf("%s: accuracy %v top-%d %v, numpy %v top-%d %v", test.name, m.Accuracy, m.K, m.TopK, ref.Accuracy, ref.K, ref.TopK)
		}
		for i, want := range ref.PerClass {
			if want == nil && !math.IsNaN(m.PerClass[i]) || want != nil && math.Abs(m.PerClass[i]-*want) > 1e-12 {
				t.Errorf("%s: class %d accuracy %v, numpy %v", test.name, i, m.PerClass[i], want)
			}
		}
		if !slices.EqualFunc(m.Confusion, ref.Confusion, slices.Equal) {
			t.Errorf("%s: confusion %v, numpy %v", test.name, m.Confusion, ref.Confusion)
		}
	}
}

// A sigmoid output is scored as a binary classifier, at ½ on probabilities
// and at 0 on logits, with a 2x2 confusion for one value per sample.
func TestBinaryMetrics(t *testing.T) {
	x := tensor.New(tensor.WithShape(5, 1), tensor.WithBacking([]float32{-2, -0.5, 0.25, 1, 3}))
	y := tensor.New(tensor.WithShape(5, 1), tensor.WithBacking([]float32{0, 1, 1, 0, 1}))
	for _, m := range []*graph.Model{identity(t, 1, graph.Sigmoid{}), identity(t, 1)} {
		tr, err := NewTrainer(m, Config{Losses: []Loss{BinaryCrossEntropy}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := tr.Evaluate(x, y, 2)
		if err != nil {
			t.Fatal(err)
		}
		// Predicted 0 0 1 1 1 against 0 1 1 0 1: 3 right.
		want := [][]int{{1, 1}, {1, 2}}
		if got.Task != BinaryClassification || got.Accuracy != 0.6 || !slices.EqualFunc(got.Confusion, want, slices.Equal) || got.PerClass[0] != 0.5 || math.Abs(got.PerClass[1]-2.0/3) > 1e-12 {
			t.Errorf("%s: %+v", m.OutputLayer(0).Kind(), got)
		}
	}
}
