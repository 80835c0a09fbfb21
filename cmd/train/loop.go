package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
	"github.com/tapenet/tapenet/internal/cli"
	"github.com/tapenet/tapenet/models"
)

// train runs the epochs of the run the flags describe, or continues res,
// through train.Fit, writing the outputs after every epoch. It returns
// after epoch stopAfter when that is not 0.
func (o *options) train(fs *cli.Flags, res *resumed, lc *curves, stdout, stderr io.Writer, stopAfter int) error {
	m, err := o.startModel(res)
	if err != nil {
		return err
	}
	// Convolutional models take (N, 1, 28, 28) images, the others (N, 784).
	opt := datasets.Options{Normalize: true, Flatten: len(m.Input()) == 1, OneHot: true, SampleShape: m.Input()}
	trainSet, test, err := loadData(o.data, opt)
	if err != nil {
		return err
	}
	trainSet = trainSet.Head(o.limit)
	k := 0
	if o.validation != "" {
		if k, err = validationSize(o.validation, trainSet.Len()); err != nil {
			return err
		}
	}
	if o.batch, err = cli.Batch("--batch-size", o.batch, max(trainSet.Len(), test.Len()), m.SampleValues(), 2); err != nil {
		return err
	}
	if res == nil && o.init == "" {
		m.Init(o.seed)
	}
	cfg, err := o.trainConfig(m, (trainSet.Len()-k+o.batch-1)/o.batch)
	if err != nil {
		return err
	}
	loss, why, err := o.chooseLoss(m, false)
	if err != nil {
		return err
	}
	cfg.Losses = []train.Loss{loss}
	cfg.Task = train.Classification
	tr, err := train.NewTrainer(m, cfg)
	if err != nil {
		return err
	}
	fo := train.FitOptions{Epochs: o.epochs, Batch: o.batch, Patience: o.patience, ScoreTrain: true, Seed: o.seed,
		Extra: map[string]string{"settings": settingsJSON(fs)}}
	if res != nil {
		if res.state.Epochs >= o.epochs {
			return cli.Usagef("--resume %s: the run has done %d epochs; give --epochs above %d to continue it", o.resume, res.state.Epochs, res.state.Epochs)
		}
		fo.Resume = res.state
	}
	if !o.json {
		if res != nil {
			fmt.Fprintf(stdout, "resuming %s after epoch %d of %d\n", o.resume, res.state.Epochs, o.epochs)
		}
		fmt.Fprintf(stdout, "training %s (%d parameters) on %d images, loss %s (%s), optimizer %s, batch %d\n",
			o.arch, m.ParamCount(), trainSet.Len()-k, tr.Loss(), why, o.optimizer, o.batch)
	}
	fo.Callbacks = o.callbacks(lc, trainSet.Len()-k, k > 0, stdout, stderr, stopAfter)
	data := train.FitData{X: []*tensor.Dense{trainSet.X}, T: []*tensor.Dense{targets(trainSet, loss)}, ValidationSplit: k,
		TestX: []*tensor.Dense{test.X}, TestT: []*tensor.Dense{targets(test, loss)}}
	if o.augment == "shift" {
		data.Augment = func(x []*tensor.Dense, rng *rand.Rand) ([]*tensor.Dense, error) {
			s, err := datasets.Shift(x[0], 2, rng)
			return []*tensor.Dense{s}, err
		}
	}
	hist, err := train.Fit(context.Background(), tr, data, fo)
	if err != nil {
		if res != nil {
			return fmt.Errorf("--resume %s: %w", o.resume, err)
		}
		return err
	}
	if !o.json {
		fmt.Fprintf(stdout, "wrote %s\n", o.out)
		if o.best != "" && hist.Stopping.BestEpoch > 0 {
			fmt.Fprintf(stdout, "wrote %s (epoch %d, validation %.4f)\n", o.best, hist.Stopping.BestEpoch, hist.Stopping.Best)
		}
		if o.checkpoint != "" {
			fmt.Fprintf(stdout, "wrote %s (resume with --resume %s)\n", o.checkpoint, o.checkpoint)
		}
	}
	return nil
}

