package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
	"github.com/tapenet/tapenet/models"
)

// train runs the epochs of the run the flags describe, or continues res,
// through train.Fit, writing the outputs after every epoch. It returns
// after epoch stopAfter when that is not 0.
func (o *options) train(fs *cli.Flags, res *resumed, lc *curves, stdout, stderr io.Writer, stopAfter int) error {
	m, trainSet, test, err := o.modelAndData(res)
	if err != nil {
		return err
	}
	regression := trainSet.Regression()
	if regression && lc.path != "" {
		return cli.Usagef("--plot draws accuracies: the data set %s has regression targets", o.data)
	}
	trainSet = trainSet.Head(o.limit)
	k := 0
	if o.validation != "" {
		if k, err = train.ValidationSize(o.validation, trainSet.Len()); err != nil {
			return cli.Usagef("--%v", err)
		}
	}
	most := trainSet.Len()
	if test != nil {
		most = max(most, test.Len())
	}
	if o.batch, err = cli.Batch("--batch-size", o.batch, most, m.SampleValues(), 2); err != nil {
		return err
	}
	if res == nil && o.init == "" {
		m.Init(o.seed)
	}
	cfg, err := o.trainConfig(m, (trainSet.Len()-k+o.batch-1)/o.batch)
	if err != nil {
		return err
	}
	loss, why, err := train.ChooseLoss(m, o.loss, regression)
	if err != nil {
		return cli.Usagef("--%v", err)
	}
	cfg.Losses = []train.Loss{loss}
	cfg.Task = train.Classification
	if regression {
		cfg.Task = train.Regression
	}
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
		fmt.Fprintf(stdout, "training %s (%d parameters) on %d samples, loss %s (%s), optimizer %s, batch %d\n",
			o.arch, m.ParamCount(), trainSet.Len()-k, tr.Loss(), why, o.optimizer, o.batch)
	}
	fo.Callbacks = o.callbacks(lc, trainSet.Len()-k, k > 0, stdout, stderr, stopAfter)
	data := train.FitData{X: []*tensor.Dense{trainSet.X}, ValidationSplit: k}
	for _, s := range []*datasets.Set{trainSet, test} {
		if s == nil {
			continue
		}
		t, err := train.Targets(m, loss, s.Labels, s.Targets)
		if err != nil {
			return err
		}
		if s == trainSet {
			data.T = []*tensor.Dense{t}
		} else {
			data.TestX, data.TestT = []*tensor.Dense{s.X}, []*tensor.Dense{t}
		}
	}
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

// modelAndData returns the model to train (the resumed one, the --init
// one or a new --arch built for the data, with --dropout's layers) and the
// data (--data, or the embedded MNIST) in the model's sample shape.
func (o *options) modelAndData(res *resumed) (*graph.Model, *datasets.Set, *datasets.Set, error) {
	var m *graph.Model
	var err error
	switch {
	case res != nil:
		m = res.model
	case o.init != "":
		// Fine-tune a model trained elsewhere: its weights, not Init's.
		if m, err = models.Open(o.init); err != nil {
			return nil, nil, nil, err
		}
		if len(m.Inputs()) != 1 || len(m.Outputs()) != 1 {
			return nil, nil, nil, fmt.Errorf("model %s has %d inputs and %d outputs; train feeds one of each", o.init, len(m.Inputs()), len(m.Outputs()))
		}
		o.arch = o.init // named in the output instead of --arch
	}
	opt := datasets.Options{Normalize: true}
	if m != nil {
		// Flat models take (N, values), the others (N, sample shape...).
		opt.Flatten, opt.SampleShape = len(m.Input()) == 1, m.Input()
	} else {
		opt.Flatten = o.arch == "mlp" || o.arch == "book"
	}
	trainSet, test, err := loadData(o.data, opt)
	if err != nil {
		return nil, nil, nil, err
	}
	if m == nil {
		in := []int(trainSet.X.Shape()[1:])
		if m, err = o.model(in, trainSet.Classes, trainSet.TargetColumns()); err != nil {
			return nil, nil, nil, err
		}
		if m, err = train.WithDropout(m, o.dropout); err != nil {
			return nil, nil, nil, cli.Usagef("--dropout: %v", err)
		}
		for _, s := range []*datasets.Set{trainSet, test} {
			if s != nil {
				if err := s.X.Reshape(append([]int{s.Len()}, m.Input()...)...); err != nil {
					return nil, nil, nil, fmt.Errorf("--arch %s takes samples of shape %v: %w", o.arch, m.Input(), err)
				}
			}
		}
	} else if o.dropout != 0 && res == nil {
		if m, err = train.WithDropout(m, o.dropout); err != nil {
			return nil, nil, nil, cli.Usagef("--dropout: %v", err)
		}
	}
	if err := train.CheckTargets(m, trainSet.Classes, trainSet.TargetColumns()); err != nil {
		return nil, nil, nil, cli.Usagef("%v", err)
	}
	return m, trainSet, test, nil
}

// callbacks are the run's outputs, in the order they are written after
// each epoch.
func (o *options) callbacks(lc *curves, images int, validation bool, stdout, stderr io.Writer, stopAfter int) []train.Callback {
	cbs := []train.Callback{}
	if !o.json && cli.IsTerminal(stderr) {
		cbs = append(cbs, train.Progress(stderr))
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
		cbs = append(cbs, train.StopAfter(stopAfter))
	}
	return cbs
}
