package models_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
	"github.com/tapenet/tapenet/models"
)

func images(n int, seed uint64) *tensor.Dense {
	rng := rand.New(rand.NewPCG(seed, 3))
	data := make([]float32, n*784)
	for i := range data {
		data[i] = rng.Float32()
	}
	return tensor.New(tensor.WithShape(n, 1, 28, 28), tensor.WithBacking(data))
}

// BenchmarkPretrained is cmd/infer's work per 1,000 images (batches of
// 100, every core) and one image at a time, for each embedded model.
func BenchmarkPretrained(b *testing.B) {
	for _, name := range []string{"mlp", "convnet", "resnet"} {
		m, err := models.Pretrained(name)
		if err != nil {
			b.Fatal(err)
		}
		for _, batch := range []int{100, 1} {
			n := 1000
			if batch == 1 {
				n = 1
			}
			x := images(n, 1)
			if len(m.Input()) == 1 {
				x = tensor.New(tensor.WithShape(n, 784), tensor.WithBacking(x.Data()))
			}
			pr := graph.NewPredictor(m)
			b.Run(fmt.Sprintf("%s/batch%d", name, batch), func(b *testing.B) {
				for b.Loop() {
					if _, err := pr.Classify(x, batch); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkTrainConvNet is one Adam step of the convnet on 100 images.
func BenchmarkTrainConvNet(b *testing.B) { benchTrainStep(b, models.ConvNet) }

// BenchmarkTrainDeepConvNet is one Adam step of the book's DeepConvNet
// (with its dropout) on 100 images.
func BenchmarkTrainDeepConvNet(b *testing.B) { benchTrainStep(b, models.BookDeepConvNet) }

// BenchmarkTrainResNet is one Adam step of models.ResNet on 100 images.
func BenchmarkTrainResNet(b *testing.B) { benchTrainStep(b, models.ResNet) }

// benchTrainStep times one Adam step of the model build makes on 100 images.
func benchTrainStep(b *testing.B, build func() (*graph.Model, error)) {
	m, err := build()
	if err != nil {
		b.Fatal(err)
	}
	m.Init(1)
	tr, err := train.NewTrainer(m, train.Config{Optimizer: &train.Adam{}, Losses: []train.Loss{train.SparseCrossEntropy}})
	if err != nil {
		b.Fatal(err)
	}
	x := images(100, 2)
	labels := make([]float32, 100)
	for i := range labels {
		labels[i] = float32(i % 10)
	}
	t := tensor.New(tensor.WithShape(100), tensor.WithBacking(labels))
	for b.Loop() {
		if _, err := tr.Step(x, t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForwardBatch1 is one image through Predictor.Forward (softmax
// probabilities, copied out): what a server answers per request.
func BenchmarkForwardBatch1(b *testing.B) {
	for _, name := range []string{"mlp", "convnet"} {
		m, err := models.Pretrained(name)
		if err != nil {
			b.Fatal(err)
		}
		x := images(1, 1)
		if len(m.Input()) == 1 {
			x = tensor.New(tensor.WithShape(1, 784), tensor.WithBacking(x.Data()))
		}
		pr := graph.NewPredictor(m)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := pr.Forward(x); err != nil {
					b.Fatal(err)
				}
			}
		})
		set, err := datasets.MNIST(datasets.Test, datasets.Options{Normalize: true, Flatten: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/mnist", func(b *testing.B) {
			i := 0
			for b.Loop() {
				i = (i + 1) % 2000
				xx := tensor.New(tensor.WithShape(x.Shape()...), tensor.WithBacking(slices.Clone(set.Data()[i*784:(i+1)*784])))
				if _, err := pr.Forward(xx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
