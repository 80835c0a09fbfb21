package bookex

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/graph/train"
)

// Overfit is the experiment of the book's overfit_weight_decay.py and
// overfit_dropout.py (section 6.4): a seven-layer net 784-100×6-10 (ReLU,
// He initial weights) trained by SGD on the first 300 MNIST training
// images only, so that it overfits, with weight decay or dropout to hold
// it back; the training and test accuracies of each epoch are printed and
// plotted.
type Overfit struct {
	// Script and Figure name the book's script and figure, for the output.
	Script, Figure string
	Limit, Epochs  int
	// TestLimit is the number of test images (0: all 10,000).
	TestLimit int
	Batch     int
	LR        float64
	// WeightDecay is the book's weight_decay_lambda: ½λ‖W‖² added to the
	// loss, λW to each weight's gradient (graph/train's coupled decay),
	// biases excluded as the book's MultiLayerNet excludes them.
	WeightDecay float64
	// Dropout is the book's dropout_ratio (0: none).
	Dropout float64
	// Break ends after the last epoch's measurement, as
	// overfit_weight_decay.py's loop does; otherwise the Trainer's
	// epochs·iter_per_epoch steps are all taken, as overfit_dropout.py's
	// common/trainer.py Trainer does.
	Break bool
	Seed  int
	Out   string
}

// Flags registers the experiment's flags, their defaults the fields'
// values.
func (o *Overfit) Flags(fs *cli.Flags) {
	fs.IntVar(&o.Limit, "limit", o.Limit, "training images (the book: the first 300)")
	fs.IntVar(&o.TestLimit, "test-limit", 0, "test on the first N test images only (0: all 10,000)")
	fs.IntVar(&o.Epochs, "epochs", o.Epochs, "epochs (the book's max_epochs)")
	fs.IntVar(&o.Batch, "batch-size", o.Batch, "images per step")
	fs.Float64Var(&o.LR, "lr", o.LR, "SGD learning rate")
	fs.Float64Var(&o.WeightDecay, "weight-decay", o.WeightDecay, "the book's weight_decay_lambda (0: none)")
	fs.Float64Var(&o.Dropout, "dropout", o.Dropout, "the book's dropout_ratio (0: none)")
	fs.IntVar(&o.Seed, "seed", 1, "seed of the initial weights, batches and dropout masks")
	fs.StringVar(&o.Out, "out", o.Out, "the figure (PNG)")
}

// Run checks the flags' values, trains the net and writes the figure.
func (o *Overfit) Run(stdout io.Writer) error {
	switch {
	case o.Limit < 1 || o.Epochs < 1 || o.Batch < 1 || o.Seed < 0 || o.TestLimit < 0:
		return cli.Usagef("--limit, --epochs and --batch-size must be positive, --seed and --test-limit not negative")
	case !(o.LR > 0) || o.WeightDecay < 0:
		return cli.Usagef("--lr must be positive and --weight-decay not negative")
	case o.Dropout < 0 || o.Dropout >= 1:
		return cli.Usagef("--dropout must be in [0, 1), got %v", o.Dropout)
	}
	if err := CheckOut("--out", o.Out); err != nil {
		return err
	}
	trainSet, testSet, err := LoadMNIST(o.Limit, o.TestLimit)
	if err != nil {
		return err
	}
	m, err := Net{Hidden: []int{100, 100, 100, 100, 100, 100}, Dropout: o.Dropout}.Build(uint64(o.Seed))
	if err != nil {
		return err
	}
	tr, err := train.NewTrainer(m, train.Config{Optimizer: &train.SGD{WeightDecay: o.WeightDecay}, LearningRate: o.LR,
		NoDecay: train.BiasAndNormParams(m), Seed: uint64(o.Seed)})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: 784-100x6-10 ReLU (He), SGD lr %g, weight decay λ %g, dropout %g, batch %d, %d epochs over %d training images, tested on %d\n",
		o.Script, o.LR, o.WeightDecay, o.Dropout, o.Batch, o.Epochs, trainSet.Len(), testSet.Len())
	start := time.Now()
	res, err := Loop{Train: trainSet, Test: testSet, Batch: o.Batch, Epochs: o.Epochs, Break: o.Break, Seed: uint64(o.Seed),
		Each: func(epoch int, a, c float64) {
			fmt.Fprintf(stdout, "epoch:%d, train acc:%.4f, test acc:%.4f\n", epoch, a, c)
		}}.Run([]*train.Trainer{tr})
	if err != nil {
		return err
	}
	r := res[0]
	if r.Diverged > 0 {
		return fmt.Errorf("iteration %d: %w", r.Diverged, train.ErrDiverged)
	}
	a, c := r.TrainAcc[len(r.TrainAcc)-1], r.TestAcc[len(r.TestAcc)-1]
	fmt.Fprintf(stdout, "%d epochs (%d steps) in %.1f s: train acc %.4f, test acc %.4f, gap %.4f\n",
		o.Epochs, tr.Steps(), time.Since(start).Seconds(), a, c, a-c)
	fig := AccuracyPlot{
		Title:  fmt.Sprintf("tapenet: the book's %s (λ %g, dropout %g)", o.Figure, o.WeightDecay, o.Dropout),
		Series: []Series{{Label: "train", Y: r.TrainAcc}, {Label: "test", Y: r.TestAcc, Dashed: true}},
	}
	if err := WriteFile(o.Out, fig.WritePNG); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", o.Out)
	return nil
}

// ParseFinal reads the final accuracies from Overfit.Run's output, for
// tests.
func ParseFinal(out string) (trainAcc, testAcc float64, err error) {
	i := strings.LastIndex(out, ": train acc ")
	if i < 0 {
		return 0, 0, fmt.Errorf("no final accuracies in %q", out)
	}
	_, err = fmt.Sscanf(out[i:], ": train acc %g, test acc %g", &trainAcc, &testAcc)
	return trainAcc, testAcc, err
}
