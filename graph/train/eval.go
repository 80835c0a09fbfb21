package train

import (
	"fmt"
	"math"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/internal/tape"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Metrics are a model's scores on a data set.
type Metrics struct {
	// Loss is the mean over the samples of the training objective (the
	// weighted sum of the outputs' losses), computed in inference mode:
	// dropout off, batch normalisation on its running statistics.
	Loss float64
	// Accuracy is the fraction of samples whose first output has its
	// largest value where the target has (the class, for one-hot rows or
	// labels); for an output of one value per sample, whose output and
	// target fall on the same side of ½ (of 0 for logits).
	Accuracy float64
	// Samples is the number of samples scored.
	Samples int
}

type evalProg struct {
	p       *graph.Program
	targets []*gorgonia.Node
	loss    *gorgonia.Node
	vm      *tape.Machine
	xs, ts  []*tensor.Dense
	logits  bool // the first output node holds logits
}

func (tr *Trainer) evalProg(batch int) (*evalProg, error) {
	if ep, ok := tr.evals[batch]; ok {
		return ep, nil
	}
	p, err := tr.m.BuildWith(batch, graph.BuildOptions{Logits: true})
	if err != nil {
		return nil, err
	}
	targets, loss, err := tr.addLosses(p)
	if err != nil {
		return nil, err
	}
	ep := &evalProg{p: p, targets: targets, loss: loss, logits: p.Cut[0]}
	for _, in := range p.Inputs {
		ep.xs = append(ep.xs, tensor.New(tensor.WithShape(in.Shape()...), tensor.Of(tensor.Float32)))
	}
	for _, t := range targets {
		ep.ts = append(ep.ts, tensor.New(tensor.WithShape(t.Shape()...), tensor.Of(tensor.Float32)))
	}
	ep.vm = tape.New(p.Graph)
	tr.evals[batch] = ep
	return ep, nil
}

// Evaluate scores a model of one input and one output on samples x and
// targets t: see EvaluateInputs.
func (tr *Trainer) Evaluate(x, t *tensor.Dense, batch int) (Metrics, error) {
	return tr.EvaluateInputs([]*tensor.Dense{x}, []*tensor.Dense{t}, batch)
}

// EvaluateInputs scores the model on the samples of xs (one tensor of N
// samples per model input) against ts (one target tensor per output, as
// for EpochInputs), in order, in batches of batch samples plus a final
// partial one. It changes neither the parameters nor the Trainer's
// generators, so it may run between epochs (on a validation split, say)
// without changing the run.
func (tr *Trainer) EvaluateInputs(xs, ts []*tensor.Dense, batch int) (Metrics, error) {
	if batch < 1 {
		return Metrics{}, fmt.Errorf("evaluate: batch size %d is not positive", batch)
	}
	n, err := tr.m.CheckInputs(xs)
	if err != nil {
		return Metrics{}, fmt.Errorf("evaluate: %w", err)
	}
	srcX, err := tr.inputSources(xs)
	if err != nil {
		return Metrics{}, fmt.Errorf("evaluate: %w", err)
	}
	srcT, err := tr.targetSources(ts, n)
	if err != nil {
		return Metrics{}, fmt.Errorf("evaluate: %w", err)
	}
	var loss float64
	correct := 0
	idx := make([]int, 0, batch)
	for from := 0; from < n; from += batch {
		idx = idx[:0]
		for j := from; j < min(from+batch, n); j++ {
			idx = append(idx, j)
		}
		ep, err := tr.evalProg(len(idx))
		if err != nil {
			return Metrics{}, err
		}
		if err := fillAll(ep.xs, srcX, idx); err != nil {
			return Metrics{}, fmt.Errorf("evaluate: %w", err)
		}
		if err := fillAll(ep.ts, srcT, idx); err != nil {
			return Metrics{}, fmt.Errorf("evaluate: %w", err)
		}
		ep.vm.Reset()
		for i, x := range ep.xs {
			if err := gorgonia.Let(ep.p.Inputs[i], x); err != nil {
				return Metrics{}, fmt.Errorf("evaluate: bind input: %w", err)
			}
		}
		for i, t := range ep.ts {
			if err := gorgonia.Let(ep.targets[i], t); err != nil {
				return Metrics{}, fmt.Errorf("evaluate: bind target: %w", err)
			}
		}
		if err := ep.vm.Run(); err != nil {
			return Metrics{}, fmt.Errorf("evaluate: run: %w", err)
		}
		l, ok := ep.loss.Value().Data().(float32)
		if !ok {
			return Metrics{}, fmt.Errorf("evaluate: loss is %T, not float32", ep.loss.Value().Data())
		}
		loss += float64(l) * float64(len(idx))
		out, err := graph.Contiguous(ep.p.Outputs[0].Value().(*tensor.Dense))
		if err != nil {
			return Metrics{}, fmt.Errorf("evaluate: %w", err)
		}
		c, err := countCorrect(out.Data().([]float32), ep.ts[0].Data().([]float32), len(idx), ep.logits)
		if err != nil {
			return Metrics{}, fmt.Errorf("evaluate: %w", err)
		}
		correct += c
	}
	return Metrics{Loss: loss / float64(n), Accuracy: float64(correct) / float64(n), Samples: n}, nil
}

// countCorrect counts the rows of y (rows of the same length as t's) whose
// argmax is t's, or for rows of one value, on the same side of the
// threshold.
func countCorrect(y, t []float32, rows int, logits bool) (int, error) {
	if len(y) != len(t) || rows == 0 || len(y)%rows != 0 {
		return 0, fmt.Errorf("%d outputs against %d targets for %d samples", len(y), len(t), rows)
	}
	cols := len(y) / rows
	correct := 0
	if cols == 1 {
		th := float32(0.5)
		if logits {
			th = 0
		}
		for i := range y {
			if (y[i] > th) == (t[i] > 0.5) {
				correct++
			}
		}
		return correct, nil
	}
	for r := 0; r < rows; r++ {
		if argmax(y[r*cols:(r+1)*cols]) == argmax(t[r*cols:(r+1)*cols]) {
			correct++
		}
	}
	return correct, nil
}

// argmax returns the index of the largest value (the first on ties).
func argmax(row []float32) int {
	best := 0
	for j, v := range row {
		if v > row[best] {
			best = j
		}
	}
	return best
}

// Accuracy returns the fraction of the samples of x (N, sample shape...)
// that pr classifies (Predictor.Classify, batches of batch samples) as
// their label.
func Accuracy(pr *graph.Predictor, x *tensor.Dense, labels []int, batch int) (float64, error) {
	preds, err := pr.Classify(x, batch)
	if err != nil {
		return 0, fmt.Errorf("accuracy: %w", err)
	}
	if len(preds) != len(labels) {
		return 0, fmt.Errorf("accuracy: %d samples, %d labels", len(preds), len(labels))
	}
	correct := 0
	for i, p := range preds {
		if p == labels[i] {
			correct++
		}
	}
	return float64(correct) / float64(len(preds)), nil
}

// EarlyStopping stops training once a score (higher is better: a
// validation accuracy, or a negated loss) has not improved for Patience
// epochs, and remembers the best epoch, whose model is the one to keep.
// Its exported fields are its whole state, so a resumed run can restore
// them.
type EarlyStopping struct {
	// Patience is the number of epochs without improvement to allow (0:
	// never stop).
	Patience int
	// MinDelta is the smallest rise that counts as an improvement.
	MinDelta float64
	// Best is the best score so far and BestEpoch its epoch (0: none yet).
	Best      float64
	BestEpoch int
	// Waited counts the epochs since BestEpoch.
	Waited int
}

// Observe records the score of an epoch. It reports whether the score is
// the best so far (save the model now, to keep the best) and whether to
// stop training.
func (e *EarlyStopping) Observe(epoch int, score float64) (best, stop bool) {
	if math.IsNaN(score) {
		e.Waited++
	} else if e.BestEpoch == 0 || score > e.Best+e.MinDelta {
		e.Best, e.BestEpoch, e.Waited = score, epoch, 0
		return true, false
	} else {
		e.Waited++
	}
	return false, e.Patience > 0 && e.Waited >= e.Patience
}
