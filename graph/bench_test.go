package graph_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
)

// benchModel is the book's chapter 3 net (784-50-100-10 sigmoid) or the
// 784-100-10 ReLU MLP of the training benchmark.
func benchModel(b *testing.B, hidden []int, act graph.Layer) *graph.Model {
	var layers []graph.Layer
	for _, h := range hidden {
		layers = append(layers, &graph.Dense{Units: h}, act)
	}
	layers = append(layers, &graph.Dense{Units: 10}, graph.Softmax{})
	m, err := graph.NewSequential([]int{784}, layers...)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(1)
	return m
}

func randomBatch(n, width int, seed uint64) *tensor.Dense {
	rng := rand.New(rand.NewPCG(seed, 2))
	data := make([]float32, n*width)
	for i := range data {
		data[i] = rng.Float32()
	}
	return tensor.New(tensor.WithShape(n, width), tensor.WithBacking(data))
}

func BenchmarkForward(b *testing.B) {
	for _, batch := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("book/batch%d", batch), func(b *testing.B) {
			m := benchModel(b, []int{50, 100}, graph.Sigmoid{})
			pr := graph.NewPredictor(m)
			x := randomBatch(batch, 784, 1)
			b.SetBytes(int64(batch))
			for b.Loop() {
				if _, err := pr.Classify(x, batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTrainStep(b *testing.B) {
	for _, batch := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("mlp100/batch%d", batch), func(b *testing.B) {
			m := benchModel(b, []int{100}, graph.ReLU{})
			tr, err := train.NewTrainer(m, train.Config{Optimizer: &train.Adam{}})
			if err != nil {
				b.Fatal(err)
			}
			x := randomBatch(batch, 784, 1)
			labels := make([]int, batch)
			for i := range labels {
				labels[i] = i % 10
			}
			t := tensor.New(tensor.WithShape(batch, 10), tensor.WithBacking(make([]float32, batch*10)))
			for i, l := range labels {
				t.Data().([]float32)[i*10+l] = 1
			}
			b.SetBytes(int64(batch))
			for b.Loop() {
				if _, err := tr.Step(x, t); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkClassifyBook is cmd/infer's work on the book's net: 10,000
// samples in batches of 100, spread over the workers.
func BenchmarkClassifyBook(b *testing.B) {
	m := benchModel(b, []int{50, 100}, graph.Sigmoid{})
	pr := graph.NewPredictor(m)
	x := randomBatch(10000, 784, 1)
	for b.Loop() {
		if _, err := pr.Classify(x, 100); err != nil {
			b.Fatal(err)
		}
	}
}
