package graph_test

import (
	"testing"
	"time"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
)

func TestScratchMNIST(t *testing.T) {
	opt := datasets.Options{Normalize: true, Flatten: true, OneHot: true}
	t0 := time.Now()
	train, err := datasets.MNIST(datasets.Train, opt)
	if err != nil {
		t.Fatal(err)
	}
	test, err := datasets.MNIST(datasets.Test, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("load", time.Since(t0))
	m, err := graph.NewSequential([]int{784}, &graph.Dense{Units: 100}, graph.ReLU{}, &graph.Dense{Units: 10}, graph.Softmax{})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	tr, err := graph.NewTrainer(m, graph.TrainConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	pr := graph.NewPredictor(m)
	for ep := 0; ep < 2; ep++ {
		t0 = time.Now()
		st, err := tr.Epoch(train.X, train.OneHot, 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		d := time.Since(t0)
		t0 = time.Now()
		preds, err := pr.Classify(test.X, 100)
		if err != nil {
			t.Fatal(err)
		}
		c := 0
		for i, p := range preds {
			if p == test.Labels[i] {
				c++
			}
		}
		t.Log(ep, st, d, float64(c)/float64(len(preds)), time.Since(t0))
	}
}
