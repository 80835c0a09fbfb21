// Command ch05_train_neuralnet is the book's train_neuralnet.py (ch05 with
// ReLU, ch04 with sigmoid): the two-layer net 784-50-10 trained by SGD,
// learning rate 0.1, on 10,000 mini-batches of 100 images drawn at random
// (with replacement, as np.random.choice does), the train and test accuracy
// printed every 600 iterations (an epoch) from iteration 0, and the book's
// figure of them (Figure 4-12) written as a PNG.
//
//	go run ./examples/book/ch05_train_neuralnet                       # ch05: ReLU
//	go run ./examples/book/ch05_train_neuralnet --activation sigmoid  # ch04
//
// The network is a tapenet graph.Model (Dense, activation, Dense, softmax)
// with the book's initial weights, N(0, 0.01²) and zero biases, trained by
// graph/train's Trainer (its fused softmax cross-entropy, the book's
// SoftmaxWithLoss).
package main

import (
	"fmt"
	"io"
	"time"

	_ "github.com/tapenet/tapenet/blas"
	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/examples/book/internal/bookex"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
	"github.com/tapenet/tapenet/models"
)

const usage = `
ch05_train_neuralnet: the book's two-layer net trained by mini-batch SGD
(sections 4.5 and 5.7.4), train and test accuracy per epoch, and the book's
accuracy figure as a PNG.

Usage:
  go run ./examples/book/ch05_train_neuralnet [flags]
`

type options struct {
	activation, out            string
	hidden, iters, batch, seed int
	limit                      int
	lr                         float64
}

func main() { cli.Main("ch05_train_neuralnet", run) }

func run(args []string, stdout, _ io.Writer) error {
	var o options
	fs := cli.NewFlags("ch05_train_neuralnet", usage, stdout)
	fs.StringVar(&o.activation, "activation", "relu", "hidden activation: relu (chapter 5) or sigmoid (chapter 4)")
	fs.IntVar(&o.hidden, "hidden", 50, "hidden units")
	fs.IntVar(&o.iters, "iters", 10000, "SGD steps (the book: 10,000)")
	fs.IntVar(&o.batch, "batch-size", 100, "images per step")
	fs.Float64Var(&o.lr, "lr", 0.1, "learning rate")
	fs.IntVar(&o.seed, "seed", 1, "seed of the initial weights and of the batches")
	fs.IntVar(&o.limit, "limit", 0, "train on the first N training images only (0: all 60,000)")
	fs.StringVar(&o.out, "out", "", "the figure (PNG; default docs/book/ch05_train_neuralnet.png, ch04_... for sigmoid)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case o.activation != "relu" && o.activation != "sigmoid":
		return cli.Usagef("--activation %q is not one of relu, sigmoid", o.activation)
	case o.hidden < 1 || o.iters < 1 || o.batch < 1 || o.limit < 0 || o.seed < 0:
		return cli.Usagef("--hidden, --iters and --batch-size must be positive, --limit and --seed not negative")
	case !(o.lr > 0):
		return cli.Usagef("--lr must be positive, got %v", o.lr)
	}
	if o.out == "" {
		o.out = "docs/book/ch05_train_neuralnet.png"
		if o.activation == "sigmoid" {
			o.out = "docs/book/ch04_train_neuralnet.png"
		}
	}
	if err := bookex.CheckOut("--out", o.out); err != nil {
		return err
	}
	hist, err := trainNet(o, stdout)
	if err != nil {
		return err
	}
	chapter := "5 (ReLU)"
	if o.activation == "sigmoid" {
		chapter = "4 (sigmoid)"
	}
	fig := bookex.AccuracyPlot{
		Title:  fmt.Sprintf("tapenet: two-layer net 784-%d-10, chapter %s, SGD %g", o.hidden, chapter, o.lr),
		Series: []bookex.Series{{Label: "train acc", Y: hist.train}, {Label: "test acc", Y: hist.test, Dashed: true}},
	}
	if err := bookex.WriteFile(o.out, fig.WritePNG); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", o.out)
	return nil
}

// history holds the accuracies measured at iterations 0, 600, 1200, ...
type history struct{ train, test []float64 }

// trainNet trains the net and prints each accuracy as it is measured.
func trainNet(o options, stdout io.Writer) (*history, error) {
	opt := datasets.Options{Normalize: true, Flatten: true, OneHot: true}
	trainSet, err := datasets.MNIST(datasets.Train, opt)
	if err != nil {
		return nil, err
	}
	trainSet = trainSet.Head(o.limit)
	test, err := datasets.MNIST(datasets.Test, opt)
	if err != nil {
		return nil, err
	}
	act, err := models.Activation(o.activation)
	if err != nil {
		return nil, err
	}
	m, err := graph.NewSequential([]int{784},
		&graph.Dense{Units: o.hidden, Init: "normal:0.01"}, act,
		&graph.Dense{Units: 10, Init: "normal:0.01"}, graph.Softmax{})
	if err != nil {
		return nil, err
	}
	m.Init(uint64(o.seed))
	tr, err := train.NewTrainer(m, train.Config{Optimizer: &train.SGD{}, LearningRate: o.lr, Seed: uint64(o.seed)})
	if err != nil {
		return nil, err
	}
	n := trainSet.Len()
	perEpoch := max(n/o.batch, 1) // the book's iter_per_epoch
	chapter := "ch05"
	if o.activation == "sigmoid" {
		chapter = "ch04"
	}
	fmt.Fprintf(stdout, "%s train_neuralnet: 784-%d-10 %s, SGD lr %g, batch %d, %d iterations over %d training images; accuracy every %d iterations\n",
		chapter, o.hidden, o.activation, o.lr, o.batch, o.iters, n, perEpoch)
	fmt.Fprintln(stdout, "train acc, test acc")
	start := time.Now()
	res, err := bookex.Loop{Train: trainSet, Test: test, Batch: o.batch, Iters: o.iters, Seed: uint64(o.seed),
		Each: func(epoch int, a, b float64) {
			fmt.Fprintf(stdout, "%.4f, %.4f   (iteration %d)\n", a, b, (epoch-1)*perEpoch)
		}}.Run([]*train.Trainer{tr})
	if err != nil {
		return nil, err
	}
	if d := res[0].Diverged; d > 0 {
		return nil, fmt.Errorf("iteration %d: %w", d-1, train.ErrDiverged)
	}
	fmt.Fprintf(stdout, "%d iterations in %.1f s\n", o.iters, time.Since(start).Seconds())
	return &history{train: res[0].TrainAcc, test: res[0].TestAcc}, nil
}
