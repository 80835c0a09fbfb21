package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"github.com/tapenet/tapenet/models"
)

// --arch book-deep builds the book's DeepConvNet, with its dropout.
func TestArchBookDeep(t *testing.T) {
	m, err := (&options{arch: "book-deep"}).model([]int{1, 28, 28}, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.ParamCount(); n != 123552 {
		t.Errorf("book-deep has %d parameters, want 123,552", n)
	}
	dropouts := 0
	for _, l := range m.Layers() {
		if l.Layer.Kind() == "bookdropout" {
			dropouts++
		}
	}
	if dropouts != 2 {
		t.Errorf("book-deep has %d bookdropout layers, want 2", dropouts)
	}
	if _, err := (&options{arch: "deep"}).model([]int{1, 28, 28}, 10, 0); err == nil || !strings.Contains(err.Error(), "book-deep") {
		t.Errorf("unknown arch: %v, want an error listing book-deep", err)
	}
}

// --arch on the embedded MNIST builds the models the embedded weights were
// trained as (same spec and initial weights), so their training commands
// keep reproducing them.
func TestArchOnMNISTIsTheEmbedded(t *testing.T) {
	embedded := map[string]func() (*graph.Model, error){
		"mlp":       func() (*graph.Model, error) { return models.MLP(784, []int{256}, 10, "relu") },
		"book":      models.BookNet,
		"convnet":   models.ConvNet,
		"resnet":    models.ResNet,
		"book-deep": models.BookDeepConvNet,
	}
	for arch, build := range embedded {
		o := &options{arch: arch, hidden: []int{256}, activation: "relu"}
		s, err := datasets.MNIST(datasets.Test, datasets.Options{Normalize: true, Flatten: arch == "mlp" || arch == "book"})
		if err != nil {
			t.Fatal(err)
		}
		m, err := o.model([]int(s.X.Shape()[1:]), s.Classes, 0)
		if err != nil {
			t.Fatal(err)
		}
		want, err := build()
		if err != nil {
			t.Fatal(err)
		}
		var a, b bytes.Buffer
		m.Init(1)
		want.Init(1)
		if err := checkpoint.Write(&a, m); err != nil {
			t.Fatal(err)
		}
		if err := checkpoint.Write(&b, want); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("--arch %s on MNIST (samples %v) is not the embedded model's architecture", arch, s.X.Shape()[1:])
		}
	}
}
