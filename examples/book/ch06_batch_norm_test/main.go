// Command ch06_batch_norm_test is the book's ch06/batch_norm_test.py
// (section 6.3.2, Figures 6-18 and 6-19): for each of 16 initial weight
// scales (np.logspace(0, -4, 16): 1 down to 0.0001), two nets
// 784-100-100-100-100-100-10 (ReLU), one with batch normalisation after
// each hidden Affine layer and one without, trained side by side by SGD
// (learning rate 0.01) on the same random mini-batches of 100 of the first
// 1,000 MNIST training images, for 20 epochs of 10 iterations; each
// epoch's training accuracy is plotted, one subplot per scale.
//
//	go run ./examples/book/ch06_batch_norm_test
//
// The nets are the book's MultiLayerNetExtend (bookex.Net), their weights
// N(0, scale²) (graph.Dense's "normal:SCALE"), batch normalisation
// graph.BatchNorm with the book's momentum (running averages weighted
// 0.9/0.1) and ε (10e-7). The book's running variance is the batch's
// biased one, graph.BatchNorm's the unbiased (PyTorch's): at 100 samples
// per batch the two differ by 1%. Accuracies are measured as the book's
// accuracy() does, in inference mode (running statistics).
package main

import (
	"fmt"
	"io"
	"math"
	"time"

	"gonum.org/v1/plot"

	_ "github.com/tapenet/tapenet/blas"
	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/examples/book/internal/bookex"
	"github.com/tapenet/tapenet/graph/train"
)

const usage = `
ch06_batch_norm_test: the book's six-layer net with and without batch
normalisation from 16 initial weight scales (section 6.3.2), the training
accuracy per epoch, and the book's Figure 6-19.

Usage:
  go run ./examples/book/ch06_batch_norm_test [flags]
`

func main() { cli.Main("ch06_batch_norm_test", run) }

// bookScales is np.logspace(0, -4, num=16).
func bookScales() []float64 {
	s := make([]float64, 16)
	for k := range s {
		s[k] = math.Pow(10, -4*float64(k)/15)
	}
	return s
}

func run(args []string, stdout, _ io.Writer) error {
	var limit, epochs, batch, seed int
	var lr float64
	var scales []float64
	var out string
	fs := cli.NewFlags("ch06_batch_norm_test", usage, stdout)
	fs.IntVar(&limit, "limit", 1000, "training images (the book: the first 1,000)")
	fs.IntVar(&epochs, "epochs", 20, "epochs (the book's max_epochs)")
	fs.IntVar(&batch, "batch-size", 100, "images per step")
	fs.Float64Var(&lr, "lr", 0.01, "SGD learning rate")
	fs.Float64SliceVar(&scales, "scales", bookScales(), "initial weight standard deviations (default the book's 16: np.logspace(0, -4, 16))")
	fs.IntVar(&seed, "seed", 1, "seed of the initial weights and of the batches")
	fs.StringVar(&out, "out", "docs/book/ch06_batch_norm_test.png", "the figure (PNG)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case limit < 1 || epochs < 1 || batch < 1 || seed < 0:
		return cli.Usagef("--limit, --epochs and --batch-size must be positive, --seed not negative")
	case !(lr > 0):
		return cli.Usagef("--lr must be positive, got %v", lr)
	case len(scales) == 0:
		return cli.Usagef("--scales is empty")
	}
	for _, s := range scales {
		if !(s > 0) || math.IsInf(s, 0) {
			return cli.Usagef("--scales: %v is not a positive number", s)
		}
	}
	if err := bookex.CheckOut("--out", out); err != nil {
		return err
	}
	trainSet, _, err := bookex.LoadMNIST(limit, 1)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ch06 batch_norm_test: 784-100x5-10 ReLU with and without BatchNorm, SGD lr %g, batch %d, %d epochs over %d training images\n", lr, batch, epochs, trainSet.Len())
	fmt.Fprintln(stdout, "training accuracy after the last epoch (the book's figure: with BatchNorm it learns faster, and at scales where the plain net does not learn at all)")
	rows := make([]bookex.Row, len(scales))
	var plots []*plot.Plot
	start := time.Now()
	for i, w := range scales {
		plain, bn, err := trainPair(trainSet, w, lr, batch, epochs, uint64(seed+i))
		if err != nil {
			return fmt.Errorf("scale %g: %w", w, err)
		}
		rows[i] = bookex.Row{Name: fmt.Sprintf("W:%.4g", w), Book: lastAcc(plain), Tapenet: lastAcc(bn)}
		p, err := bookex.LinePlot("W:"+fmt.Sprintf("%.4g", w), "", "", []bookex.Series{
			{Label: "Batch Normalization", Y: bn.TrainAcc},
			{Label: "Normal (without BatchNorm)", Y: plain.TrainAcc, Dashed: true},
		}, 0, 1)
		if err != nil {
			return err
		}
		if i != len(scales)-1 { // the book's legend is on the last subplot
			p.Legend = plot.NewLegend()
		} else {
			p.Legend.Top = false
		}
		plots = append(plots, p)
	}
	secs := time.Since(start).Seconds()
	if err := bookex.WriteTable(stdout, bookex.Row{Name: "scale", Book: "without", Tapenet: "with BatchNorm"}, rows); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d pairs of nets trained in %.1f s\n", len(scales), secs)
	cols := min(4, len(plots))
	var grid [][]*plot.Plot
	for len(plots) > 0 {
		row := make([]*plot.Plot, cols)
		n := copy(row, plots)
		grid, plots = append(grid, row), plots[n:]
	}
	if err := bookex.WriteFile(out, func(w io.Writer) error { return bookex.WritePlots(w, grid, 250*cols, 200*len(grid)) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", out)
	return nil
}

// trainPair trains the book's net without and with batch normalisation
// from weights of scale w and returns their training accuracies per epoch.
func trainPair(set *datasets.Set, w, lr float64, batch, epochs int, seed uint64) (plain, bn bookex.Result, err error) {
	var trs []*train.Trainer
	for _, withBN := range []bool{false, true} {
		m, err := bookex.Net{Hidden: []int{100, 100, 100, 100, 100}, Init: fmt.Sprintf("normal:%v", w), BatchNorm: withBN}.Build(seed)
		if err != nil {
			return plain, bn, err
		}
		tr, err := train.NewTrainer(m, train.Config{Optimizer: &train.SGD{}, LearningRate: lr, Seed: seed})
		if err != nil {
			return plain, bn, err
		}
		trs = append(trs, tr)
	}
	res, err := bookex.Loop{Train: set, Batch: batch, Epochs: epochs, Break: true, Seed: seed}.Run(trs)
	if err != nil {
		return plain, bn, err
	}
	return res[0], res[1], nil
}

// lastAcc is the last epoch's training accuracy, and when the net diverged
// (its loss overflowed float32, and tapenet stopped training it) at which
// iteration.
func lastAcc(r bookex.Result) string {
	s := fmt.Sprintf("%.3f", r.TrainAcc[len(r.TrainAcc)-1])
	if r.Diverged > 0 {
		s += fmt.Sprintf(" (diverged at iteration %d)", r.Diverged)
	}
	return s
}
