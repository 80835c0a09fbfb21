package imageprep_test

import (
	"flag"
	"math/rand/v2"
	"testing"

	_ "github.com/tapenet/tapenet/blas" // tapenet's Sgemm as Gorgonia's BLAS
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/imageprep"
	"github.com/tapenet/tapenet/internal/testutil"
	"github.com/tapenet/tapenet/models"
	"gorgonia.org/tensor"
)

var drawings = flag.Int("drawings", 300, "MNIST test digits drawn at random scales and offsets for TestDrawingAccuracy (10000 for the README's figure)")

// The models classify digits drawn black on white on a 280x280 canvas, at
// random sizes and positions, about as well as MNIST's own test images:
// the same digits unframed are the baseline.
func TestDrawingAccuracy(t *testing.T) {
	n := min(*drawings, 10000)
	set, err := datasets.MNIST(datasets.Test, datasets.Options{Normalize: true, Flatten: true})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(14, 28))
	x := make([]float32, 0, n*784)
	for i := range n {
		digit, err := set.Gray(i)
		if err != nil {
			t.Fatal(err)
		}
		g, err := imageprep.Frame(testutil.Drawing(digit, 280, rng), imageprep.Options{})
		if err != nil {
			t.Fatalf("drawing %d: %v", i, err)
		}
		x = append(x, imageprep.Values(g)...)
	}
	for _, name := range []string{"mlp", "convnet"} {
		m, err := models.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		shape := append([]int{n}, m.Input()...)
		classify := func(data []float32) float64 {
			pr := graph.NewPredictor(m)
			preds, err := pr.Classify(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data)), 100)
			if err != nil {
				t.Fatal(err)
			}
			right := 0
			for i, p := range preds {
				if p == set.Labels[i] {
					right++
				}
			}
			return float64(right) / float64(n)
		}
		base := classify(append([]float32(nil), set.Data()[:n*784]...))
		drawn := classify(x)
		t.Logf("%s: %.4f on %d drawings, %.4f on the same MNIST test images", name, drawn, n, base)
		if drawn < base-0.02 {
			t.Errorf("%s: %.4f on drawings, more than 2 points below MNIST's %.4f", name, drawn, base)
		}
	}
}
