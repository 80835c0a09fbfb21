// Command train trains a tapenet model on MNIST, an IDX folder or a numpy
// .npz data set (classification or regression) and writes a checkpoint.
//
// Usage:
//
//	go run ./cmd/train [flags]
//
// Run with --help for the flags.
package main

import (
	"io"
	"slices"
	"strings"

	_ "github.com/tapenet/tapenet/blas" // tapenet's Sgemm as Gorgonia's BLAS

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
	"github.com/tapenet/tapenet/models"
)

const usage = `
train: train a model on MNIST (or --data: an IDX folder or a numpy .npz of
classes or regression targets) with Gorgonia and save it as a checkpoint.

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
  go run ./cmd/train --init model.onnx --epochs 1 --out tuned.safetensors  # fine-tune a PyTorch model
  go run ./cmd/train --data cifar5/ --arch convnet   # any IDX folder: the model fits its shape and classes
  go run ./cmd/train --data houses.npz --loss huber  # float y: a regression head (default loss mse)
` + steerUsage

type options struct {
	arch, activation, optimizer, out, data, schedule, augment string
	init                                                      string // --init: a model to fine-tune
	loss                                                      string // --loss ("": from the output's meaning and the data)
	hidden                                                    []int
	lr                                                        float64
	epochs, batch, limit                                      int
	seed                                                      uint64
	json                                                      bool
	steer                                                     // steer.go
}

func main() { cli.Main("train", run) }

func run(args []string, stdout, stderr io.Writer) error { return runUntil(args, stdout, stderr, 0) }

