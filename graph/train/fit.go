package train

import (
	"context"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ErrStop, returned (or wrapped) by a callback, ends Fit after the epoch
// as early stopping does: Fit returns the history and no error.
var ErrStop = errors.New("stop training")

// FitData is what Fit trains on and scores. Each field holding tensors
// holds one per model input (X) or output (T), of N samples along the
// first axis, as Trainer.EpochInputs takes them: targets of the output's
// shape (one-hot rows) or, for a SparseLoss, (N,) class labels.
type FitData struct {
	// X and T are the training samples and their targets.
	X, T []*tensor.Dense
	// ValX and ValT, if set, are the validation set, scored after every
	// epoch: early stopping and the best model follow it.
	ValX, ValT []*tensor.Dense
	// ValidationSplit, when ValX is nil and it is positive, holds out the
	// last ValidationSplit samples of X and T as the validation set.
	ValidationSplit int
	// TestX and TestT, if set, are scored after every epoch and reported,
	// never used to decide anything.
	TestX, TestT []*tensor.Dense
	// Augment, if not nil, returns the training inputs of an epoch (such
	// as shifted images; see datasets.Shift) from X, drawing from rng,
	// a generator seeded by FitOptions.Seed whose state a resumable
	// checkpoint keeps.
	Augment func(x []*tensor.Dense, rng *rand.Rand) ([]*tensor.Dense, error)
}

// FitOptions configure Fit. Epochs and Batch are required.
type FitOptions struct {
	// Epochs is the number of epochs of the whole run: a resumed run
	// continues up to it.
	Epochs int
	// Batch is the number of samples per step, and of each evaluation
	// batch unless EvalBatch is set.
	Batch int
	// EvalBatch, if positive, is the number of samples per batch of the
	// evaluations after each epoch.
	EvalBatch int
	// Sampler, if not nil, draws the batches of each epoch (such as
	// WithReplacement's, the book's loops) in place of the Trainer's pass
	// over the samples in a shuffled order of batches of Batch samples.
	Sampler Sampler
	// Patience stops training when the validation score (accuracy for
	// classification, the negated loss otherwise) has not improved by
	// more than MinDelta for Patience epochs (0: never).
	Patience int
	MinDelta float64
	// ScoreTrain evaluates the training set (without augmentation) after
	// every epoch too, in inference mode.
	ScoreTrain bool
	// Seed seeds the generator of FitData.Augment.
	Seed uint64
	// Resume, if not nil, is the state of a run saved by a Checkpoint
	// callback (ReadCheckpoint): the Trainer takes it (its model must
	// hold the checkpoint's weights) and Fit continues with the history,
	// early stopping and augmentation generator it holds.
	Resume *State
	// Extra is saved with every resumable checkpoint (State.Extra), for
	// the caller's own settings; keys starting with "fit" are Fit's.
	Extra map[string]string
	// Callbacks are called in order after every epoch, and after every
	// step for those that are StepCallbacks.
	Callbacks []Callback
}

// Scores are the metrics of one data set after an epoch, as a History
// keeps them: Metrics without the per-class details.
type Scores struct {
	Task                 Task
	Loss, Accuracy, TopK float64
	K                    int
	MSE, MAE, R2         float64
	Samples              int
}

func scoresOf(m Metrics) *Scores {
	return &Scores{Task: m.Task, Loss: m.Loss, Accuracy: m.Accuracy, TopK: m.TopK, K: m.K, MSE: m.MSE, MAE: m.MAE, R2: m.R2, Samples: m.Samples}
}

// Score returns the score that early stopping and the best model follow
// (higher is better): the accuracy for classification, the negated loss
// otherwise.
func (s *Scores) Score() float64 {
	if s.Task == Regression {
		return -s.Loss
	}
	return s.Accuracy
}

// EpochLog is what Fit measured of one epoch.
type EpochLog struct {
	// Epoch counts from 1 over the whole (resumed) run.
	Epoch int
	// Loss is the mean training loss over the epoch, Steps its steps,
	// Seconds the time its steps took (not saved in checkpoints, so that
	// they keep the same bytes) and LearningRate the rate of its last
	// step.
	Loss         float64
	Steps        int
	Seconds      float64 `json:"-"`
	LearningRate float64
	// Train, Validation and Test are the scores after the epoch (nil
	// when not scored).
	Train, Validation, Test *Scores
	// Best reports that the validation score is the best so far, and
	// Stopped that training stops after this epoch.
	Best, Stopped bool
}

// History is the record of a Fit.
type History struct {
	// Epochs holds every epoch of the run, a resumed run's earlier ones
	// included.
	Epochs []EpochLog
	// Stopping is the early-stopping state (its Best and BestEpoch name
	// the best validation epoch).
	Stopping EarlyStopping
}

// FitRun is the run a callback sees.
type FitRun struct {
	// Trainer is the run's Trainer, and Model its model.
	Trainer *Trainer
	Model   *graph.Model
	// Options are Fit's options.
	Options FitOptions
	// History holds the epochs so far; the last is the current one.
	History *History
	// Validation, Test and Train hold the full metrics of the current
	// epoch (zero when the set is not scored).
	Validation, Test, Train Metrics
	// Samples is the number of training samples (after a validation
	// split), and EpochSamples the samples the current epoch's steps take
	// (Samples, or the sum of a Sampler's batches).
	Samples, EpochSamples int

	augment *rand.PCG
}

// Last returns the log of the current epoch.
func (r *FitRun) Last() EpochLog { return r.History.Epochs[len(r.History.Epochs)-1] }

// Callback is called by Fit after each epoch has been scored. An error
// ends Fit with that error, except ErrStop, which ends it cleanly.
type Callback interface {
	OnEpochEnd(r *FitRun) error
}

// StepCallback is a Callback that is also called after every step of an
// epoch, with the number of samples done in the epoch.
type StepCallback interface {
	Callback
	OnStep(r *FitRun, done int)
}

// EpochFunc is a Callback of a function.
type EpochFunc func(r *FitRun) error

// OnEpochEnd calls f.
func (f EpochFunc) OnEpochEnd(r *FitRun) error { return f(r) }

// fitState is the JSON of a resumable checkpoint's "fit" entry.
type fitState struct {
	History History `json:"history"`
	Augment string  `json:"augment_rng"`
	Sampler string  `json:"sampler,omitempty"` // its MarshalBinary, in hex
}

const fitKey = "fit"

// WriteCheckpoint writes a resumable checkpoint of the run: the Trainer's
// (Trainer.WriteCheckpoint) with Options.Extra and Fit's own state (the
// history, early stopping and the augmentation generator), which
// FitOptions.Resume continues.
func (r *FitRun) WriteCheckpoint(w io.Writer) error {
	aug, err := r.augment.MarshalBinary()
	if err != nil {
		return fmt.Errorf("checkpoint: augmentation generator: %w", err)
	}
	fs := fitState{History: *r.History, Augment: hex.EncodeToString(aug)}
	if r.Options.Sampler != nil {
		sm, ok := r.Options.Sampler.(encoding.BinaryMarshaler)
		if !ok {
			return fmt.Errorf("checkpoint: the sampler %T cannot save its state (encoding.BinaryMarshaler)", r.Options.Sampler)
		}
		b, err := sm.MarshalBinary()
		if err != nil {
			return fmt.Errorf("checkpoint: sampler: %w", err)
		}
		fs.Sampler = hex.EncodeToString(b)
	}
	b, err := json.Marshal(fs)
	if err != nil {
		return fmt.Errorf("checkpoint: fit state: %w", err)
	}
	extra := map[string]string{fitKey: string(b)}
	for k, v := range r.Options.Extra {
		if k != fitKey {
			extra[k] = v
		}
	}
	return r.Trainer.WriteCheckpoint(w, extra)
}

// SaveModel is a Callback that writes the model's weights
// (checkpoint.Write) to path after every epoch, through a temporary file
// renamed into place.
func SaveModel(path string) Callback {
	return EpochFunc(func(r *FitRun) error {
		return cli.WriteFile(path, func(w io.Writer) error { return checkpoint.Write(w, r.Model) })
	})
}

// SaveBest is a Callback that writes the model's weights to path after
// every epoch whose validation score is the best so far.
func SaveBest(path string) Callback {
	return EpochFunc(func(r *FitRun) error {
		if !r.Last().Best {
			return nil
		}
		return cli.WriteFile(path, func(w io.Writer) error { return checkpoint.Write(w, r.Model) })
	})
}

// SaveCheckpoint is a Callback that writes a resumable checkpoint
// (FitRun.WriteCheckpoint) to path after every epoch.
func SaveCheckpoint(path string) Callback {
	return EpochFunc(func(r *FitRun) error {
		return cli.WriteFile(path, r.WriteCheckpoint)
	})
}

// JSONLog is a Callback that prints one JSON object per epoch to w:
// "epoch", "loss" (training), "steps", "seconds", "learning_rate", and for
// each scored set ("train", "validation", "test") its loss and the metrics
// of the task, e.g. "validation_accuracy", "test_mse", "test_r2";
// "best" with a validation set, "stopped" on the last epoch of an early
// stop.
func JSONLog(w io.Writer) Callback {
	return EpochFunc(func(r *FitRun) error {
		e := r.Last()
		rec := map[string]any{"epoch": e.Epoch, "loss": e.Loss, "seconds": e.Seconds, "steps": e.Steps, "learning_rate": e.LearningRate}
		for _, s := range []struct {
			name string
			sc   *Scores
		}{{"train", e.Train}, {"validation", e.Validation}, {"test", e.Test}} {
			if s.sc == nil {
				continue
			}
			rec[s.name+"_loss"] = finite(s.sc.Loss)
			switch s.sc.Task {
			case Regression:
				rec[s.name+"_mse"], rec[s.name+"_mae"], rec[s.name+"_r2"] = finite(s.sc.MSE), finite(s.sc.MAE), finite(s.sc.R2)
			default:
				rec[s.name+"_accuracy"] = s.sc.Accuracy
				if s.sc.K > 0 {
					rec[fmt.Sprintf("%s_top%d", s.name, s.sc.K)] = s.sc.TopK
				}
			}
		}
		if e.Validation != nil {
			rec["best"] = e.Best
		}
		if e.Stopped {
			rec["stopped"] = true
		}
		line, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", line)
		return err
	})
}

// finite returns v, or nil (JSON null) for NaN and infinities.
func finite(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// TextLog is a Callback that prints one line per epoch to w: the epoch of
// Options.Epochs, the training loss, the scores (accuracy for
// classification, MSE and R² for regression) of the training,
// validation and test sets, and the seconds; and a line when early
// stopping ends the run.
func TextLog(w io.Writer) Callback {
	return EpochFunc(func(r *FitRun) error {
		e := r.Last()
		line := fmt.Sprintf("epoch %d/%d  loss %.4f", e.Epoch, r.Options.Epochs, e.Loss)
		if e.Train != nil {
			line += "  train " + e.Train.text()
		}
		if e.Validation != nil {
			line += fmt.Sprintf("  val %s (loss %.4f)", e.Validation.text(), e.Validation.Loss)
		}
		if e.Test != nil {
			line += "  test " + e.Test.text()
		}
		if _, err := fmt.Fprintf(w, "%s  %.1fs\n", line, e.Seconds); err != nil {
			return err
		}
		if e.Stopped {
			st := r.History.Stopping
			_, err := fmt.Fprintf(w, "stopping: validation %s has not improved for %d epochs (best %.4f at epoch %d)\n",
				e.Validation.scoreName(), st.Waited, math.Abs(st.Best), st.BestEpoch)
			return err
		}
		return nil
	})
}

func (s *Scores) text() string {
	if s.Task == Regression {
		return fmt.Sprintf("mse %.4f r2 %.4f", s.MSE, s.R2)
	}
	return fmt.Sprintf("%.4f", s.Accuracy)
}

func (s *Scores) scoreName() string {
	if s.Task == Regression {
		return "loss"
	}
	return "accuracy"
}

// Fit trains tr's model on data for opt.Epochs epochs (from where
// opt.Resume left off), scoring the validation, test and (with
// opt.ScoreTrain) training sets after each epoch, then calling the
// callbacks; it stops early when opt.Patience epochs pass without a
// better validation score, when a callback returns ErrStop, or when ctx
// is done (checked before every epoch and after every step; it then
// returns ctx's error, the last epoch's outputs already written). It
// returns the history of the run. The run is the Trainer's: the same
// Trainer configuration, data and seeds give the same weights bit for
// bit, and a run resumed from a SaveCheckpoint file ends with the bytes of
// the run that was not interrupted.
func Fit(ctx context.Context, tr *Trainer, data FitData, opt FitOptions) (*History, error) {
	if opt.Epochs < 1 || opt.Batch < 1 {
		return nil, fmt.Errorf("fit: %d epochs of batches of %d: both must be positive", opt.Epochs, opt.Batch)
	}
	if opt.Patience < 0 {
		return nil, fmt.Errorf("fit: patience %d is negative", opt.Patience)
	}
	evalBatch := opt.Batch
	if opt.EvalBatch > 0 {
		evalBatch = opt.EvalBatch
	}
	x, t, valX, valT, err := data.split()
	if err != nil {
		return nil, fmt.Errorf("fit: %w", err)
	}
	n, err := tr.m.CheckInputs(x)
	if err != nil {
		return nil, fmt.Errorf("fit: %w", err)
	}
	r := &FitRun{Trainer: tr, Model: tr.m, Options: opt, History: &History{}, Samples: n,
		augment: rand.NewPCG(opt.Seed, 0xa06)}
	if opt.Resume != nil {
		if err := r.resume(opt.Resume); err != nil {
			return nil, fmt.Errorf("fit: resume: %w", err)
		}
		if tr.Epochs() >= opt.Epochs {
			return nil, fmt.Errorf("fit: the run has done %d epochs of %d: nothing to resume", tr.Epochs(), opt.Epochs)
		}
	}
	r.History.Stopping.Patience, r.History.Stopping.MinDelta = opt.Patience, opt.MinDelta
	augRNG := rand.New(r.augment)
	var steppers []StepCallback
	for _, c := range opt.Callbacks {
		if s, ok := c.(StepCallback); ok {
			steppers = append(steppers, s)
		}
	}
	for epoch := tr.Epochs() + 1; epoch <= opt.Epochs; epoch++ {
		if err := ctx.Err(); err != nil {
			return r.History, fmt.Errorf("fit: before epoch %d: %w", epoch, err)
		}
		xs := x
		if data.Augment != nil {
			if xs, err = data.Augment(x, augRNG); err != nil {
				return r.History, fmt.Errorf("epoch %d: augment: %w", epoch, err)
			}
		}
		start := time.Now()
		after := func(done int) error {
			for _, s := range steppers {
				s.OnStep(r, done)
			}
			return ctx.Err()
		}
		var st EpochStats
		if opt.Sampler == nil {
			r.EpochSamples = n
			st, err = tr.epoch(xs, t, opt.Batch, after)
		} else {
			st, err = r.sampled(epoch, xs, t, after)
		}
		if err != nil {
			return r.History, fmt.Errorf("epoch %d: %w", epoch, err)
		}
		e := EpochLog{Epoch: epoch, Loss: st.Loss, Steps: st.Steps, Seconds: time.Since(start).Seconds(), LearningRate: tr.LearningRate()}
		r.Train, r.Validation, r.Test = Metrics{}, Metrics{}, Metrics{}
		if opt.ScoreTrain {
			if r.Train, err = tr.EvaluateInputs(x, t, evalBatch); err != nil {
				return r.History, fmt.Errorf("epoch %d: training set: %w", epoch, err)
			}
			e.Train = scoresOf(r.Train)
		}
		if valX != nil {
			if r.Validation, err = tr.EvaluateInputs(valX, valT, evalBatch); err != nil {
				return r.History, fmt.Errorf("epoch %d: validation: %w", epoch, err)
			}
			e.Validation = scoresOf(r.Validation)
			e.Best, e.Stopped = r.History.Stopping.Observe(epoch, e.Validation.Score())
		}
		if data.TestX != nil {
			if r.Test, err = tr.EvaluateInputs(data.TestX, data.TestT, evalBatch); err != nil {
				return r.History, fmt.Errorf("epoch %d: test: %w", epoch, err)
			}
			e.Test = scoresOf(r.Test)
		}
		r.History.Epochs = append(r.History.Epochs, e)
		stop := e.Stopped
		for _, c := range opt.Callbacks {
			if err := c.OnEpochEnd(r); errors.Is(err, ErrStop) {
				stop = true
			} else if err != nil {
				return r.History, fmt.Errorf("epoch %d: %w", epoch, err)
			}
		}
		if stop {
			break
		}
	}
	return r.History, nil
}

// resume restores the Trainer's state and Fit's from st.
func (r *FitRun) resume(st *State) error {
	if err := r.Trainer.SetState(st); err != nil {
		return err
	}
	raw, ok := st.Extra[fitKey]
	if !ok {
		return fmt.Errorf("the state has no %q entry (write it with SaveCheckpoint)", fitKey)
	}
	var fs fitState
	if err := json.Unmarshal([]byte(raw), &fs); err != nil {
		return fmt.Errorf("fit state: %w", err)
	}
	aug, err := hex.DecodeString(fs.Augment)
	if err != nil {
		return fmt.Errorf("augmentation generator: %w", err)
	}
	if err := r.augment.UnmarshalBinary(aug); err != nil {
		return fmt.Errorf("augmentation generator: %w", err)
	}
	*r.History = fs.History
	if r.Options.Sampler != nil {
		su, ok := r.Options.Sampler.(encoding.BinaryUnmarshaler)
		if !ok || fs.Sampler == "" {
			return fmt.Errorf("the sampler %T cannot take the state of the run (saved: %t)", r.Options.Sampler, fs.Sampler != "")
		}
		b, err := hex.DecodeString(fs.Sampler)
		if err == nil {
			err = su.UnmarshalBinary(b)
		}
		if err != nil {
			return fmt.Errorf("sampler: %w", err)
		}
	}
	return nil
}

// sampled is the epoch of FitOptions.Sampler.
func (r *FitRun) sampled(epoch int, xs, ts []*tensor.Dense, after func(int) error) (EpochStats, error) {
	n, err := r.Model.CheckInputs(xs)
	if err != nil {
		return EpochStats{}, err
	}
	batches, err := r.Options.Sampler.Batches(epoch, n)
	if err != nil {
		return EpochStats{}, fmt.Errorf("sampler: %w", err)
	}
	r.EpochSamples = 0
	for _, b := range batches {
		r.EpochSamples += len(b)
	}
	return r.Trainer.pass(xs, ts, n, batches, after)
}

// Sampler draws the batches of each epoch of Fit (FitOptions.Sampler). To
// be resumed (FitOptions.Resume), it implements encoding.BinaryMarshaler
// and BinaryUnmarshaler, whose state the resumable checkpoints keep.
type Sampler interface {
	// Batches returns the batches of sample indices, each in [0, n), of
	// epoch epoch (counted from 1 over the whole run) over n samples.
	Batches(epoch, n int) ([][]int, error)
}

// WithReplacement returns a Sampler whose batches of batch samples are
// drawn uniformly at random from the n samples, with replacement, as
// numpy's np.random.choice(n, batch) draws them in the book's training
// loops; steps gives the number of batches of each epoch (nil: the
// book's iter_per_epoch, max(n/batch, 1)). The draws are rand.IntN(n) of a
// generator rand.NewPCG(seed, 0xb00c), whose state resumable checkpoints
// keep.
func WithReplacement(batch int, seed uint64, steps func(epoch, n int) int) Sampler {
	src := rand.NewPCG(seed, 0xb00c)
	return &replacement{batch: batch, steps: steps, src: src, rng: rand.New(src)}
}

type replacement struct {
	batch int
	steps func(epoch, n int) int
	src   *rand.PCG
	rng   *rand.Rand
}

// Batches draws the batches of an epoch.
func (s *replacement) Batches(epoch, n int) ([][]int, error) {
	if s.batch < 1 || n < 1 {
		return nil, fmt.Errorf("batches of %d of %d samples: both must be positive", s.batch, n)
	}
	k := max(n/s.batch, 1)
	if s.steps != nil {
		k = s.steps(epoch, n)
	}
	if k < 1 {
		return nil, fmt.Errorf("epoch %d of %d batches", epoch, k)
	}
	out := make([][]int, k)
	for b := range out {
		out[b] = make([]int, s.batch)
		for j := range out[b] {
			out[b][j] = s.rng.IntN(n)
		}
	}
	return out, nil
}

// MarshalBinary returns the generator's state.
func (s *replacement) MarshalBinary() ([]byte, error) { return s.src.MarshalBinary() }

// UnmarshalBinary restores the generator's state.
func (s *replacement) UnmarshalBinary(b []byte) error { return s.src.UnmarshalBinary(b) }

// FitExtra returns the caller's entries of a state written by
// SaveCheckpoint (FitOptions.Extra), without Fit's own.
func FitExtra(st *State) map[string]string {
	out := map[string]string{}
	for k, v := range st.Extra {
		if k != fitKey {
			out[k] = v
		}
	}
	return out
}

// FitHistory returns the history a state written by SaveCheckpoint holds.
func FitHistory(st *State) (*History, error) {
	var fs fitState
	if err := json.Unmarshal([]byte(st.Extra[fitKey]), &fs); err != nil {
		return nil, fmt.Errorf("fit state: %w", err)
	}
	return &fs.History, nil
}

// split returns the training and validation tensors of d.
func (d FitData) split() (x, t, valX, valT []*tensor.Dense, err error) {
	x, t, valX, valT = d.X, d.T, d.ValX, d.ValT
	if len(x) == 0 || len(t) == 0 {
		return nil, nil, nil, nil, fmt.Errorf("no training data")
	}
	if valX != nil || d.ValidationSplit <= 0 {
		return x, t, valX, valT, nil
	}
	n := x[0].Shape()[0]
	k := d.ValidationSplit
	if k >= n {
		return nil, nil, nil, nil, fmt.Errorf("a validation split of %d of the %d samples leaves none to train on", k, n)
	}
	cut := func(ts []*tensor.Dense, from, to int) ([]*tensor.Dense, error) {
		out := make([]*tensor.Dense, len(ts))
		for i, a := range ts {
			if a == nil || a.Dims() < 1 || a.Shape()[0] != n {
				return nil, fmt.Errorf("tensor %d of shape %v has not %d samples", i, shapeOf(a), n)
			}
			v, err := a.Slice(gorgonia.S(from, to))
			if err != nil {
				return nil, err
			}
			out[i] = v.(*tensor.Dense).Materialize().(*tensor.Dense)
		}
		return out, nil
	}
	if x, err = cut(d.X, 0, n-k); err == nil {
		if t, err = cut(d.T, 0, n-k); err == nil {
			if valX, err = cut(d.X, n-k, n); err == nil {
				valT, err = cut(d.T, n-k, n)
			}
		}
	}
	return x, t, valX, valT, err
}
