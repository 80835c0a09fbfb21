package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/tapenet/tapenet/models"

	"github.com/schollz/progressbar/v3"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"github.com/tapenet/tapenet/graph/train"
	"github.com/tapenet/tapenet/internal/cli"
	"github.com/tapenet/tapenet/viz"
)

// train runs the epochs of the run the flags describe, or continues res,
// writing the outputs after every epoch. It returns after epoch stopAfter
// when that is not 0.
func (o *options) train(fs *cli.Flags, res *resumed, lc *curves, stdout, stderr io.Writer, stopAfter int) error {
	var m *graph.Model
	if res != nil {
		m = res.model
	} else {
		var err error
		if o.init != "" {
			// Fine-tune a model trained elsewhere: its weights, not Init's.
			if m, err = models.Open(o.init); err != nil {
				return err
			}
			if in := m.Inputs(); len(in) != 1 || (fmt.Sprint(in[0].Shape) != "[784]" && fmt.Sprint(in[0].Shape) != "[1 28 28]") {
				return fmt.Errorf("model %s takes %v; train feeds MNIST images, (784) or (1, 28, 28)", o.init, in)
			}
			o.arch = o.init // named in the output instead of --arch
		} else if m, err = o.model(); err != nil {
			return err
		}
		if m, err = withDropout(m, o.dropout); err != nil {
			return err
		}
	}
	// Convolutional models take (N, 1, 28, 28) images, the others (N, 784).
	opt := datasets.Options{Normalize: true, Flatten: len(m.Input()) == 1, OneHot: true, SampleShape: m.Input()}
	trainSet, test, err := loadData(o.data, opt)
	if err != nil {
		return err
	}
	trainSet = trainSet.Head(o.limit)
	var val *datasets.Set
	if o.validation != "" {
		k, err := validationSize(o.validation, trainSet.Len())
		if err != nil {
			return err
		}
		n := trainSet.Len()
		trainSet, val = trainSet.Slice(0, n-k), trainSet.Slice(n-k, n)
	}
	if o.batch, err = cli.Batch("--batch-size", o.batch, max(trainSet.Len(), test.Len()), m.SampleValues(), 2); err != nil {
		return err
	}
	steps := (trainSet.Len() + o.batch - 1) / o.batch
	rs := runState{settings: settingsOf(fs), augment: rand.NewPCG(o.seed, 0xa06), stopping: train.EarlyStopping{Patience: o.patience}}
	if res == nil && o.init == "" {
		m.Init(o.seed)
	}
	cfg, err := o.trainConfig(m, steps)
	if err != nil {
		return err
	}
	tr, err := train.NewTrainer(m, cfg)
	if err != nil {
		return err
	}
	if res != nil {
		if err := tr.SetState(res.state); err != nil {
			return fmt.Errorf("--resume %s: %w", o.resume, err)
		}
		if tr.Epochs() >= o.epochs {
			return cli.Usagef("--resume %s: the run has done %d epochs; give --epochs above %d to continue it", o.resume, tr.Epochs(), tr.Epochs())
		}
		rs.augment, rs.stopping, lc.epochs = res.run.augment, res.run.stopping, res.run.curves
		rs.stopping.Patience = o.patience
	}
	augRNG := rand.New(rs.augment)
	if !o.json {
		if res != nil {
			fmt.Fprintf(stdout, "resuming %s after epoch %d of %d\n", o.resume, tr.Epochs(), o.epochs)
		}
		fmt.Fprintf(stdout, "training %s (%d parameters) on %d images, loss %s, optimizer %s, batch %d\n",
			o.arch, m.ParamCount(), trainSet.Len(), tr.Loss(), o.optimizer, o.batch)
	}
	pr := graph.NewPredictor(m)
	for epoch := tr.Epochs() + 1; epoch <= o.epochs; epoch++ {
		var progress func(int)
		var bar *progressbar.ProgressBar
		if !o.json && cli.IsTerminal(stderr) {
			bar = progressbar.NewOptions(trainSet.Len(), progressbar.OptionSetWriter(stderr),
				progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", epoch, o.epochs)),
				progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
			progress = func(done int) { bar.Set(done) }
		}
		x := trainSet.X
		if o.augment == "shift" {
			if x, err = datasets.Shift(trainSet.X, 2, augRNG); err != nil {
				return err
			}
		}
		start := time.Now()
		st, err := tr.Epoch(x, trainSet.OneHot, o.batch, progress)
		secs := time.Since(start).Seconds()
		if bar != nil {
			bar.Finish()
		}
		if err != nil {
			return fmt.Errorf("epoch %d: %w", epoch, err)
		}
		trainAcc, err := train.Accuracy(pr, trainSet.X, trainSet.Labels, o.batch)
		if err != nil {
			return err
		}
		testAcc, err := train.Accuracy(pr, test.X, test.Labels, o.batch)
		if err != nil {
			return err
		}
		var vm train.Metrics
		best, stop := false, false
		if val != nil {
			if vm, err = tr.Evaluate(val.X, val.OneHot, o.batch); err != nil {
				return fmt.Errorf("epoch %d: validation: %w", epoch, err)
			}
			best, stop = rs.stopping.Observe(epoch, vm.Accuracy)
		}
		if err := cli.WriteFile(o.out, func(w io.Writer) error { return checkpoint.Write(w, m) }); err != nil {
			return err
		}
		if best && o.best != "" {
			if err := cli.WriteFile(o.best, func(w io.Writer) error { return checkpoint.Write(w, m) }); err != nil {
				return err
			}
		}
		point := viz.Epoch{Epoch: epoch, Loss: st.Loss, TrainAccuracy: trainAcc, TestAccuracy: testAcc, ValidationAccuracy: vm.Accuracy}
		if err := lc.add(o, trainSet.Len(), point, val != nil); err != nil {
			return err
		}
		rs.curves = lc.epochs
		if o.checkpoint != "" {
			extra, err := rs.extra()
			if err != nil {
				return fmt.Errorf("--checkpoint: %w", err)
			}
			if err := cli.WriteFile(o.checkpoint, func(w io.Writer) error { return tr.WriteCheckpoint(w, extra) }); err != nil {
				return err
			}
		}
		if o.json {
			rec := map[string]any{
				"epoch": epoch, "loss": st.Loss, "train_accuracy": trainAcc, "test_accuracy": testAcc,
				"seconds": secs, "steps": st.Steps, "learning_rate": tr.LearningRate(),
			}
			if val != nil {
				rec["validation_loss"], rec["validation_accuracy"], rec["best"] = vm.Loss, vm.Accuracy, best
			}
			if stop {
				rec["stopped"] = true
			}
			line, _ := json.Marshal(rec)
			fmt.Fprintf(stdout, "%s\n", line)
		} else {
			valText := ""
			if val != nil {
				valText = fmt.Sprintf("  val %.4f (loss %.4f)", vm.Accuracy, vm.Loss)
			}
			fmt.Fprintf(stdout, "epoch %d/%d  loss %.4f  train %.4f%s  test %.4f  %.1fs\n", epoch, o.epochs, st.Loss, trainAcc, valText, testAcc, secs)
			if stop {
				fmt.Fprintf(stdout, "stopping: validation accuracy has not improved for %d epochs (best %.4f at epoch %d)\n",
					rs.stopping.Waited, rs.stopping.Best, rs.stopping.BestEpoch)
			}
		}
		if stop || epoch == stopAfter {
			break
		}
	}
	if !o.json {
		fmt.Fprintf(stdout, "wrote %s\n", o.out)
		if o.best != "" && rs.stopping.BestEpoch > 0 {
			fmt.Fprintf(stdout, "wrote %s (epoch %d, validation %.4f)\n", o.best, rs.stopping.BestEpoch, rs.stopping.Best)
		}
		if o.checkpoint != "" {
			fmt.Fprintf(stdout, "wrote %s (resume with --resume %s)\n", o.checkpoint, o.checkpoint)
		}
	}
	return nil
}