// runUntil is run that returns after epoch stopAfter (0: never), as an
// interrupted run would: the tests' interruption.
func runUntil(args []string, stdout, stderr io.Writer, stopAfter int) error {
	var o options
	var lc curves // --plot
	fs := cli.NewFlags("train", usage, stdout)
	fs.StringVar(&o.arch, "arch", "mlp", "architecture, built for the data's sample shape and classes (or regression targets): mlp (hidden layers from --hidden), book (784-50-100-10 sigmoid), convnet (the book's SimpleConvNet: conv 30x5x5, relu, 2x2 max-pool, 100 relu, 10), resnet (a small residual CNN, models.ResNet), book-deep (the book's chapter 8 DeepConvNet, with its dropout) or lstm (LSTM 128 over image rows as time steps, models.RowLSTM)")
	fs.IntSliceVar(&o.hidden, "hidden", []int{256}, "hidden layer sizes of the mlp, comma-separated")
	fs.StringVar(&o.activation, "activation", "relu", "hidden activation of the mlp: "+strings.Join(slices.DeleteFunc(models.Activations(), func(s string) bool { return s == "step" }), ", "))
	fs.StringVar(&o.optimizer, "optimizer", "adam", "optimizer, with PyTorch's formulas: "+strings.Join(train.Optimizers(), ", ")+" (momentum and nesterov: SGD with momentum 0.9)")
	fs.Float64Var(&o.lr, "lr", 0, "base learning rate (default: sgd 0.1; momentum, nesterov, adagrad, rmsprop 0.01; adam, adamw 0.001)")
	fs.StringVar(&o.schedule, "schedule", "cosine", "learning-rate schedule over the epochs: cosine (decays to near zero), constant, step (×--gamma every --decay-epochs) or exp (×--gamma every epoch)")
	fs.StringVar(&o.augment, "augment", "none", "training-image augmentation: none, or shift (each epoch, every image moved by a random -2..+2 pixels along each axis, seeded)")
	fs.IntVar(&o.epochs, "epochs", 15, "passes over the training set")
	fs.IntVar(&o.batch, "batch-size", 100, "samples per optimisation step")
	fs.Uint64Var(&o.seed, "seed", 1, "seed for initial weights, shuffling, dropout masks and augmentation; the same seed gives the same checkpoint")
	fs.StringVar(&o.out, "out", "model.safetensors", "checkpoint file to write")
	fs.StringVar(&o.data, "data", "", "data set: a folder of IDX files (train-images-idx3-ubyte or idx4, labels, optional t10k-...; .gz or not) or a numpy .npz (x, y, optional x_test, y_test; integer y: classes, float y: regression targets) (default: the embedded MNIST)")
	fs.IntVar(&o.limit, "limit", 0, "train on the first N images only (0: all 60,000)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per epoch instead of text")
	fs.StringVar(&o.loss, "loss", "", "loss: "+strings.Join(train.LossNames(), ", ")+" (default: from what the model's output means: probabilities or logits cross_entropy, log-probabilities nll, sigmoid binary_cross_entropy, plain values cross_entropy on class labels, mse on regression targets)")
	fs.StringVar(&o.init, "init", "", "fine-tune this model instead of training --arch from scratch: an ONNX file (e.g. from torch.onnx.export), a checkpoint or an embedded model's name")
	fs.StringVar(&lc.path, "plot", "", "draw the learning curves (loss, train, validation and test accuracy per epoch) to this PNG file, rewritten after every epoch")
	o.steer.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var res *resumed
	if o.resume != "" {
		var err error
		if res, err = readResume(o.resume, fs); err != nil {
			return err
		}
		if o.checkpoint == "" {
			o.checkpoint = o.resume
		}
	}
	if fs.Changed("lr") && !(o.lr > 0) {
		return cli.Usagef("--lr must be positive, got %v", o.lr)
	}
	if err := o.check(); err != nil {
		return err
	}
	if err := o.steer.check(&o); err != nil {
		return err
	}
	// Fail before training, not after the first epoch: every output is a
	// writable file of its own.
	if err := cli.CheckOutputs(cli.Output{Flag: "--out", Path: o.out}, cli.Output{Flag: "--plot", Path: lc.path},
		cli.Output{Flag: "--checkpoint", Path: o.checkpoint}, cli.Output{Flag: "--best", Path: o.best}); err != nil {
		return err
	}
	return o.train(fs, res, &lc, stdout, stderr, stopAfter)
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
	case !slices.Contains([]string{"cosine", "constant", "step", "exp"}, o.schedule):
		return cli.Usagef("--schedule %q is not one of cosine, constant, step, exp", o.schedule)
	case o.augment != "none" && o.augment != "shift":
		return cli.Usagef("--augment %q is not one of none, shift", o.augment)
	case o.out == "":
		return cli.Usagef("--out must name a file")
	}
	if o.init == "" && o.resume == "" && !slices.Contains(models.Arches(), o.arch) {
		return cli.Usagef("--arch %q is not one of %s", o.arch, strings.Join(models.Arches(), ", "))
	}
	if o.loss != "" {
		if _, err := train.LossByName(o.loss); err != nil {
			return cli.Usagef("--loss %q is not one of %s", o.loss, strings.Join(train.LossNames(), ", "))
		}
	}
	if _, ok := train.DefaultLearningRate(o.optimizer); !ok {
		return cli.Usagef("--optimizer %q is not one of %s", o.optimizer, strings.Join(train.Optimizers(), ", "))
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

// model builds --arch for samples of shape in and the data's task:
// classes, or regression targets per sample.
func (o *options) model(in []int, classes, targets int) (*graph.Model, error) {
	if !slices.Contains(models.Arches(), o.arch) {
		return nil, cli.Usagef("--arch %q is not one of %s", o.arch, strings.Join(models.Arches(), ", "))
	}
	m, err := models.ForData(o.arch, in, classes, targets, models.ArchOptions{Hidden: o.hidden, Activation: o.activation})
	if err != nil {
		return nil, cli.Usagef("%v", err)
	}
	return m, nil
}

// loadData reads --data (an IDX folder or an .npz), or the embedded MNIST
// when it is "". The test split may be nil.
func loadData(path string, opt datasets.Options) (trainSet, test *datasets.Set, err error) {
	if path != "" {
		return datasets.Open(path, opt)
	}
	if trainSet, err = datasets.MNIST(datasets.Train, opt); err != nil {
		return nil, nil, err
	}
	if test, err = datasets.MNIST(datasets.Test, opt); err != nil {
		return nil, nil, err
	}
	return trainSet, test, nil
}
