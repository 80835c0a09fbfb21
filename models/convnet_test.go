package models_test

import (
	"slices"
	"testing"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/models"
)

func TestConvNetArchitecture(t *testing.T) {
	m, err := models.ConvNet()
	if err != nil {
		t.Fatal(err)
	}
	if n := m.ParamCount(); n != 433890 {
		t.Errorf("convnet has %d parameters, want 433,890", n)
	}
	want := [][]int{{30, 24, 24}, {30, 24, 24}, {30, 12, 12}, {4320}, {100}, {100}, {10}, {10}}
	for i, w := range want {
		if got := m.Nodes()[i].Shape; !slices.Equal(got, w) {
			t.Errorf("layer %d (%s): output %v, want %v", i, m.Layers()[i].Name, got, w)
		}
	}
	if w := m.Param("conv2d1.weight"); w == nil || !slices.Equal([]int(w.Shape()), []int{30, 1, 5, 5}) {
		t.Errorf("conv2d1.weight: want shape (30, 1, 5, 5) (out, in, kh, kw)")
	}
}

// The embedded convnet reaches 99% on the 10,000 test images: one forward
// pass over them.
func TestPretrainedConvNet(t *testing.T) {
	m, err := models.Open("convnet")
	if err != nil {
		t.Fatal(err)
	}
	if in := m.Input(); !slices.Equal(in, []int{1, 28, 28}) {
		t.Fatalf("embedded convnet input %v, want [1 28 28]", in)
	}
	s, err := datasets.MNIST(datasets.Test, datasets.Options{Normalize: true, Flatten: false})
	if err != nil {
		t.Fatal(err)
	}
	if acc := accuracy(t, m, s); acc < 0.99 {
		t.Errorf("embedded convnet: accuracy %.4f, want >= 0.99", acc)
	}
}