// startModel returns the model to train: the resumed one, the --init one
// or a new --arch, with --dropout's layers.
func (o *options) startModel(res *resumed) (*graph.Model, error) {
	if res != nil {
		return res.model, nil
	}
	var m *graph.Model
	var err error
	if o.init != "" {
		// Fine-tune a model trained elsewhere: its weights, not Init's.
		if m, err = models.Open(o.init); err != nil {
			return nil, err
		}
		if in := m.Inputs(); len(in) != 1 || (fmt.Sprint(in[0].Shape) != "[784]" && fmt.Sprint(in[0].Shape) != "[1 28 28]") {
			return nil, fmt.Errorf("model %s takes %v; train feeds MNIST images, (784) or (1, 28, 28)", o.init, in)
		}
		o.arch = o.init // named in the output instead of --arch
	} else if m, err = o.model(); err != nil {
		return nil, err
	}
	if m, err = train.WithDropout(m, o.dropout); err != nil {
		return nil, cli.Usagef("--dropout: %v", err)
	}
	return m, nil
}

// targets returns the targets of s for the loss: one-hot rows, or the
// labels for a sparse loss.
func targets(s *datasets.Set, loss train.Loss) *tensor.Dense {
	if sl, ok := loss.(train.SparseLoss); ok && sl.Sparse() {
		return tensor.New(tensor.WithShape(len(s.Labels)), tensor.WithBacking(slices.Clone(s.Labels)))
	}
	return s.OneHot
}

// chooseLoss returns the loss of --loss, or the default for the model's
// output and the data (regression targets or classes), and why; a --loss
// that does not fit them is a usage error.
func (o *options) chooseLoss(m *graph.Model, regression bool) (train.Loss, string, error) {
	meaning, shape := m.OutputMeaning(0), m.OutputShape(0)
	task := "class labels"
	if regression {
		task = "regression targets"
	}
	var loss train.Loss
	why := fmt.Sprintf("--loss, on output %s of %s", meaning, task)
	if o.loss == "" {
		loss = train.DefaultLoss(meaning, !regression)
		why = fmt.Sprintf("the output means %s", meaning)
		if meaning == graph.Values {
			why += ", the targets are " + task
		}
	} else {
		var err error
		if loss, err = train.LossByName(o.loss); err != nil {
			return nil, "", cli.Usagef("--loss: %v", err)
		}
	}
	if _, err := loss.Input(meaning, shape); err != nil {
		return nil, "", cli.Usagef("--loss %s does not fit the model's output (%s, shape %v): %v", loss, meaning, shape, err)
	}
	if t := train.TaskOf(meaning, loss); regression && t != train.Regression {
		return nil, "", cli.Usagef("--loss %s is a classification loss, but the data has regression targets: use mse, mae or huber", loss)
	}
	return loss, why, nil
}

// callbacks are the run's outputs, in the order they are written after
// each epoch.
func (o *options) callbacks(lc *curves, images int, validation bool, stdout, stderr io.Writer, stopAfter int) []train.Callback {
	cbs := []train.Callback{}
	if !o.json && cli.IsTerminal(stderr) {
		cbs = append(cbs, &bar{w: stderr, total: images, epochs: o.epochs})
	}
	cbs = append(cbs, train.SaveModel(o.out))
	if o.best != "" {
		cbs = append(cbs, train.SaveBest(o.best))
	}
	cbs = append(cbs, train.EpochFunc(func(r *train.FitRun) error { return lc.draw(o, images, r.History, validation) }))
	if o.checkpoint != "" {
		cbs = append(cbs, train.SaveCheckpoint(o.checkpoint))
	}
	if o.json {
		cbs = append(cbs, train.JSONLog(stdout))
	} else {
		cbs = append(cbs, train.TextLog(stdout))
	}
	if stopAfter > 0 {
		cbs = append(cbs, train.EpochFunc(func(r *train.FitRun) error {
			if r.Last().Epoch == stopAfter {
				return train.ErrStop
			}
			return nil
		}))
	}
	return cbs
}

// bar draws a progress bar of each epoch on a terminal.
type bar struct {
	w             io.Writer
	total, epochs int
	pb            *progressbar.ProgressBar
	epoch         int
}

// OnStep advances the bar, starting one per epoch.
func (b *bar) OnStep(r *train.FitRun, done int) {
	if b.pb == nil {
		b.epoch = r.Trainer.Epochs() + 1
		b.pb = progressbar.NewOptions(b.total, progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", b.epoch, b.epochs)),
			progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
	}
	b.pb.Set(done)
}

// OnEpochEnd clears the bar.
func (b *bar) OnEpochEnd(*train.FitRun) error {
	if b.pb != nil {
		b.pb.Finish()
		b.pb = nil
	}
	return nil
}

func settingsJSON(fs *cli.Flags) string {
	b, _ := json.Marshal(settingsOf(fs)) // a map of strings always encodes
	return string(b)
}
