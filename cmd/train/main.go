// Command train trains a tapenet model on MNIST and writes a checkpoint.
//
// Usage:
//
//	go run ./cmd/train [flags]
//
// Run with --help for the flags.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/internal/cli"
	"github.com/tapenet/tapenet/models"
)

const usage = `
train: train a model on MNIST with Gorgonia and save it as a checkpoint.

Usage:
  go run ./cmd/train [flags]

Prints one line per epoch (loss, train and test accuracy, seconds) and a
progress bar when stderr is a terminal; the checkpoint (safetensors) is
rewritten after every epoch. Run the result with
  go run ./cmd/infer --model model.safetensors

Examples:
  go run ./cmd/train --epochs 1 --out m.safetensors      # ~96% in one epoch
  go run ./cmd/train --out models/weights/mlp.safetensors # the embedded "mlp": the defaults
  go run ./cmd/train --arch convnet --epochs 8 --augment shift \
      --out models/weights/convnet.safetensors            # the embedded "convnet"
  go run ./cmd/train --arch resnet --epochs 10 --lr 0.003 --augment shift \
      --out models/weights/resnet.safetensors             # the embedded "resnet"
  go run ./cmd/train --arch book --activation sigmoid --optimizer sgd --lr 0.1
`

type options struct {
	arch, activation, optimizer, out, data, schedule, augment string
	hidden                                                    []int
	lr                                                        float64
	epochs, batch, limit                                      int
	seed                                                      uint64
	json                                                      bool
}

func main() { cli.Main("train", run) }

