// Command ch06_weight_init_compare is the book's
// ch06/weight_init_compare.py (section 6.2.4, Figure 6-15): three
// five-layer ReLU nets 784-100-100-100-100-10 whose initial weights are
// drawn with standard deviation 0.01, Xavier's √(1/n) and He's √(2/n),
// trained side by side by SGD (learning rate 0.01) for 2,000 iterations on
// the same random mini-batches of 128 MNIST training images; each net's
// loss is printed every 100 iterations and the losses, smoothed as the
// book's smooth_curve does, are plotted.
//
//	go run ./examples/book/ch06_weight_init_compare
//
// The initial weights are graph.Dense's "normal:0.01", "xavier" and "he"
// initialisers (N(0, 1/fan-in) and N(0, 2/fan-in), the book's
// simplified Xavier and He); biases start at zero, as the book's.
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
ch06_weight_init_compare: the book's five-layer net on MNIST from three
initial weight scales (std 0.01, Xavier, He; section 6.2.4), the loss every
100 iterations, and the book's Figure 6-15.

Usage:
  go run ./examples/book/ch06_weight_init_compare [flags]
`

func main() { cli.Main("ch06_weight_init_compare", run) }

// inits are the book's weight_init_types, with graph.Dense's names.
var inits = []struct{ name, init string }{
	{"std=0.01", "normal:0.01"},
	{"Xavier", "xavier"},
	{"He", "he"},
}

func run(args []string, stdout, _ io.Writer) error {
	var iters, batch, limit, every, seed int
	var lr float64
	var out string
	fs := cli.NewFlags("ch06_weight_init_compare", usage, stdout)
	fs.IntVar(&iters, "iters", 2000, "iterations (the book's max_iterations)")
	fs.IntVar(&batch, "batch-size", 128, "images per step")
	fs.Float64Var(&lr, "lr", 0.01, "SGD learning rate")
	fs.IntVar(&limit, "limit", 0, "train on the first N training images only (0: all 60,000)")
	fs.IntVar(&every, "every", 100, "print the losses every N iterations")
	fs.IntVar(&seed, "seed", 1, "seed of the initial weights and of the batches")
	fs.StringVar(&out, "out", "docs/book/ch06_weight_init_compare.png", "the figure (PNG)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case iters < 1 || batch < 1 || every < 1 || limit < 0 || seed < 0:
		return cli.Usagef("--iters, --batch-size and --every must be positive, --limit and --seed not negative")
	case !(lr > 0):
		return cli.Usagef("--lr must be positive, got %v", lr)
	}
	if err := bookex.CheckOut("--out", out); err != nil {
		return err
	}
	trainSet, _, err := bookex.LoadMNIST(limit, 1)
	if err != nil {
		return err
	}
	names := make([]string, len(inits))
	trainers := make([]*train.Trainer, len(inits))
	for i, in := range inits {
		m, err := bookex.Net{Hidden: []int{100, 100, 100, 100}, Init: in.init}.Build(uint64(seed))
		if err != nil {
			return err
		}
		if trainers[i], err = train.NewTrainer(m, train.Config{Optimizer: "sgd", LearningRate: lr, Seed: uint64(seed)}); err != nil {
			return fmt.Errorf("%s: %w", in.name, err)
		}
		names[i] = in.name
	}
	fmt.Fprintf(stdout, "ch06 weight_init_compare: 784-100-100-100-100-10 ReLU, SGD lr %g, batch %d, %d iterations over %d training images\n", lr, batch, iters, trainSet.Len())
	start := time.Now()
	losses, err := bookex.CompareLosses(stdout, names, trainers, bookex.NewBatcher(trainSet, batch, uint64(seed)), iters, every)
	if err != nil {
		return err
	}
	return bookex.LossReport(stdout, out, "tapenet: the book's Figure 6-15 (MNIST, weight init)", "init", names, losses, time.Since(start).Seconds(), 2.5)
}
