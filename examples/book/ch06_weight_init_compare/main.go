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

	_ "github.com/tapenet/tapenet/blas"
	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/examples/book/internal/bookex"
	"github.com/tapenet/tapenet/graph/train"
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
	c := bookex.LossComparison{Script: "ch06 weight_init_compare: 784-100-100-100-100-10 ReLU, SGD",
		Title: "tapenet: the book's Figure 6-15 (MNIST, weight init)", What: "init",
		Iters: 2000, Batch: 128, Every: 100, YMax: 2.5, Out: "docs/book/ch06_weight_init_compare.png"}
	var lr float64
	fs := cli.NewFlags("ch06_weight_init_compare", usage, stdout)
	c.Flags(fs)
	fs.Float64Var(&lr, "lr", 0.01, "SGD learning rate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !(lr > 0) {
		return cli.Usagef("--lr must be positive, got %v", lr)
	}
	c.Script += fmt.Sprintf(" lr %g", lr)
	nets := make([]bookex.LossNet, len(inits))
	for i, in := range inits {
		nets[i] = bookex.LossNet{Name: in.name, Net: bookex.Net{Hidden: []int{100, 100, 100, 100}, Init: in.init},
			Config: train.Config{Optimizer: &train.SGD{}, LearningRate: lr}}
	}
	return c.Run(stdout, nets)
}
