package train

import (
	"fmt"
	"math"
	"slices"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/internal/tape"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Task is what the first output of a model is trained for, which decides
// the metrics that apply to it (see Metrics).
type Task string

// The tasks.
const (
	// Classification picks one class per sample: the argmax along the last
	// axis (probabilities, log-probabilities, logits).
	Classification Task = "classification"
	// BinaryClassification gives independent yes/no answers, one per
	// output value (binary or multi-label).
	BinaryClassification Task = "binary_classification"
	// Regression predicts values.
	Regression Task = "regression"
)

// TaskOf returns the task of an output of meaning m trained with loss l:
// Classification for the cross-entropies and NLL, BinaryClassification for
// binary cross-entropy, and for any other loss the task of the meaning
// (Regression for Values).
func TaskOf(m graph.Meaning, l Loss) Task {
	if ig, ok := l.(IgnoreIndex); ok {
		l = ig.base()
	}
	if n, ok := l.(LossName); ok {
		switch n.dense() {
		case CrossEntropy, NLL:
			return Classification
		case BinaryCrossEntropy:
			return BinaryClassification
		}
	}
	switch {
	case m.Classes():
		return Classification
	case m.Binary():
		return BinaryClassification
	}
	return Regression
}

// Metrics are a model's scores on a data set. Loss and Samples are always
// set; the others are those of the task of the model's first output
// (Task) and are zero (nil) for the other tasks.
type Metrics struct {
	// Task is the task of the first output, which says which of the
	// fields below apply.
	Task Task
	// Loss is the mean over the samples of the training objective (the
	// weighted sum of the outputs' losses), computed in inference mode:
	// dropout off, batch normalisation on its running statistics.
	Loss float64
	// Samples is the number of samples scored.
	Samples int

	// Accuracy (classification) is the fraction of samples whose first
	// output has its largest value where the target has (the class, for
	// one-hot rows or labels); for binary classification, the fraction
	// of output values on the target's side of ½ (of 0 for logits).
	Accuracy float64
	// TopK (classification, more than K classes) is the fraction of
	// samples whose target class is among the K largest values of the
	// output (Config.TopK, default 5); K is 0 when it does not apply.
	TopK float64
	K    int
	// PerClass (classification, and binary with one value per sample)
	// holds per class the fraction of its samples classified right (its
	// recall); NaN for a class with no samples.
	PerClass []float64
	// Confusion (as PerClass, up to 100 classes) counts the samples by
	// [target class][predicted class].
	Confusion [][]int

	// MSE and MAE (regression) are the mean over every output value of
	// the squared and absolute errors, and R2 the coefficient of
	// determination 1 - Σ(y-t)²/Σ(t-t̄)² of each output value (column)
	// over the samples, averaged over the columns (scikit-learn's
	// r2_score); NaN when a column's targets are all equal.
	MSE, MAE, R2 float64
}

// maxConfusion is the most classes Metrics.Confusion is counted for.
const maxConfusion = 100

// scorer accumulates the task metrics of the first output over batches.
type scorer struct {
	task      Task
	logits    bool // binary: the output values are logits (threshold 0)
	k         int
	n         int // samples
	values    int // binary: output values scored
	correct   int
	topk      int
	confusion [][]int
	perTotal  []int
	perRight  []int
	// regression, per column, in float64
	sqErr, absErr   float64
	sumT, sumT2, ss []float64
}

func newScorer(task Task, logits bool, k, cols int) *scorer {
	s := &scorer{task: task, logits: logits}
	classes := cols
	switch task {
	case Classification:
		if cols > k && k > 0 {
			s.k = k
		}
	case BinaryClassification:
		classes = 0
		if cols == 1 {
			classes = 2
		}
	case Regression:
		classes = 0
		s.sumT, s.sumT2, s.ss = make([]float64, cols), make([]float64, cols), make([]float64, cols)
	}
	if classes > 0 {
		s.perTotal, s.perRight = make([]int, classes), make([]int, classes)
		if classes <= maxConfusion {
			s.confusion = make([][]int, classes)
			for i := range s.confusion {
				s.confusion[i] = make([]int, classes)
			}
		}
	}
	return s
}

// add scores a batch: outputs y against targets t, in rows of cols values.
func (s *scorer) add(y, t []float32, cols int) error {
	if len(y) != len(t) || cols < 1 || len(y)%cols != 0 {
		return fmt.Errorf("%d outputs against %d targets in rows of %d", len(y), len(t), cols)
	}
	rows := len(y) / cols
	s.n += rows
	switch s.task {
	case Classification:
		for r := range rows {
			yr, tr := y[r*cols:(r+1)*cols], t[r*cols:(r+1)*cols]
			if !slices.ContainsFunc(tr, func(v float32) bool { return v != 0 }) {
				s.n-- // a position whose label is ignored (IgnoreIndex): not scored
				continue
			}
			s.count(argmax(tr), argmax(yr))
			if s.k > 0 && rank(yr, argmax(tr)) < s.k {
				s.topk++
			}
		}
	case BinaryClassification:
		th := float32(0.5)
		if s.logits {
			th = 0
		}
		for i := range y {
			want, got := 0, 0
			if t[i] > 0.5 {
				want = 1
			}
			if y[i] > th {
				got = 1
			}
			if cols == 1 {
				s.count(want, got)
			} else if want == got {
				s.correct++
			}
		}
		s.values += len(y)
	case Regression:
		for i := range y {
			d := float64(y[i]) - float64(t[i])
			s.sqErr += d * d
			s.absErr += math.Abs(d)
			c, tv := i%cols, float64(t[i])
			s.sumT[c] += tv
			s.sumT2[c] += tv * tv
			s.ss[c] += d * d
		}
	}
	return nil
}

// count records a sample of class want predicted as got.
func (s *scorer) count(want, got int) {
	if want == got {
		s.correct++
		s.perRight[want]++
	}
	s.perTotal[want]++
	if s.confusion != nil {
		s.confusion[want][got]++
	}
}

// rank returns how many values of row are larger than row[j] (ties before
// j count as larger, as a stable descending sort puts them first).
func rank(row []float32, j int) int {
	r := 0
	for i, v := range row {
		if v > row[j] || (v == row[j] && i < j) {
			r++
		}
	}
	return r
}

// metrics fills the task's fields of m.
func (s *scorer) metrics(m *Metrics) {
	m.Task = s.task
	n := float64(s.n)
	switch s.task {
	case Classification, BinaryClassification:
		if s.task == BinaryClassification {
			n = float64(s.values)
		}
		m.Accuracy = float64(s.correct) / n
		if s.k > 0 {
			m.K, m.TopK = s.k, float64(s.topk)/float64(s.n)
		}
		if s.perTotal != nil {
			m.PerClass = make([]float64, len(s.perTotal))
			for c, tot := range s.perTotal {
				m.PerClass[c] = float64(s.perRight[c]) / float64(tot) // NaN for 0/0
			}
			m.Confusion = s.confusion
		}
	case Regression:
		vals := n * float64(len(s.ss))
		m.MSE, m.MAE = s.sqErr/vals, s.absErr/vals
		r2 := 0.0
		for c := range s.ss {
			tot := s.sumT2[c] - s.sumT[c]*s.sumT[c]/n
			r2 += 1 - s.ss[c]/tot
		}
		m.R2 = r2 / float64(len(s.ss))
	}
}

type evalProg struct {
	p       *graph.Program
	targets []*gorgonia.Node
	loss    *gorgonia.Node
	vm      *tape.Machine
	xs, ts  []*tensor.Dense
	out     gorgonia.Value // a copy of the first output's node as its loss takes it
	logits  bool           // out holds logits
}

func (tr *Trainer) evalProg(batch int) (*evalProg, error) {
	if ep, ok := tr.evals[batch]; ok {
		return ep, nil
	}
	p, err := tr.m.BuildWith(batch, graph.BuildOptions{Logits: true, Fuse: true})
	if err != nil {
		return nil, err
	}
	lg, err := tr.addLosses(p)
	if err != nil {
		return nil, err
	}
	meaning := lg.means[0]
	logits := meaning == graph.Logits || meaning == graph.BinaryLogits || meaning == graph.Values
	ep := &evalProg{p: p, targets: lg.targets, loss: lg.total, logits: logits}
	// Read copies the value before any in-place operation of the loss
	// reuses its memory.
	z := lg.ins[0]
	ep.out = tensor.New(tensor.WithShape(z.Shape()...), tensor.Of(tensor.Float32))
	gorgonia.Read(z, &ep.out)
	for _, in := range p.Inputs {
		ep.xs = append(ep.xs, tensor.New(tensor.WithShape(in.Shape()...), tensor.Of(in.Dtype())))
	}
	for _, t := range lg.targets {
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
	task := tr.Task()
	shape := tr.m.OutputShape(0)
	cols := 1
	for _, d := range shape {
		cols *= d
	}
	if task == Classification && len(shape) > 0 {
		cols = shape[len(shape)-1] // one sample per position along the other axes
	}
	sc := newScorer(task, false, tr.topK, cols)
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
		out, err := graph.Contiguous(ep.out.(*tensor.Dense))
		if err != nil {
			return Metrics{}, fmt.Errorf("evaluate: %w", err)
		}
		sc.logits = ep.logits
		if err := sc.add(out.Data().([]float32), ep.ts[0].Data().([]float32), cols); err != nil {
			return Metrics{}, fmt.Errorf("evaluate: %w", err)
		}
	}
	m := Metrics{Loss: loss / float64(n), Samples: n}
	sc.metrics(&m)
	return m, nil
}

// Task returns the task of the model's first output, Config.Task or from
// its meaning and its loss (TaskOf): the metrics Evaluate reports.
func (tr *Trainer) Task() Task {
	if tr.task != "" {
		return tr.task
	}
	return TaskOf(tr.m.OutputMeaning(0), tr.losses[0])
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
