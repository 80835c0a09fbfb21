package bookex

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
	"github.com/tapenet/tapenet/models"
)

// LoadMNIST returns the first limit training images (all 60,000 when limit
// is 0) and the first testLimit test images (all 10,000 when 0), as the
// book's load_mnist(normalize=True, one_hot_label=True) gives them,
// flattened to 784 values.
func LoadMNIST(limit, testLimit int) (trainSet, testSet *datasets.Set, err error) {
	opt := datasets.Options{Normalize: true, Flatten: true, OneHot: true}
	if trainSet, err = datasets.MNIST(datasets.Train, opt); err != nil {
		return nil, nil, fmt.Errorf("load the training images: %w", err)
	}
	if testSet, err = datasets.MNIST(datasets.Test, opt); err != nil {
		return nil, nil, fmt.Errorf("load the test images: %w", err)
	}
	return trainSet.Head(limit), testSet.Head(testLimit), nil
}

// Pick returns a new set of the samples of s at idx, in that order (the
// book's x[idx]), for a set of flattened samples with one-hot labels.
func Pick(s *datasets.Set, idx []int) *datasets.Set {
	d, c := s.SampleSize(), s.Classes
	xs, ts := s.X.Data().([]float32), s.OneHot.Data().([]float32)
	x, t := make([]float32, len(idx)*d), make([]float32, len(idx)*c)
	labels := make([]int, len(idx))
	for i, k := range idx {
		copy(x[i*d:(i+1)*d], xs[k*d:(k+1)*d])
		copy(t[i*c:(i+1)*c], ts[k*c:(k+1)*c])
		labels[i] = s.Labels[k]
	}
	return &datasets.Set{
		X:       tensor.New(tensor.WithShape(len(idx), d), tensor.WithBacking(x)),
		OneHot:  tensor.New(tensor.WithShape(len(idx), c), tensor.WithBacking(t)),
		Labels:  labels,
		Classes: c,
	}
}

// Net describes the book's MultiLayerNet and MultiLayerNetExtend
// (common/multi_layer_net.py, common/multi_layer_net_extend.py) over MNIST:
// 784 inputs, one Affine layer per hidden size, each followed by batch
// normalisation (when BatchNorm), the activation and dropout (when
// Dropout > 0), then an Affine layer of 10 units and a softmax.
type Net struct {
	// Hidden holds the hidden layers' sizes.
	Hidden []int
	// Activation is "relu" (default) or "sigmoid".
	Activation string
	// Init is the weights' initialiser as graph.Dense names it: "he"
	// (default; the book's weight_init_std="relu"), "xavier" ("sigmoid")
	// or "normal:STD" (a number).
	Init string
	// BatchNorm inserts the book's BatchNormalization after each hidden
	// Affine layer (γ = 1, β = 0, its running-average momentum 0.9 and
	// its ε 10e-7).
	BatchNorm bool
	// Dropout, if positive, is the book's dropout_ration: its Dropout
	// (models.BookDropout, not rescaled in training, scaled by 1 − ratio
	// at test time) after each hidden activation.
	Dropout float64
}

// Build returns the network as a tapenet model with weights drawn from
// seed (biases zero, as the book's).
func (n Net) Build(seed uint64) (*graph.Model, error) {
	act := n.Activation
	if act == "" {
		act = "relu"
	}
	var layers []graph.Layer
	for _, h := range n.Hidden {
		layers = append(layers, &graph.Dense{Units: h, Init: n.Init})
		if n.BatchNorm {
			layers = append(layers, &graph.BatchNorm{Momentum: 0.1, Epsilon: 10e-7})
		}
		a, err := models.Activation(act)
		if err != nil {
			return nil, err
		}
		layers = append(layers, a)
		if n.Dropout > 0 {
			layers = append(layers, &models.BookDropout{Rate: n.Dropout, Seed: seed})
		}
	}
	layers = append(layers, &graph.Dense{Units: 10, Init: n.Init}, graph.Softmax{})
	m, err := graph.NewSequential([]int{784}, layers...)
	if err != nil {
		return nil, fmt.Errorf("build the net: %w", err)
	}
	m.Init(seed)
	return m, nil
}

