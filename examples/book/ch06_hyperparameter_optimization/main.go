// Command ch06_hyperparameter_optimization is the book's
// ch06/hyperparameter_optimization.py (section 6.5.3, Figure 6-24): a
// random search over the learning rate, 10^U(-6, -2), and the weight decay,
// 10^U(-8, -4). The first 500 MNIST training images are shuffled and 20%
// (100) held out for validation; each of 100 trials trains the book's
// seven-layer net 784-100×6-10 (ReLU, He initial weights) by SGD on the
// other 400 for 50 epochs of mini-batches of 100. Each trial's last
// validation accuracy is printed, then the best ones, and the best 20
// trials' validation (solid) and training (dashed) accuracy curves are
// drawn, 5 to a row.
//
//	go run ./examples/book/ch06_hyperparameter_optimization
//
// Training is the book's Trainer (bookex.Loop: random mini-batches with
// replacement, the accuracies measured every iter_per_epoch = 4 steps);
// the weight decay is graph/train's coupled L2 decay on the weights.
package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"gonum.org/v1/plot"

	_ "github.com/tapenet/tapenet/blas"
	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/examples/book/internal/bookex"
	"github.com/tapenet/tapenet/graph/train"
)

const usage = `
ch06_hyperparameter_optimization: a random search of the learning rate and
weight decay on a validation set (section 6.5.3), the best trials, and the
book's Figure 6-24.

Usage:
  go run ./examples/book/ch06_hyperparameter_optimization [flags]
`

func main() { cli.Main("ch06_hyperparameter_optimization", run) }

type options struct {
	limit, trials, epochs, batch, show, seed int
	valRate                                  float64
	out                                      string
}

// trial is one draw of the search and what it reached.
type trial struct {
	lr, weightDecay float64
	res             bookex.Result
}

func (t trial) lastVal() float64 { return t.res.TestAcc[len(t.res.TestAcc)-1] }

func run(args []string, stdout, _ io.Writer) error {
	var o options
	fs := cli.NewFlags("ch06_hyperparameter_optimization", usage, stdout)
	fs.IntVar(&o.limit, "limit", 500, "training images, validation included (the book: the first 500)")
	fs.Float64Var(&o.valRate, "validation-rate", 0.2, "share of them held out for validation")
	fs.IntVar(&o.trials, "trials", 100, "random trials (the book's optimization_trial)")
	fs.IntVar(&o.epochs, "epochs", 50, "epochs per trial")
	fs.IntVar(&o.batch, "batch-size", 100, "images per step")
	fs.IntVar(&o.show, "show", 20, "best trials printed and drawn (the book's graph_draw_num)")
	fs.IntVar(&o.seed, "seed", 1, "seed of the shuffle, the draws, the weights and the batches")
	fs.StringVar(&o.out, "out", "docs/book/ch06_hyperparameter_optimization.png", "the figure (PNG)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	valNum := int(float64(o.limit) * o.valRate)
	switch {
	case o.limit < 2 || o.trials < 1 || o.epochs < 1 || o.batch < 1 || o.show < 1 || o.seed < 0:
		return cli.Usagef("--limit must be at least 2, --trials, --epochs, --batch-size and --show positive, --seed not negative")
	case valNum < 1 || valNum >= o.limit:
		return cli.Usagef("--validation-rate %v leaves %d of %d images for validation", o.valRate, valNum, o.limit)
	}
	if err := bookex.CheckOut("--out", o.out); err != nil {
		return err
	}
	all, _, err := bookex.LoadMNIST(o.limit, 1)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(o.seed), 0x4e7))
	perm := rng.Perm(all.Len()) // the book's shuffle_dataset
	val, trainSet := bookex.Pick(all, perm[:valNum]), bookex.Pick(all, perm[valNum:])
	fmt.Fprintf(stdout, "ch06 hyperparameter_optimization: 784-100x6-10 ReLU (He), SGD, %d trials of %d epochs on %d training images, validated on %d\n",
		o.trials, o.epochs, trainSet.Len(), val.Len())
	start := time.Now()
	trials := make([]trial, 0, o.trials)
	for k := range o.trials {
		t := trial{weightDecay: math.Pow(10, -8+4*rng.Float64())}
		t.lr = math.Pow(10, -6+4*rng.Float64())
		if t.res, err = runTrial(trainSet, val, t.lr, t.weightDecay, o, uint64(o.seed+k)); err != nil {
			return fmt.Errorf("trial %d (lr %g, weight decay %g): %w", k+1, t.lr, t.weightDecay, err)
		}
		fmt.Fprintf(stdout, "val acc:%.2f | lr:%.3g, weight decay:%.3g%s\n", t.lastVal(), t.lr, t.weightDecay, diverged(t.res))
		trials = append(trials, t)
	}
	secs := time.Since(start).Seconds()
	sort.SliceStable(trials, func(i, j int) bool { return trials[i].lastVal() > trials[j].lastVal() })
	fmt.Fprintln(stdout, "=========== Hyper-Parameter Optimization Result ===========")
	show := min(o.show, len(trials))
	for i, t := range trials[:show] {
		fmt.Fprintf(stdout, "Best-%d(val acc:%.2f) | lr:%.3g, weight decay:%.3g\n", i+1, t.lastVal(), t.lr, t.weightDecay)
	}
	fmt.Fprintf(stdout, "%d trials in %.1f s\n", len(trials), secs)
	if err := writeFigure(o.out, trials[:show]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", o.out)
	return nil
}

// runTrial trains a fresh net with one draw of the hyperparameters and
// returns its accuracies per epoch (TestAcc: on the validation set).
func runTrial(trainSet, val *datasets.Set, lr, weightDecay float64, o options, seed uint64) (bookex.Result, error) {
	m, err := bookex.Net{Hidden: []int{100, 100, 100, 100, 100, 100}}.Build(seed)
	if err != nil {
		return bookex.Result{}, err
	}
	tr, err := train.NewTrainer(m, train.Config{Optimizer: &train.SGD{WeightDecay: weightDecay}, LearningRate: lr,
		NoDecay: train.BiasAndNormParams(m), Seed: seed})
	if err != nil {
		return bookex.Result{}, err
	}
	res, err := bookex.Loop{Train: trainSet, Test: val, Batch: o.batch, Epochs: o.epochs, Seed: seed}.Run([]*train.Trainer{tr})
	if err != nil {
		return bookex.Result{}, err
	}
	return res[0], nil
}

func diverged(r bookex.Result) string {
	if r.Diverged > 0 {
		return fmt.Sprintf(" (diverged at iteration %d)", r.Diverged)
	}
	return ""
}

// writeFigure draws the trials' curves, 5 to a row: validation accuracy
// solid, training accuracy dashed, y from 0 to 1.
func writeFigure(out string, trials []trial) error {
	const cols = 5
	var grid [][]*plot.Plot
	for i, t := range trials {
		p, err := bookex.LinePlot(fmt.Sprintf("Best-%d", i+1), "", "", []bookex.Series{
			{Y: t.res.TestAcc}, {Y: t.res.TrainAcc, Dashed: true},
		}, 0, 1)
		if err != nil {
			return err
		}
		if i%cols == 0 {
			grid = append(grid, make([]*plot.Plot, cols))
		}
		grid[i/cols][i%cols] = p
	}
	return bookex.WriteFile(out, func(w io.Writer) error { return bookex.WritePlots(w, grid, 1000, 190*len(grid)) })
}
