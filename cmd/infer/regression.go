package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"time"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
)

// loadSet loads the split of the data set --data names: the embedded
// MNIST (""), an IDX folder, or a numpy .npz file. An .npz without a test
// split gives its training arrays when --split was not given.
func loadSet(data string, split datasets.Split, splitGiven bool, opt datasets.Options) (*datasets.Set, error) {
	if data == "" {
		return datasets.MNIST(split, opt)
	}
	if st, err := os.Stat(data); err == nil && st.IsDir() {
		return datasets.LoadDir(data, split, opt)
	}
	train, test, err := datasets.Open(data, opt)
	if err != nil {
		return nil, err
	}
	switch {
	case split == datasets.Train:
		return train, nil
	case test != nil:
		return test, nil
	case !splitGiven:
		return train, nil
	}
	return nil, fmt.Errorf("data set %s has no test split (x_test, y_test): run --split train", data)
}

// regression is the report of a regression run; its JSON form is the
// --json output. R2 is null when a target column is constant (R² is then
// undefined).
type regression struct {
	Model     string   `json:"model"`
	Samples   int      `json:"samples"`
	Targets   int      `json:"targets"`
	MSE       float64  `json:"mse"`
	MAE       float64  `json:"mae"`
	R2        *float64 `json:"r2"`
	Seconds   float64  `json:"seconds"`
	PerSecond float64  `json:"samples_per_second"`
}

// runRegression runs a regression set through the model and reports MSE,
// MAE and R² as graph/train's Evaluate computes them.
func (o options) runRegression(pr *graph.Predictor, m *graph.Model, set *datasets.Set, batch int, stdout io.Writer) error {
	for _, f := range []struct{ name, v string }{{"--errors", o.pics.errors}, {"--confusion", o.pics.confusion}} {
		if f.v != "" {
			return cli.Usagef("%s draws classification results; data set %s has regression targets", f.name, o.data)
		}
	}
	k := set.TargetColumns()
	if mean := m.OutputMeaning(0); mean.Classification() {
		return fmt.Errorf("model %s gives %s, but data set %s has regression targets", o.model, mean, o.data)
	}
	if out := m.OutputShape(0); !slices.Equal(out, []int{k}) {
		return fmt.Errorf("model %s gives outputs of shape %v per sample; data set %s has %d targets per sample", o.model, out, o.data, k)
	}
	// The metrics are graph/train's (Metrics.MSE, MAE, R2), from an
	// evaluation that changes nothing in the model.
	tr, err := train.NewTrainer(m, train.Config{Task: train.Regression})
	if err != nil {
		return fmt.Errorf("model %s: scoring regression: %w", o.model, err)
	}
	start := time.Now()
	met, err := tr.Evaluate(set.X, set.Targets, batch)
	secs := time.Since(start).Seconds()
	if err != nil {
		return fmt.Errorf("model %s: %w", o.model, err)
	}
	rep := regression{Model: o.model, Samples: set.Len(), Targets: k, MSE: met.MSE, MAE: met.MAE, Seconds: secs}
	if r2 := met.R2; !math.IsNaN(r2) && !math.IsInf(r2, 0) {
		rep.R2 = &r2
	}
	if secs > 0 {
		rep.PerSecond = float64(rep.Samples) / secs
	}
	if o.predictions != "" {
		outs, err := predictBatches(pr, m, []*tensor.Dense{set.X}, batch)
		if err != nil {
			return fmt.Errorf("model %s: %w", o.model, err)
		}
		pred, _, err := graph.Rows(outs[0])
		if err != nil {
			return fmt.Errorf("model %s: %w", o.model, err)
		}
		err = cli.WriteFile(o.predictions, func(w io.Writer) error {
			bw := bufio.NewWriter(w)
			for r := range set.Len() {
				for c, v := range pred[r*k : (r+1)*k] {
					if c > 0 {
						bw.WriteByte(' ')
					}
					fmt.Fprint(bw, v)
				}
				bw.WriteByte('\n')
			}
			return bw.Flush()
		})
		if err != nil {
			return err
		}
	}
	if o.json {
		b, err := json.Marshal(rep)
		if err != nil {
			return fmt.Errorf("--json: %w", err) // a NaN metric
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	r2 := "undefined (a target column is constant)"
	if rep.R2 != nil {
		r2 = fmt.Sprintf("%.6g", *rep.R2)
	}
	_, err = fmt.Fprintf(stdout, "model: %s\nregression: %d samples, %d targets each\nmse: %.6g\nmae: %.6g\nr2: %s\n\nsamples per second: %.0f (%d samples in %.3f s)\n",
		rep.Model, rep.Samples, rep.Targets, rep.MSE, rep.MAE, r2, rep.PerSecond, rep.Samples, rep.Seconds)
	return err
}