// Loop is the book's training loop over a training set (its
// common/trainer.py Trainer, and the loops of overfit_weight_decay.py and
// batch_norm_test.py) as train.Fit runs it: mini-batches drawn with
// replacement (train.WithReplacement, the book's np.random.choice), and
// every iter_per_epoch = max(N/batch, 1) steps, from step 0, the accuracy
// on the training set (and the test set, when there is one) in inference
// mode. A Fit epoch is the steps between two of the book's measurements:
// 1 step, then iter_per_epoch steps each.
type Loop struct {
	Train, Test *datasets.Set
	Batch       int
	// Epochs is the number of accuracy measurements (the book's epochs,
	// max_epochs).
	Epochs int
	// Iters, if positive, is the number of steps instead (the book's
	// iters_num in train_neuralnet.py), measured at steps 0,
	// iter_per_epoch, ... below Iters; Epochs is then unused.
	Iters int
	// Break stops right after the last measurement, as the scripts'
	// loops do ("if epoch_cnt >= max_epochs: break"); otherwise the
	// Trainer's max_iter = epochs·iter_per_epoch steps are all taken.
	Break bool
	Seed  uint64
	// Each, if not nil, is called after each measurement (test is NaN
	// without a test set), net after net.
	Each func(epoch int, trainAcc, testAcc float64)
}

// Result is what Loop.Run measured of one net.
type Result struct {
	// TrainAcc and TestAcc hold the accuracies per epoch (TestAcc NaN
	// without a test set).
	TrainAcc, TestAcc []float64
	// Diverged is the iteration (from 1) whose loss was not finite
	// (train.ErrDiverged), after which the net was no longer trained but
	// still measured; 0 if it never diverged. The book's numpy nets go on
	// with overflowing values where tapenet's Trainer stops.
	Diverged int
}

// evalBatch is the batch of the accuracy measurements.
const evalBatch = 1000

// Run trains the model of each Trainer through train.Fit on the same
// batches (the scripts that train several nets side by side update all of
// them on each batch: the same draws for each) and returns what it
// measured of each.
func (l Loop) Run(trainers []*train.Trainer) ([]Result, error) {
	perEpoch := max(l.Train.Len()/l.Batch, 1)
	measures, total := l.Epochs, l.Epochs*perEpoch
	if l.Iters > 0 {
		measures, total = (l.Iters-1)/perEpoch+1, l.Iters
	}
	rest := total - 1 - (measures-1)*perEpoch // the steps after the last measurement
	epochs := measures
	if !l.Break && rest > 0 {
		epochs++
	}
	steps := func(epoch, _ int) int {
		switch {
		case epoch == 1:
			return 1
		case epoch <= measures:
			return perEpoch
		}
		return rest
	}
	data := train.FitData{X: []*tensor.Dense{l.Train.X}, T: []*tensor.Dense{l.Train.OneHot}}
	if l.Test != nil {
		data.TestX, data.TestT = []*tensor.Dense{l.Test.X}, []*tensor.Dense{l.Test.OneHot}
	}
	res := make([]Result, len(trainers))
	for j, tr := range trainers {
		r := &res[j]
		record := func(epoch int, m train.Metrics, test *train.Scores) {
			c := math.NaN()
			if test != nil {
				c = test.Accuracy
			}
			r.TrainAcc, r.TestAcc = append(r.TrainAcc, m.Accuracy), append(r.TestAcc, c)
			if l.Each != nil {
				l.Each(epoch, m.Accuracy, c)
			}
		}
		measure := train.EpochFunc(func(run *train.FitRun) error {
			if e := run.Last(); e.Epoch <= measures {
				record(e.Epoch, run.Train, e.Test)
			}
			return nil
		})
		_, err := train.Fit(context.Background(), tr, data, train.FitOptions{Epochs: epochs, Batch: l.Batch, EvalBatch: evalBatch,
			ScoreTrain: true, Sampler: train.WithReplacement(l.Batch, l.Seed, steps), Callbacks: []train.Callback{measure}})
		if !errors.Is(err, train.ErrDiverged) {
			if err != nil {
				return nil, fmt.Errorf("net %d: %w", j+1, err)
			}
			continue
		}
		// No longer trained, the net measures the same at every remaining
		// epoch.
		r.Diverged = tr.Steps()
		for epoch := len(r.TrainAcc) + 1; epoch <= measures; epoch++ {
			a, err := tr.Evaluate(l.Train.X, l.Train.OneHot, evalBatch)
			if err != nil {
				return nil, fmt.Errorf("epoch %d, net %d: %w", epoch, j+1, err)
			}
			var test *train.Scores
			if l.Test != nil {
				c, err := tr.Evaluate(l.Test.X, l.Test.OneHot, evalBatch)
				if err != nil {
					return nil, fmt.Errorf("epoch %d, net %d: %w", epoch, j+1, err)
				}
				test = &train.Scores{Accuracy: c.Accuracy}
			}
			record(epoch, a, test)
		}
	}
	return res, nil
}

