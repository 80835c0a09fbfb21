package models_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/internal/testutil"
	"github.com/tapenet/tapenet/models"
	"github.com/tapenet/tapenet/numpyio"
)

func testSet(t *testing.T, n int) *datasets.Set {
	t.Helper()
	s, err := datasets.MNIST(datasets.Test, datasets.Options{Normalize: true, Flatten: true})
	if err != nil {
		t.Fatal(err)
	}
	return s.Head(n)
}

func accuracy(t *testing.T, m *graph.Model, s *datasets.Set) float64 {
	t.Helper()
	preds, err := graph.NewPredictor(m).Classify(s.X, 100)
	if err != nil {
		t.Fatal(err)
	}
	c := 0
	for i, p := range preds {
		if p == s.Labels[i] {
			c++
		}
	}
	return float64(c) / float64(s.Len())
}

// The embedded default model reaches 98% on the 10,000 test images.
func TestPretrainedMLP(t *testing.T) {
	m, err := models.Open(models.Default)
	if err != nil {
		t.Fatal(err)
	}
	if acc := accuracy(t, m, testSet(t, 10000)); acc < 0.98 {
		t.Errorf("embedded mlp: accuracy %.4f, want >= 0.98", acc)
	}
}

func TestArchitectures(t *testing.T) {
	book, err := models.BookNet()
	if err != nil {
		t.Fatal(err)
	}
	if n := book.ParamCount(); n != 45360 {
		t.Errorf("book net has %d parameters, want 45,360", n)
	}
	two, err := models.TwoLayerNet(784, 50, 10, "sigmoid")
	if err != nil {
		t.Fatal(err)
	}
	if n := two.ParamCount(); n != 784*50+50+50*10+10 {
		t.Errorf("two-layer net has %d parameters", n)
	}
	if _, err := models.TwoLayerNet(784, 50, 10, "swish"); err == nil {
		t.Error("unknown activation accepted")
	}
}

// Weights written by real numpy (numpyio/testdata/gen.py: a protocol-3
// pickle with Fortran-ordered matrices like the book's sample_weight.pkl, and
// npz files) give numpy's own predictions, image for image, for every
// hidden activation.
func TestBookWeightsMatchNumpy(t *testing.T) {
	td := filepath.Join("..", "numpyio", "testdata")
	set := testSet(t, 1000)
	for _, file := range []string{"book_p3_fortran.pkl", "book.npz", "book_compressed.npz"} {
		for _, act := range models.Activations() {
			want := testutil.ReadInts(t, filepath.Join(td, "book_predictions_"+act+".txt"))
			m, err := models.Open(filepath.Join(td, file), models.OpenOptions{Activation: act})
			if err != nil {
				t.Fatal(err)
			}
			got, err := graph.NewPredictor(m).Classify(set.X, 100)
			if err != nil {
				t.Fatal(err)
			}
			diff := 0
			for i := range want {
				if got[i] != want[i] {
					diff++
				}
			}
			if diff != 0 || len(want) != 1000 {
				t.Errorf("%s, %s: %d of %d predictions differ from numpy's", file, act, diff, len(want))
			}
		}
	}
}

func TestFromBookErrors(t *testing.T) {
	arr := func(shape ...int) numpyio.Array {
		n := 1
		for _, d := range shape {
			n *= d
		}
		return numpyio.Array{Shape: shape, Data: make([]float32, n)}
	}
	for _, test := range []struct {
		arrays map[string]numpyio.Array
		want   string
	}{
		{map[string]numpyio.Array{}, "no arrays"},
		{map[string]numpyio.Array{"W1": arr(4, 3)}, "b1 is missing"},
		{map[string]numpyio.Array{"W1": arr(4, 3), "b1": arr(2)}, "b1 has shape [2]"},
		{map[string]numpyio.Array{"W1": arr(4, 3), "b1": arr(3), "W2": arr(5, 2), "b2": arr(2)}, "W2 has shape [5 2]"},
		{map[string]numpyio.Array{"W1": arr(4, 3), "b1": arr(3), "b2": arr(2)}, "W2 is missing"},
		{map[string]numpyio.Array{"W1": arr(12), "b1": arr(3)}, "W1 has shape [12]"},
		{map[string]numpyio.Array{"W1": arr(4, 3), "b1": arr(3), "weights": arr(1)}, `"weights"`},
	} {
		if _, err := models.FromBook(test.arrays, "sigmoid"); err == nil || !strings.Contains(err.Error(), test.want) {
			t.Errorf("FromBook: %v, want error with %q", err, test.want)
		}
	}
	ok := map[string]numpyio.Array{"W1": arr(4, 3), "b1": arr(3), "W2": arr(3, 2), "b2": arr(2)}
	m, err := models.FromBook(ok, "relu")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, l := range m.Layers() {
		kinds = append(kinds, l.Name+":"+l.Layer.Kind())
	}
	if got := strings.Join(kinds, " "); got != "fc1:dense relu1:relu fc2:dense softmax1:softmax" {
		t.Errorf("layers %s", got)
	}
}
