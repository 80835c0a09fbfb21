package models_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/models"
	"gorgonia.org/tensor"
)

// On MNIST's shapes models.ForData builds exactly the MNIST constructors' models.
func TestForDataMNIST(t *testing.T) {
	for _, tc := range []struct {
		arch  string
		in    []int
		opt   models.ArchOptions
		build func() (*graph.Model, error)
	}{
		{"mlp", []int{784}, models.ArchOptions{}, func() (*graph.Model, error) { return models.MLP(784, []int{256}, 10, "relu") }},
		{"mlp", []int{784}, models.ArchOptions{Hidden: []int{50, 20}, Activation: "tanh"}, func() (*graph.Model, error) { return models.MLP(784, []int{50, 20}, 10, "tanh") }},
		{"book", []int{784}, models.ArchOptions{}, models.BookNet},
		{"convnet", []int{1, 28, 28}, models.ArchOptions{}, models.ConvNet},
		{"resnet", []int{1, 28, 28}, models.ArchOptions{}, models.ResNet},
		{"book-deep", []int{1, 28, 28}, models.ArchOptions{}, models.BookDeepConvNet},
	} {
		t.Run(tc.arch, func(t *testing.T) {
			got, err := models.ForData(tc.arch, tc.in, 10, 0, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			if specJSON(t, got) != specJSON(t, want) {
				t.Errorf("models.ForData(%q, %v, 10, 0) differs from the MNIST constructor", tc.arch, tc.in)
			}
		})
	}
}

// Every architecture builds for other shapes and both heads, and runs:
// the output has the head's width, probabilities for classes (rows sum
// to 1) and values for targets.
func TestForDataShapes(t *testing.T) {
	for _, tc := range []struct {
		arch             string
		in               []int
		classes, targets int
		params           int // 0: not checked
	}{
		{"mlp", []int{3, 32, 32}, 5, 0, 3072*256 + 256 + 256*5 + 5},
		{"mlp", []int{3}, 0, 2, 3*256 + 256 + 256*2 + 2},
		{"book", []int{2, 4}, 3, 0, 8*50 + 50 + 50*100 + 100 + 100*3 + 3},
		{"convnet", []int{3, 32, 32}, 5, 0, 30*3*25 + 30 + 30*14*14*100 + 100 + 100*5 + 5},
		{"convnet", []int{16, 16}, 0, 1, 0},
		{"convnet", []int{144}, 4, 0, 0},
		{"resnet", []int{3, 32, 32}, 5, 0, 0},
		{"resnet", []int{1, 8, 8}, 0, 3, 0},
		{"book-deep", []int{3, 32, 32}, 5, 0, 0},
		{"book-deep", []int{1, 28, 28}, 0, 2, 0},
	} {
		t.Run(fmt.Sprint(tc.arch, tc.in, tc.classes, tc.targets), func(t *testing.T) {
			m, err := models.ForData(tc.arch, tc.in, tc.classes, tc.targets)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.Input(), tc.in) {
				t.Errorf("input %v, want %v", m.Input(), tc.in)
			}
			if tc.params > 0 && m.ParamCount() != tc.params {
				t.Errorf("%d parameters, want %d", m.ParamCount(), tc.params)
			}
			wantMeaning, width := graph.Probabilities, tc.classes
			if tc.targets > 0 {
				wantMeaning, width = graph.Values, tc.targets
			}
			if got := m.OutputMeaning(0); got != wantMeaning {
				t.Errorf("output means %q, want %q", got, wantMeaning)
			}
			m.Init(1)
			n := 1
			for _, d := range tc.in {
				n *= d
			}
			rng := rand.New(rand.NewPCG(1, 2))
			xs := make([]float32, 2*n)
			for i := range xs {
				xs[i] = rng.Float32()
			}
			y, err := graph.NewPredictor(m).Forward(tensor.New(tensor.WithShape(append([]int{2}, tc.in...)...), tensor.WithBacking(xs)))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal([]int(y.Shape()), []int{2, width}) {
				t.Fatalf("output %v, want (2, %d)", y.Shape(), width)
			}
			if tc.classes > 0 {
				for r := range 2 {
					var sum float32
					for _, v := range y.Data().([]float32)[r*width : (r+1)*width] {
						sum += v
					}
					if sum < 0.999 || sum > 1.001 {
						t.Errorf("row %d sums to %v", r, sum)
					}
				}
			}
		})
	}
}

func TestForDataErrors(t *testing.T) {
	for _, tc := range []struct {
		arch             string
		in               []int
		classes, targets int
		opt              models.ArchOptions
		want             string
	}{
		{"vgg", []int{784}, 10, 0, models.ArchOptions{}, "unknown architecture (want mlp, book, convnet, resnet, book-deep, lstm)"},
		{"mlp", []int{784}, 0, 0, models.ArchOptions{}, "want either classes"},
		{"mlp", []int{784}, 10, 2, models.ArchOptions{}, "want either classes"},
		{"mlp", []int{0, 3}, 10, 0, models.ArchOptions{}, "positive dimensions"},
		{"mlp", []int{784}, 10, 0, models.ArchOptions{Hidden: []int{0}}, "hidden sizes must be positive"},
		{"mlp", []int{784}, 10, 0, models.ArchOptions{Activation: "swish"}, "unknown activation"},
		{"convnet", []int{100, 3}, 10, 0, models.ArchOptions{}, "images of 100x3 are smaller than the 6x6"},
		{"convnet", []int{10}, 10, 0, models.ArchOptions{}, "not square images"},
		{"resnet", []int{2, 3, 4, 5}, 10, 0, models.ArchOptions{}, "rank 4"},
		{"book-deep", []int{3, 7, 7}, 10, 0, models.ArchOptions{}, "smaller than the 8x8"},
	} {
		_, err := models.ForData(tc.arch, tc.in, tc.classes, tc.targets, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "--arch "+tc.arch) {
			t.Errorf("models.ForData(%q, %v, %d, %d): %v, want %q", tc.arch, tc.in, tc.classes, tc.targets, err, tc.want)
		}
	}
}