// SmoothCurve is the book's smooth_curve (common/util.py): the series
// mirrored by 10 values at each end and averaged with an 11-point Kaiser
// window (β = 2), as the book smooths its loss curves.
func SmoothCurve(x []float64) []float64 {
	const n = 11
	if len(x) < n {
		return append([]float64(nil), x...)
	}
	// np.r_[x[n-1:0:-1], x, x[-1:-n:-1]]
	s := make([]float64, 0, len(x)+2*(n-1))
	for i := n - 1; i > 0; i-- {
		s = append(s, x[i])
	}
	s = append(s, x...)
	for i := len(x) - 1; i > len(x)-n; i-- {
		s = append(s, x[i])
	}
	w, sum := make([]float64, n), 0.0
	for k := range w { // np.kaiser(n, 2)
		r := 2*float64(k)/float64(n-1) - 1
		w[k] = besselI0(2*math.Sqrt(1-r*r)) / besselI0(2)
		sum += w[k]
	}
	y := make([]float64, len(x)) // np.convolve(w/sum, s, 'valid')[5:-5]
	for i := range y {
		v := 0.0
		for k := range w {
			v += w[k] / sum * s[i+5+k]
		}
		y[i] = v
	}
	return y
}

// besselI0 is the modified Bessel function of the first kind, order 0,
// from its power series (ample for the small arguments of a Kaiser window).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / 2) * (x / 2) / float64(k*k)
		sum += term
	}
	return sum
}

// CompareLosses is the loop of the book's optimizer_compare_mnist.py and
// weight_init_compare.py: iters steps in which every trainer takes one
// step on the same mini-batch of batch images of s, drawn with replacement
// from seed (train.Fit, one step per epoch, on train.WithReplacement's
// draws), keeping each step's loss (on the batch before the update; the
// book's scripts compute it just after), and every `every` iterations
// from 0 printing each net's loss as the book does
// ("===========iteration:100", then "SGD:0.28..."). It returns the losses
// per net.
func CompareLosses(w io.Writer, names []string, trainers []*train.Trainer, s *datasets.Set, batch int, seed uint64, iters, every int) ([][]float64, error) {
	losses := make([][]float64, len(trainers))
	one := func(int, int) int { return 1 }
	for j, tr := range trainers {
		keep := train.EpochFunc(func(r *train.FitRun) error {
			losses[j] = append(losses[j], r.Last().Loss)
			return nil
		})
		_, err := train.Fit(context.Background(), tr, train.FitData{X: []*tensor.Dense{s.X}, T: []*tensor.Dense{s.OneHot}},
			train.FitOptions{Epochs: iters, Batch: batch, Sampler: train.WithReplacement(batch, seed, one), Callbacks: []train.Callback{keep}})
		if err != nil {
			return nil, fmt.Errorf("iteration %d, %s: %w", tr.Steps()-1, names[j], err)
		}
	}
	for i := 0; i < iters; i += every {
		fmt.Fprintf(w, "===========iteration:%d\n", i)
		for j, name := range names {
			fmt.Fprintf(w, "%s:%.6f\n", name, losses[j][i])
		}
	}
	return losses, nil
}