func run(args []string, stdout, stderr io.Writer) error {
	var o options
	var lc curves // --plot
	fs := cli.NewFlags("train", usage, stdout)
	fs.StringVar(&o.arch, "arch", "mlp", "architecture: mlp (hidden layers from --hidden), book (784-50-100-10 sigmoid), convnet (the book's SimpleConvNet: conv 30x5x5, relu, 2x2 max-pool, 100 relu, 10) or resnet (a small residual CNN, models.ResNet)")
	fs.IntSliceVar(&o.hidden, "hidden", []int{256}, "hidden layer sizes of the mlp, comma-separated")
	fs.StringVar(&o.activation, "activation", "relu", "hidden activation of the mlp: "+strings.Join(slices.DeleteFunc(models.Activations(), func(s string) bool { return s == "step" }), ", "))
	fs.StringVar(&o.optimizer, "optimizer", "adam", "optimizer: sgd, momentum or adam")
	fs.Float64Var(&o.lr, "lr", 0, "learning rate (default: sgd 0.1, momentum 0.01, adam 0.001)")
	fs.StringVar(&o.schedule, "schedule", "cosine", "learning-rate schedule over the epochs: cosine (decays to near zero) or constant")
	fs.StringVar(&o.augment, "augment", "none", "training-image augmentation: none, or shift (each epoch, every image moved by a random -2..+2 pixels along each axis, seeded)")
	fs.IntVar(&o.epochs, "epochs", 15, "passes over the training set")
	fs.IntVar(&o.batch, "batch-size", 100, "samples per optimisation step")
	fs.Uint64Var(&o.seed, "seed", 1, "seed for initial weights and shuffling; the same seed gives the same checkpoint")
	fs.StringVar(&o.out, "out", "model.safetensors", "checkpoint file to write")
	fs.StringVar(&o.data, "data", "", "folder of MNIST-format IDX files (default: the embedded MNIST)")
	fs.IntVar(&o.limit, "limit", 0, "train on the first N images only (0: all 60,000)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per epoch instead of text")
	fs.StringVar(&lc.path, "plot", "", "draw the learning curves (loss, train and test accuracy per epoch) to this PNG file, rewritten after every epoch")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.Changed("lr") && !(o.lr > 0) {
		return cli.Usagef("--lr must be positive, got %v", o.lr)
	}
	if err := o.check(); err != nil {
		return err
	}
	if err := lc.check(); err != nil {
		return err
	}
	if err := cli.CheckWritable("--out", o.out); err != nil {
		return err // fail before training, not after the first epoch
	}
	m, err := o.model()
	if err != nil {
		return err
	}
	// Convolutional models take (N, 1, 28, 28) images, the others (N, 784).
	opt := datasets.Options{Normalize: true, Flatten: len(m.Input()) == 1, OneHot: true}
	train, test, err := loadData(o.data, opt)
	if err != nil {
		return err
	}
	train = train.Head(o.limit)
	m.Init(o.seed)
	tr, err := graph.NewTrainer(m, graph.TrainConfig{Optimizer: o.optimizer, LearningRate: o.lr, Seed: o.seed})
	if err != nil {
		return err
	}
	if !o.json {
		fmt.Fprintf(stdout, "training %s (%d parameters) on %d images, loss %s, optimizer %s, batch %d\n",
			o.arch, m.ParamCount(), train.Len(), tr.Loss(), o.optimizer, o.batch)
	}
	pr := graph.NewPredictor(m)
	base := tr.LearningRate()
	augRNG := rand.New(rand.NewPCG(o.seed, 0xa06))
	for epoch := 1; epoch <= o.epochs; epoch++ {
		var progress func(int)
		var bar *progressbar.ProgressBar
		if !o.json && cli.IsTerminal(stderr) {
			bar = progressbar.NewOptions(train.Len(), progressbar.OptionSetWriter(stderr),
				progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", epoch, o.epochs)),
				progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
			progress = func(done int) { bar.Set(done) }
		}
		if o.schedule == "cosine" {
			if err := tr.SetLearningRate(graph.CosineRate(base, epoch, o.epochs)); err != nil {
				return err
			}
		}
		x := train.X
		if o.augment == "shift" {
			if x, err = datasets.Shift(train.X, 2, augRNG); err != nil {
				return err
			}
		}
		start := time.Now()
		st, err := tr.Epoch(x, train.OneHot, o.batch, progress)
		secs := time.Since(start).Seconds()
		if bar != nil {
			bar.Finish()
		}
		if err != nil {
			return fmt.Errorf("epoch %d: %w", epoch, err)
		}
		trainAcc, err := accuracy(pr, train, o.batch)
		if err != nil {
			return err
		}
		testAcc, err := accuracy(pr, test, o.batch)
		if err != nil {
			return err
		}
		if err := cli.WriteFile(o.out, func(w io.Writer) error { return graph.WriteCheckpoint(w, m) }); err != nil {
			return err
		}
		if err := lc.add(&o, train.Len(), epoch, st.Loss, trainAcc, testAcc); err != nil {
			return err
		}
		if o.json {
			line, _ := json.Marshal(map[string]any{
				"epoch": epoch, "loss": st.Loss, "train_accuracy": trainAcc, "test_accuracy": testAcc,
				"seconds": secs, "steps": st.Steps, "learning_rate": tr.LearningRate(),
			})
			fmt.Fprintf(stdout, "%s\n", line)
		} else {
			fmt.Fprintf(stdout, "epoch %d/%d  loss %.4f  train %.4f  test %.4f  %.1fs\n", epoch, o.epochs, st.Loss, trainAcc, testAcc, secs)
		}
	}
	if !o.json {
		fmt.Fprintf(stdout, "wrote %s\n", o.out)
	}
	return nil
}

func (o *options) check() error {
	switch {
	case o.epochs < 1:
		return cli.Usagef("--epochs must be at least 1, got %d", o.epochs)
	case o.batch < 1:
		return cli.Usagef("--batch-size must be at least 1, got %d", o.batch)
	case o.limit < 0:
		return cli.Usagef("--limit must not be negative, got %d", o.limit)
	case o.lr < 0:
		return cli.Usagef("--lr must be positive, got %v", o.lr)
	case o.schedule != "cosine" && o.schedule != "constant":
		return cli.Usagef("--schedule %q is not one of cosine, constant", o.schedule)
	case o.augment != "none" && o.augment != "shift":
		return cli.Usagef("--augment %q is not one of none, shift", o.augment)
	case o.out == "":
		return cli.Usagef("--out must name a file")
	}
	if _, ok := graph.DefaultLearningRate(o.optimizer); !ok {
		return cli.Usagef("--optimizer %q is not one of sgd, momentum, adam", o.optimizer)
	}
	if o.activation == "step" {
		return cli.Usagef("--activation step cannot be trained (zero gradient); use sigmoid or relu")
	}
	if _, err := models.Activation(o.activation); err != nil {
		return cli.Usagef("--activation: %v", err)
	}
	for _, h := range o.hidden {
		if h < 1 {
			return cli.Usagef("--hidden sizes must be positive, got %v", o.hidden)
		}
	}
	return nil
}

func (o *options) model() (*graph.Model, error) {
	switch o.arch {
	case "mlp":
		return models.MLP(784, o.hidden, 10, o.activation)
	case "book":
		return models.BookNet()
	case "convnet":
		return models.ConvNet()
	case "resnet":
		return models.ResNet()
	}
	return nil, cli.Usagef("--arch %q is not one of mlp, book, convnet, resnet", o.arch)
}

func loadData(dir string, opt datasets.Options) (train, test *datasets.Set, err error) {
	if train, err = datasets.Load(dir, datasets.Train, opt); err != nil {
		return nil, nil, err
	}
	if test, err = datasets.Load(dir, datasets.Test, opt); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

func accuracy(pr *graph.Predictor, s *datasets.Set, batch int) (float64, error) {
	preds, err := pr.Classify(s.X, batch)
	if err != nil {
		return 0, err
	}
	correct := 0
	for i, p := range preds {
		if p == s.Labels[i] {
			correct++
		}
	}
	return float64(correct) / float64(max(len(preds), 1)), nil
}
