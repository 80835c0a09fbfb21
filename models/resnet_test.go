package models_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/models"
)

func TestResNetArchitecture(t *testing.T) {
	m, err := models.ResNet()
	if err != nil {
		t.Fatal(err)
	}
	if n, l := m.ParamCount(), m.TrainableCount(); n != 72794 || l != 72506 {
		t.Errorf("resnet has %d parameters (%d learned), want 72,794 (72,506)", n, l)
	}
	// name(inputs) shape, in topological order.
	want := []string{
		"conv2d1(image) [16 28 28]",
		"relu1(conv2d1) [16 28 28]",
		"maxpool2d1(relu1) [16 14 14]",
		"conv2d2(maxpool2d1) [48 14 14]",
		"maxpool2d2(conv2d2) [48 7 7]",
		"batchnorm1(maxpool2d2) [48 7 7]",
		"relu2(batchnorm1) [48 7 7]",
		"conv2d3(relu2) [48 7 7]",
		"batchnorm2(conv2d3) [48 7 7]",
		"relu3(batchnorm2) [48 7 7]",
		"conv2d4(relu3) [48 7 7]",
		"batchnorm3(conv2d4) [48 7 7]",
		"add1(relu2 batchnorm3) [48 7 7]", // the identity skip
		"relu4(add1) [48 7 7]",
		"flatten1(relu4) [2352]",
		"fc1(flatten1) [10]",
		"softmax1(fc1) [10]",
	}
	var got []string
	for _, n := range m.Nodes() {
		got = append(got, fmt.Sprintf("%s(%s) %v", n.Name, strings.Join(n.Inputs, " "), n.Shape))
	}
	if !slices.Equal(got, want) {
		t.Errorf("nodes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if m.IsSequential() {
		t.Error("resnet reported as sequential; it has a skip connection")
	}
	if out := m.Outputs(); !slices.Equal(out, []string{"softmax1"}) {
		t.Errorf("outputs %v", out)
	}
	if w := m.Param("conv2d3.weight"); w == nil || !slices.Equal([]int(w.Shape()), []int{48, 48, 3, 3}) {
		t.Errorf("conv2d3.weight: want shape (48, 48, 3, 3)")
	}
}

// The embedded resnet reaches 99.5% on the 10,000 test images: one forward
// pass over them.
func TestPretrainedResNet(t *testing.T) {
	m, err := models.Open("resnet")
	if err != nil {
		t.Fatal(err)
	}
	if in := m.Input(); !slices.Equal(in, []int{1, 28, 28}) {
		t.Fatalf("embedded resnet input %v, want [1 28 28]", in)
	}
	if !slices.Contains(models.Names(), "resnet") {
		t.Errorf("Names() = %v, want resnet among them", models.Names())
	}
	s, err := datasets.MNIST(datasets.Test, datasets.Options{Normalize: true, Flatten: false})
	if err != nil {
		t.Fatal(err)
	}
	if acc := accuracy(t, m, s); acc < 0.995 {
		t.Errorf("embedded resnet: accuracy %.4f, want >= 0.995", acc)
	}
}