// LossReport ends the loss comparisons: it prints each net's last loss and
// its smoothed value (SmoothCurve) and the wall time, and writes the
// book's figure of the smoothed curves against iterations, y from 0 to
// ymax, to out.
func LossReport(w io.Writer, out, title, what string, names []string, losses [][]float64, secs, ymax float64) error {
	series := make([]Series, len(names))
	rows := make([]Row, len(names))
	for i, name := range names {
		s := SmoothCurve(losses[i])
		series[i] = Series{Label: name, Y: s}
		rows[i] = Row{Name: name, Book: fmt.Sprintf("%.4f", losses[i][len(s)-1]), Tapenet: fmt.Sprintf("%.4f", s[len(s)-1])}
	}
	fmt.Fprintf(w, "%d iterations of %d nets in %.1f s; the last loss:\n", len(losses[0]), len(names), secs)
	if err := WriteTable(w, Row{Name: what, Book: "loss", Tapenet: "smoothed"}, rows); err != nil {
		return err
	}
	p, err := LinePlot(title, "iterations", "loss", series, 0, ymax)
	if err != nil {
		return err
	}
	if err := WriteFile(out, func(f io.Writer) error { return WritePlots(f, [][]*plot.Plot{{p}}, 640, 480) }); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s\n", out)
	return nil
}

// LossComparison is the experiment of the book's optimizer_compare_mnist.py
// and weight_init_compare.py: several nets trained side by side on the
// same random mini-batches of MNIST training images, each net's loss
// printed every Every iterations (CompareLosses), then LossReport.
type LossComparison struct {
	// Script heads the output; Title is the figure's; What names the
	// nets' column ("optimizer", "init").
	Script, Title, What        string
	Iters, Batch, Limit, Every int
	Seed                       int
	// YMax is the top of the figure's loss axis (the book's plt.ylim).
	YMax float64
	Out  string
}

// LossNet is one net of a LossComparison: its name, the book's net and
// the Trainer's configuration (its Seed is set by Run).
type LossNet struct {
	Name   string
	Net    Net
	Config train.Config
}

// Flags registers the comparison's flags, their defaults the fields'
// values.
func (c *LossComparison) Flags(fs *cli.Flags) {
	fs.IntVar(&c.Iters, "iters", c.Iters, "iterations (the book's max_iterations)")
	fs.IntVar(&c.Batch, "batch-size", c.Batch, "images per step")
	fs.IntVar(&c.Limit, "limit", 0, "train on the first N training images only (0: all 60,000)")
	fs.IntVar(&c.Every, "every", c.Every, "print the losses every N iterations")
	fs.IntVar(&c.Seed, "seed", 1, "seed of the initial weights and of the batches")
	fs.StringVar(&c.Out, "out", c.Out, "the figure (PNG)")
}

// Run checks the flags' values, builds and trains the nets, prints their
// losses and writes the figure.
func (c *LossComparison) Run(w io.Writer, nets []LossNet) error {
	if c.Iters < 1 || c.Batch < 1 || c.Every < 1 || c.Limit < 0 || c.Seed < 0 {
		return cli.Usagef("--iters, --batch-size and --every must be positive, --limit and --seed not negative")
	}
	if err := CheckOut("--out", c.Out); err != nil {
		return err
	}
	trainSet, _, err := LoadMNIST(c.Limit, 1)
	if err != nil {
		return err
	}
	names := make([]string, len(nets))
	trainers := make([]*train.Trainer, len(nets))
	for i, n := range nets {
		m, err := n.Net.Build(uint64(c.Seed))
		if err != nil {
			return err
		}
		cfg := n.Config
		cfg.Seed = uint64(c.Seed)
		if trainers[i], err = train.NewTrainer(m, cfg); err != nil {
			return fmt.Errorf("%s: %w", n.Name, err)
		}
		names[i] = n.Name
	}
	fmt.Fprintf(w, "%s, batch %d, %d iterations over %d training images\n", c.Script, c.Batch, c.Iters, trainSet.Len())
	start := time.Now()
	losses, err := CompareLosses(w, names, trainers, trainSet, c.Batch, uint64(c.Seed), c.Iters, c.Every)
	if err != nil {
		return err
	}
	return LossReport(w, c.Out, c.Title, c.What, names, losses, time.Since(start).Seconds(), c.YMax)
}
