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
	"fmt"
	"io"
	"time"

	_ "github.com/tapenet/tapenet/blas"
	"github.com/tapenet/tapenet/examples/book/internal/bookex"
	"github.com/tapenet/tapenet/graph/train"
	"github.com/tapenet/tapenet/internal/cli"
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
	var iters, batch, limit, every, seed int
	var out string
	fs := cli.NewFlags("ch06_optimizer_compare_mnist", usage, stdout)
	fs.IntVar(&iters, "iters", 2000, "iterations (the book's max_iterations)")
	fs.IntVar(&batch, "batch-size", 128, "images per step")
	fs.IntVar(&limit, "limit", 0, "train on the first N training images only (0: all 60,000)")
	fs.IntVar(&every, "every", 100, "print the losses every N iterations")
	fs.IntVar(&seed, "seed", 1, "seed of the initial weights and of the batches")
	fs.StringVar(&out, "out", "docs/book/ch06_optimizer_compare_mnist.png", "the figure (PNG)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if iters < 1 || batch < 1 || every < 1 || limit < 0 || seed < 0 {
		return cli.Usagef("--iters, --batch-size and --every must be positive, --limit and --seed not negative")
	}
	if err := bookex.CheckOut("--out", out); err != nil {
		return err
	}
	trainSet, _, err := bookex.LoadMNIST(limit, 1)
	if err != nil {
		return err
	}
	net := bookex.Net{Hidden: []int{100, 100, 100, 100}}
	names := make([]string, len(optimizers))
	trainers := make([]*train.Trainer, len(optimizers))
	for i, o := range optimizers {
		m, err := net.Build(uint64(seed))
		if err != nil {
			return err
		}
		if trainers[i], err = train.NewTrainer(m, train.Config{Optimizer: o.tapenet, LearningRate: o.lr, Seed: uint64(seed)}); err != nil {
			return fmt.Errorf("%s: %w", o.name, err)
		}
		names[i] = o.name
	}
	fmt.Fprintf(stdout, "ch06 optimizer_compare_mnist: 784-100-100-100-100-10 ReLU (He), batch %d, %d iterations over %d training images\n", batch, iters, trainSet.Len())
	start := time.Now()
	losses, err := bookex.CompareLosses(stdout, names, trainers, bookex.NewBatcher(trainSet, batch, uint64(seed)), iters, every)
	if err != nil {
		return err
	}
	return bookex.LossReport(stdout, out, "tapenet: the book's Figure 6-9 (MNIST, 5-layer net)", "optimizer", names, losses, time.Since(start).Seconds(), 1)
}
