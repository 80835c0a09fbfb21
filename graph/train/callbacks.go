package train

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/tapenet/tapenet/graph"
)

// Progress is a StepCallback that draws a progress bar of each epoch's
// training samples (FitRun.EpochSamples) on w (a terminal: the bar is redrawn in place, at most
// every 0.1 s, and cleared at the end of the epoch), headed "epoch E/N".
func Progress(w io.Writer) StepCallback { return &progress{w: w} }

type progress struct {
	w  io.Writer
	pb *progressbar.ProgressBar
}

// OnStep advances the bar, starting one per epoch.
func (b *progress) OnStep(r *FitRun, done int) {
	if b.pb == nil {
		b.pb = progressbar.NewOptions(r.EpochSamples, progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", r.Trainer.Epochs()+1, r.Options.Epochs)),
			progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
	}
	b.pb.Set(done)
}

// OnEpochEnd clears the bar.
func (b *progress) OnEpochEnd(*FitRun) error {
	if b.pb != nil {
		b.pb.Finish()
		b.pb = nil
	}
	return nil
}

// StopAfter is a Callback that ends Fit (ErrStop) after epoch epoch of the
// run, as an interrupted run would end: a resumable checkpoint written by
// an earlier callback then continues it.
func StopAfter(epoch int) Callback {
	return EpochFunc(func(r *FitRun) error {
		if r.Last().Epoch >= epoch {
			return ErrStop
		}
		return nil
	})
}

// Resume reads the run saved in a SaveCheckpoint file at path: the model
// with the run's weights (as ReadCheckpoint with a nil registry), to
// train with a Trainer of the run's configuration, and the State for
// FitOptions.Resume (FitExtra gives the caller's entries). A file of
// weights only (SaveModel, checkpoint.Write) is an error.
func Resume(path string) (*graph.Model, *State, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	m, st, err := ReadCheckpoint(f, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if st == nil {
		return nil, nil, fmt.Errorf("%s holds weights only, no training state", path)
	}
	if _, ok := st.Extra[fitKey]; !ok {
		return nil, nil, fmt.Errorf("%s: the training state has no %q entry (write it with SaveCheckpoint)", path, fitKey)
	}
	return m, st, nil
}
