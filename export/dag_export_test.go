package export_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
)

// siamese applies one dense layer to two inputs and adds the results.
func siamese(t *testing.T) *graph.Model {
	t.Helper()
	a, b := graph.Input("left", 4), graph.Input("right", 4)
	d := &graph.Dense{Units: 3}
	out := graph.Apply(graph.Softmax{}, graph.Apply(graph.Add{}, graph.Apply(d, a), graph.Apply(d, b)))
	m, err := graph.NewModel([]*graph.Tensor{a, b}, []*graph.Tensor{out})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	return m
}

// A model that is not a stack gets Keras' functional summary: a row per
// input, a "Connected to" column, a shared layer counted once.
func TestSummaryFunctional(t *testing.T) {
	var b bytes.Buffer
	if err := export.WriteSummary(&b, siamese(t)); err != nil {
		t.Fatal(err)
	}
	want := `Model: "functional"
_______________________________________________________________________________
Layer (type)                Output Shape                  Param #  Connected to
===============================================================================
left (InputLayer)           (None, 4)                           0
_______________________________________________________________________________
right (InputLayer)          (None, 4)                           0
_______________________________________________________________________________
fc1 (dense)                 (None, 3)                          15  left
_______________________________________________________________________________
fc1:1 (dense)               (None, 3)                    (shared)  right
_______________________________________________________________________________
add1 (add)                  (None, 3)                           0  fc1, fc1:1
_______________________________________________________________________________
softmax1 (softmax)          (None, 3)                           0  add1
===============================================================================
Total params: 15 (60.00 B)
Trainable params: 15 (60.00 B)
Non-trainable params: 0 (0.00 B)
_______________________________________________________________________________
`
	if b.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", b.String(), want)
	}

	// The residual convnet: one input, one output, but a branch.
	m := residualConvNet(t, mnistImages(t, 10))
	b.Reset()
	if err := export.WriteSummary(&b, m); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, row := range []string{
		"Layer (type)                        Output Shape                  Param #  Connected to\n",
		"image (InputLayer)                  (None, 1, 28, 28)                   0\n",
		"conv2d1 (conv2d)                    (None, 8, 28, 28)                  80  image\n",
		"add1 (add)                          (None, 8, 14, 14)                   0  maxpool2d1, batchnorm3\n",
		"head (batchnorm)                    (None, 8)                          32  globalavgpool2d1\n",
		"Total params: 1,466 (", "Non-trainable params: 64 (",
	} {
		if !strings.Contains(s, row) {
			t.Errorf("summary lacks %q:\n%s", row, s)
		}
	}
	if m.ParamCount() != 1466 {
		t.Errorf("ParamCount %d", m.ParamCount())
	}

	// Layers reports the nodes' inputs and which reuse a layer.
	infos, err := export.Layers(siamese(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 4 || infos[1].Name != "fc1:1" || infos[1].Layer != "fc1" || !infos[1].Shared || infos[1].Count != 0 || infos[1].Params != nil ||
		infos[0].Shared || infos[0].Count != 15 || strings.Join(infos[2].Inputs, ",") != "fc1,fc1:1" {
		t.Errorf("layers %+v", infos)
	}
}

// A stack keeps the sequential table: no "Connected to", no InputLayer.
func TestSummarySequentialUnchanged(t *testing.T) {
	var b bytes.Buffer
	if err := export.WriteSummary(&b, bookNet(t)); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if !strings.HasPrefix(s, "Model: \"sequential\"\n") || strings.Contains(s, "Connected to") || strings.Contains(s, "InputLayer") || !strings.Contains(s, "\ninput (input)  ") {
		t.Errorf("sequential summary:\n%s", s)
	}
}
