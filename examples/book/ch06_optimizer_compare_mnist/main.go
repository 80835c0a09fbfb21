// Command ch06_optimizer_compare_mnist is the book's
// ch06/optimizer_compare_mnist.py (section 6.1.8, Figure 6-9): four
// five-layer nets 784-100-100-100-100-10 (ReLU, He initial weights), one
// per optimiser with the book's default learning rates (SGD 0.01,
// Momentum 0.01 with momentum 0.9, AdaGrad 0.01, Adam 0.001), trained side
// by side for 2,000 iterations on the same random mini-batches of 128
// MNIST training images; each net's loss is printed every 100 iterations
// and the losses, smoothed as the book's smooth_curve does, are plotted.
//
//	go run ./examples/book/ch06_optimizer_compare_mnist
//
// The optimisers are graph/train's (PyTorch's formulas; see
// ch06_optimizer_compare_naive for how they match the book's). The four
// nets start from the same seeded weights (the book draws each its own),
// so the curves differ by their optimiser only.
package main

import (
	"io"

	_ "github.com/tapenet/tapenet/blas"
	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/examples/book/internal/bookex"
	"github.com/tapenet/tapenet/graph/train"
)

const usage = `
ch06_optimizer_compare_mnist: SGD, Momentum, AdaGrad and Adam training the
book's five-layer net on MNIST (section 6.1.8), the loss every 100
iterations, and the book's Figure 6-9.

Usage:
  go run ./examples/book/ch06_optimizer_compare_mnist [flags]
`

func main() { cli.Main("ch06_optimizer_compare_mnist", run) }

// optimizers are the book's, in its order, with its default rates.
var optimizers = []struct {
	name, tapenet string
	lr            float64
}{
	{"SGD", "sgd", 0.01},
	{"Momentum", "momentum", 0.01},
	{"AdaGrad", "adagrad", 0.01},
	{"Adam", "adam", 0.001},
}

func run(args []string, stdout, _ io.Writer) error {
	c := bookex.LossComparison{Script: "ch06 optimizer_compare_mnist: 784-100-100-100-100-10 ReLU (He)",
		Title: "tapenet: the book's Figure 6-9 (MNIST, 5-layer net)", What: "optimizer",
		Iters: 2000, Batch: 128, Every: 100, YMax: 1, Out: "docs/book/ch06_optimizer_compare_mnist.png"}
	fs := cli.NewFlags("ch06_optimizer_compare_mnist", usage, stdout)
	c.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	nets := make([]bookex.LossNet, len(optimizers))
	for i, o := range optimizers {
		opt, err := train.OptimizerByName(o.tapenet, train.OptimizerOptions{})
		if err != nil {
			return err
		}
		nets[i] = bookex.LossNet{Name: o.name, Net: bookex.Net{Hidden: []int{100, 100, 100, 100}},
			Config: train.Config{Optimizer: opt, LearningRate: o.lr}}
	}
	return c.Run(stdout, nets)
}
