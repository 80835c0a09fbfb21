package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/internal/tape"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ErrDiverged is wrapped by training errors raised when the loss becomes
// NaN or infinite.
var ErrDiverged = errors.New("loss is not finite")

// Config configures a Trainer. Zero fields take the defaults shown.
type Config struct {
	// Optimizer steps the parameters: a built-in (OptimizerByName, or a
	// value such as &train.Adam{Beta2: 0.99}) or one of your own (default:
	// Adam with PyTorch's defaults).
	Optimizer Optimizer
	// LearningRate is the base rate, which Schedule scales (default: the
	// optimiser's DefaultLearningRate when it has that method, as the
	// built-ins do; an optimiser without it needs a rate).
	LearningRate float64
	// NoDecay, if not nil, reports the parameters (by name, such as
	// "fc1.bias") that weight decay must leave alone; see
	// BiasAndNormParams.
	NoDecay func(param string) bool
	// ClipNorm, if positive, clips the gradients before each step so that
	// their global L2 norm (over every parameter) is at most ClipNorm:
	// each is multiplied by ClipNorm/(norm + 1e-6) when the norm exceeds
	// ClipNorm (PyTorch's clip_grad_norm_).
	ClipNorm float64
	// Schedule gives the learning rate of each step from LearningRate
	// (default Constant).
	Schedule Schedule
	// Losses holds the loss of each model output; a missing or nil entry
	// takes the default of the output's meaning (DefaultLoss with classes
	// false: a Values output takes MeanSquaredError). Each is checked
	// against its output (Loss.Input).
	Losses []Loss
	// LossWeights holds a weight per model output: training minimises
	// Σ weight·loss (default: every weight 1).
	LossWeights []float64
	// Task, if set, is the task of the first output, which decides the
	// metrics Evaluate reports (default TaskOf its meaning and loss): set
	// Classification to score a plain-values output trained by MSE on
	// one-hot rows as a classifier.
	Task Task
	// TopK is the K of Metrics.TopK (default 5).
	TopK int
	// Seed seeds the shuffling of each epoch and the masks of the model's
	// dropout layers, from two streams: the same seed gives the same run.
	Seed uint64
}

// Trainer fits a model's parameters with Gorgonia: the model's forward
// graph plus the loss of each output (see Config.Losses), summed with
// their weights, gorgonia.Grad for the gradients, the tape machine, and an
// Optimizer stepping at the rate of a Schedule. One graph is compiled per
// batch size (a final partial batch gets its own). Not safe for concurrent
// use.
type Trainer struct {
	m        *graph.Model
	outputs  []string // the model's output names
	losses   []Loss
	logits   []bool    // the loss of each output takes the logits of a final Normalizer
	weights  []float64 // nil: all 1
	classes  []int     // classes of a SparseCrossEntropy output, else 0
	opt      Optimizer
	clears   bool // opt zeroes the gradients itself
	base     float64
	rate     float64 // the rate of the last step
	schedule Schedule
	noDecay  func(string) bool
	clipNorm float64
	topK     int
	task     Task

	shuffleSrc, dropoutSrc *rand.PCG
	shuffle, dropout       *rand.Rand

	progs  map[int]*trainProg
	evals  map[int]*evalProg
	steps  int
	epochs int
}

type trainProg struct {
	p       *graph.Program
	targets []*gorgonia.Node
	loss    *gorgonia.Node
	vm      *tape.Machine
	xs, ts  []*tensor.Dense // batch buffers
	params  []Param
}

// NewTrainer returns a Trainer for m.
func NewTrainer(m *graph.Model, cfg Config) (*Trainer, error) {
	opt, lr, err := cfg.optimizer()
	if err != nil {
		return nil, err
	}
	if !(lr > 0) || math.IsInf(lr, 0) {
		return nil, fmt.Errorf("learning rate %v is not positive", lr)
	}
	if !(cfg.ClipNorm >= 0) || math.IsInf(cfg.ClipNorm, 0) {
		return nil, fmt.Errorf("clip norm %v is not a positive number (or 0 for none)", cfg.ClipNorm)
	}
	outputs := m.Outputs()
	if len(cfg.Losses) > len(outputs) {
		return nil, fmt.Errorf("%d losses for %d model outputs", len(cfg.Losses), len(outputs))
	}
	if cfg.LossWeights != nil && len(cfg.LossWeights) != len(outputs) {
		return nil, fmt.Errorf("%d loss weights for %d model outputs", len(cfg.LossWeights), len(outputs))
	}
	for i, w := range cfg.LossWeights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("loss weight %v of output %s is not a non-negative number", w, outputs[i])
		}
	}
	losses := make([]Loss, len(outputs))
	logits := make([]bool, len(outputs))
	classes := make([]int, len(outputs))
	for i := range losses {
		meaning := m.OutputMeaning(i)
		losses[i] = DefaultLoss(meaning, false)
		if i < len(cfg.Losses) && cfg.Losses[i] != nil {
			losses[i] = cfg.Losses[i]
		}
		shape := m.OutputShape(i)
		if logits[i], err = losses[i].Input(meaning, shape); err != nil {
			return nil, fmt.Errorf("output %s (%s, shape %v): loss %s: %w", outputs[i], meaning, shape, losses[i], err)
		}
		if isSparse(losses[i]) {
			if classes[i], err = sparseClasses(losses[i], shape); err != nil {
				return nil, fmt.Errorf("output %s: %w", outputs[i], err)
			}
		}
	}
	topK := cfg.TopK
	if topK == 0 {
		topK = 5
	}
	if topK < 0 {
		return nil, fmt.Errorf("top-k %d is negative", topK)
	}
	schedule := cfg.Schedule
	if schedule == nil {
		schedule = Constant{}
	}
	_, clears := opt.(clearsGradients)
	shuffleSrc := rand.NewPCG(cfg.Seed, 0x5eed)
	dropoutSrc := rand.NewPCG(cfg.Seed, 0xd209_0075)
	return &Trainer{
		m: m, outputs: outputs, losses: losses, logits: logits, weights: slices.Clone(cfg.LossWeights), classes: classes,
		opt: opt, clears: clears, base: lr, rate: lr, schedule: schedule,
		noDecay: cfg.NoDecay, clipNorm: cfg.ClipNorm, topK: topK, task: cfg.Task,
		shuffleSrc: shuffleSrc, shuffle: rand.New(shuffleSrc),
		dropoutSrc: dropoutSrc, dropout: rand.New(dropoutSrc),
		progs: map[int]*trainProg{}, evals: map[int]*evalProg{},
	}, nil
}

// optimizer returns the optimiser cfg asks for and its base rate.
func (cfg Config) optimizer() (Optimizer, float64, error) {
	opt := cfg.Optimizer
	if opt == nil {
		opt = &Adam{}
	}
	lr := cfg.LearningRate
	if lr == 0 {
		d, ok := opt.(interface{ DefaultLearningRate() float64 })
		if !ok {
			return nil, 0, fmt.Errorf("optimizer %T has no default learning rate: set Config.LearningRate", opt)
		}
		lr = d.DefaultLearningRate()
	}
	return opt, lr, nil
}

// BiasAndNormParams returns a Config.NoDecay that excludes from weight
// decay every bias ("<layer>.bias") and every parameter of a batch
// normalisation layer, the usual exclusions.
func BiasAndNormParams(m *graph.Model) func(param string) bool {
	skip := map[string]bool{}
	for _, nl := range m.Layers() {
		_, norm := nl.Layer.(*graph.BatchNorm)
		for _, p := range m.LayerParams(nl.Name) {
			if norm || p == nl.Name+".bias" {
				skip[p] = true
			}
		}
	}
	return func(param string) bool { return skip[param] }
}

// SetLearningRate changes the base rate, which the schedule scales, from
// the next step on, keeping the optimizer's state (Adam's moments, the
// momentum buffers).
func (tr *Trainer) SetLearningRate(lr float64) error {
	if !(lr > 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("learning rate %v is not positive", lr)
	}
	tr.base = lr
	return nil
}

// LearningRate returns the rate of the last step (before any step, the
// rate the first step will take).
func (tr *Trainer) LearningRate() float64 {
	if tr.steps == 0 {
		return tr.schedule.Rate(tr.base, 0)
	}
	return tr.rate
}

// Steps returns the number of optimisation steps taken, and Epochs the
// number of completed epochs (EpochInputs calls), both counted across a
// resumed run.
func (tr *Trainer) Steps() int { return tr.steps }

// Epochs returns the number of epochs completed.
func (tr *Trainer) Epochs() int { return tr.epochs }

// Optimizer returns the optimiser stepping the parameters.
func (tr *Trainer) Optimizer() Optimizer { return tr.opt }

// Loss returns the loss being minimised on the first output.
func (tr *Trainer) Loss() Loss { return tr.losses[0] }

// Losses returns the loss of each output; training minimises their
// weighted sum.
func (tr *Trainer) Losses() []Loss { return slices.Clone(tr.losses) }

// lossGraph is what addLosses adds to a program.
type lossGraph struct {
	targets []*gorgonia.Node // a target node per output
	total   *gorgonia.Node   // the weighted sum of the losses
	ins     []*gorgonia.Node // the node each loss takes (logits or output)
	means   []graph.Meaning  // and its meaning
}

// addLosses adds a target node and the loss of each output of p, and their
// weighted sum.
func (tr *Trainer) addLosses(p *graph.Program) (*lossGraph, error) {
	lg := &lossGraph{}
	var total *gorgonia.Node
	for i, z := range p.Outputs {
		l := tr.losses[i]
		meaning := tr.m.OutputMeaning(i)
		if p.Cut[i] {
			if tr.logits[i] {
				meaning = graph.LogitsMeaning(meaning)
			} else {
				// The loss wants the output itself: apply the
				// normalisation left out (it uses no scope).
				y, err := tr.m.OutputLayer(i).Forward(nil, z)
				if err != nil {
					return nil, fmt.Errorf("output %s: %w", tr.outputs[i], err)
				}
				z = y
			}
		}
		name := "target"
		if len(p.Outputs) > 1 {
			name = "target." + tr.outputs[i]
		}
		target := gorgonia.NewTensor(p.Graph, tensor.Float32, z.Dims(), gorgonia.WithShape(z.Shape()...), gorgonia.WithName(name))
		loss, err := l.Build(z, target, meaning)
		if err != nil {
			return nil, fmt.Errorf("output %s: loss %s: %w", tr.outputs[i], l, err)
		}
		if loss == nil || !loss.IsScalar() {
			return nil, fmt.Errorf("output %s: loss %s is not a scalar node", tr.outputs[i], l)
		}
		if tr.weights != nil {
			w := gorgonia.NewConstant(float32(tr.weights[i]))
			if loss, err = gorgonia.Mul(w, loss); err != nil {
				return nil, fmt.Errorf("output %s: weighted loss: %w", tr.outputs[i], err)
			}
		}
		if total == nil {
			total = loss
		} else if total, err = gorgonia.Add(total, loss); err != nil {
			return nil, fmt.Errorf("sum of losses: %w", err)
		}
		lg.targets = append(lg.targets, target)
		lg.ins, lg.means = append(lg.ins, z), append(lg.means, meaning)
	}
	gorgonia.WithName("loss")(total)
	lg.total = total
	return lg, nil
}

func (tr *Trainer) prog(batch int) (*trainProg, error) {
	if tp, ok := tr.progs[batch]; ok {
		return tp, nil
	}
	p, err := tr.m.BuildWith(batch, graph.BuildOptions{Training: true, Logits: true, Rand: tr.dropout})
	if err != nil {
		return nil, err
	}
	lg, err := tr.addLosses(p)
	if err != nil {
		return nil, err
	}
	tp := &trainProg{p: p, targets: lg.targets, loss: lg.total}
	for _, t := range lg.targets {
		tp.ts = append(tp.ts, tensor.New(tensor.WithShape(t.Shape()...), tensor.Of(tensor.Float32)))
	}
	if len(p.Learnables) == 0 {
		return nil, fmt.Errorf("model has no parameters to train")
	}
	if _, err := gorgonia.Grad(tp.loss, p.Learnables...); err != nil {
		return nil, fmt.Errorf("gradient: %w", err)
	}
	for _, in := range p.Inputs {
		tp.xs = append(tp.xs, tensor.New(tensor.WithShape(in.Shape()...), tensor.Of(in.Dtype())))
	}
	for _, n := range p.Learnables {
		name := n.Name()
		tp.params = append(tp.params, Param{Name: name, Decay: tr.noDecay == nil || !tr.noDecay(name)})
	}
	tp.vm = tape.New(p.Graph, gorgonia.BindDualValues(p.Learnables...))
	tr.progs[batch] = tp
	return tp, nil
}

// Step runs one optimisation step on a batch of a model with one input and
// one output: inputs x (batch, sample shape...) and targets t (batch,
// outputs), one-hot for classification (or (batch,) class labels for
// SparseCrossEntropy). It returns the batch's loss before the update.
func (tr *Trainer) Step(x, t *tensor.Dense) (float32, error) {
	return tr.StepInputs([]*tensor.Dense{x}, []*tensor.Dense{t})
}

// StepInputs is Step for any model: one input tensor per model input, one
// target tensor per output, all with the same batch size.
func (tr *Trainer) StepInputs(xs, ts []*tensor.Dense) (float32, error) {
	batch, err := tr.m.CheckInputs(xs)
	if err != nil {
		return 0, fmt.Errorf("step: %w", err)
	}
	tp, err := tr.prog(batch)
	if err != nil {
		return 0, err
	}
	if len(ts) != len(tr.outputs) {
		return 0, fmt.Errorf("step: %d target tensors, model has %d outputs", len(ts), len(tr.outputs))
	}
	targets := make([]*tensor.Dense, len(ts))
	for i, t := range ts {
		if c := tr.classes[i]; c > 0 {
			// Labels: expanded into the graph's one-hot rows.
			src, err := tr.targetSource(i, t, batch)
			if err != nil {
				return 0, fmt.Errorf("step: %w", err)
			}
			if err := src.fill(tp.ts[i], allSamples(batch)); err != nil {
				return 0, fmt.Errorf("step: %w", err)
			}
			targets[i] = tp.ts[i]
			continue
		}
		if t == nil || !t.Shape().Eq(tp.targets[i].Shape()) {
			return 0, fmt.Errorf("step: targets of output %s: shape %v, model wants %v", tr.outputs[i], shapeOf(t), tp.targets[i].Shape())
		}
		if targets[i], err = graph.Contiguous(t); err != nil {
			return 0, fmt.Errorf("step: targets of output %s: %w", tr.outputs[i], err)
		}
	}
	packed := make([]*tensor.Dense, len(xs))
	for i, x := range xs {
		if packed[i], err = graph.Contiguous(x); err != nil {
			return 0, fmt.Errorf("step: %w", err)
		}
	}
	return tr.run(tp, packed, targets)
}

func shapeOf(t *tensor.Dense) tensor.Shape {
	if t == nil {
		return nil
	}
	return t.Shape()
}

func (tr *Trainer) run(tp *trainProg, xs, ts []*tensor.Dense) (float32, error) {
	loss, err := tr.compute(tp, xs, ts)
	if err != nil {
		return 0, err
	}
	tr.steps++
	params, err := tp.bind()
	if err != nil {
		return 0, err
	}
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		clearGrads(params)
		return loss, fmt.Errorf("step %d: %w (%v); try a lower learning rate", tr.steps, ErrDiverged, loss)
	}
	if tr.clipNorm > 0 {
		ClipGlobalNorm(params, tr.clipNorm)
	}
	rate := tr.schedule.Rate(tr.base, tr.steps-1)
	if !(rate >= 0) || math.IsInf(rate, 0) {
		clearGrads(params)
		return 0, fmt.Errorf("step %d: the schedule gives learning rate %v", tr.steps, rate)
	}
	tr.rate = rate
	if err := tr.opt.Step(params, rate); err != nil {
		clearGrads(params)
		return 0, fmt.Errorf("step %d: %w", tr.steps, err)
	}
	if !tr.clears {
		clearGrads(params)
	}
	return loss, nil
}

// bind points the step's parameters at the current values and gradients.
func (tp *trainProg) bind() ([]Param, error) {
	for i, n := range tp.p.Learnables {
		w, ok := n.Value().Data().([]float32)
		if !ok {
			return nil, fmt.Errorf("parameter %s is not float32", n.Name())
		}
		gv, err := n.Grad()
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", n.Name(), err)
		}
		g, ok := gv.Data().([]float32)
		if !ok || len(g) != len(w) {
			return nil, fmt.Errorf("parameter %s: gradient is not %d float32 values", n.Name(), len(w))
		}
		tp.params[i].Value, tp.params[i].Grad = w, g
	}
	return tp.params, nil
}

func clearGrads(params []Param) {
	for _, p := range params {
		clear(p.Grad)
	}
}

// ClipGlobalNorm scales the gradients of params so that their global L2
// norm, √(Σ g²) over every value of every parameter, is at most maxNorm,
// as PyTorch's clip_grad_norm_ does: when the norm exceeds maxNorm, each
// gradient is multiplied by maxNorm/(norm + 1e-6). It returns the norm
// before clipping (summed in float64).
func ClipGlobalNorm(params []Param, maxNorm float64) float64 {
	var sum float64
	for _, p := range params {
		for _, g := range p.Grad {
			sum += float64(g) * float64(g)
		}
	}
	norm := math.Sqrt(sum)
	if coef := maxNorm / (norm + 1e-6); coef < 1 {
		c := float32(coef)
		for _, p := range params {
			for j := range p.Grad {
				p.Grad[j] *= c
			}
		}
	}
	return norm
}

// compute runs the forward and backward passes: it returns the loss and
// leaves the gradients in the learnable nodes.
func (tr *Trainer) compute(tp *trainProg, xs, ts []*tensor.Dense) (float32, error) {
	tp.vm.Reset()
	for i, x := range xs {
		if err := gorgonia.Let(tp.p.Inputs[i], x); err != nil {
			return 0, fmt.Errorf("bind input: %w", err)
		}
	}
	for i, t := range ts {
		if err := gorgonia.Let(tp.targets[i], t); err != nil {
			return 0, fmt.Errorf("bind target: %w", err)
		}
	}
	if err := tp.vm.Run(); err != nil {
		return 0, fmt.Errorf("run: %w", err)
	}
	loss, ok := tp.loss.Value().Data().(float32)
	if !ok {
		return 0, fmt.Errorf("loss is %T, not float32", tp.loss.Value().Data())
	}
	return loss, nil
}

// EpochStats summarises one pass over the training data.
type EpochStats struct {
	// Loss is the mean loss over the epoch's samples.
	Loss float64
	// Steps is the number of optimisation steps taken.
	Steps int
}

// Epoch makes one pass over x (N, sample shape...) and t (N, outputs), for
// a model of one input and one output: see EpochInputs.
func (tr *Trainer) Epoch(x, t *tensor.Dense, batch int, progress func(done int)) (EpochStats, error) {
	return tr.EpochInputs([]*tensor.Dense{x}, []*tensor.Dense{t}, batch, progress)
}

// EpochInputs makes one pass over the samples of xs (one tensor of N
// samples per model input, of the input's element type: float32, or the
// int64, int32, bool or float64 of an input declared with
// graph.Tensor.As) and ts (one tensor of N targets per output:
// (N, outputs...) rows, or (N,) class labels for SparseCrossEntropy) in a
// random order drawn from the Trainer's seeded generator, in batches of
// batch samples plus a final partial batch. Strided views are packed first.
// progress, if not nil, is called after each step with the samples done so
// far.
func (tr *Trainer) EpochInputs(xs, ts []*tensor.Dense, batch int, progress func(done int)) (EpochStats, error) {
	var after func(int) error
	if progress != nil {
		after = func(done int) error { progress(done); return nil }
	}
	return tr.epoch(xs, ts, batch, after)
}

// epoch is EpochInputs whose progress function may end the epoch with an
// error after any step.
func (tr *Trainer) epoch(xs, ts []*tensor.Dense, batch int, progress func(done int) error) (EpochStats, error) {
	if batch < 1 {
		return EpochStats{}, fmt.Errorf("trainer: batch size %d is not positive", batch)
	}
	n, err := tr.m.CheckInputs(xs)
	if err != nil {
		return EpochStats{}, fmt.Errorf("trainer: %w", err)
	}
	perm := tr.shuffle.Perm(n)
	var batches [][]int
	for from := 0; from < n; from += batch {
		batches = append(batches, perm[from:min(from+batch, n)])
	}
	return tr.pass(xs, ts, n, batches, progress)
}

// pass takes one step per batch of sample indices into xs and ts, of n
// samples, and counts an epoch.
func (tr *Trainer) pass(xs, ts []*tensor.Dense, n int, batches [][]int, progress func(done int) error) (EpochStats, error) {
	srcX, err := tr.inputSources(xs)
	if err != nil {
		return EpochStats{}, fmt.Errorf("trainer: %w", err)
	}
	srcT, err := tr.targetSources(ts, n)
	if err != nil {
		return EpochStats{}, fmt.Errorf("trainer: %w", err)
	}
	var st EpochStats
	var total float64
	done := 0
	for _, idx := range batches {
		if len(idx) == 0 {
			return st, fmt.Errorf("trainer: an empty batch")
		}
		for _, j := range idx {
			if j < 0 || j >= n {
				return st, fmt.Errorf("trainer: sample %d of a batch is outside the %d samples", j, n)
			}
		}
		tp, err := tr.prog(len(idx))
		if err != nil {
			return st, err
		}
		if err := fillAll(tp.xs, srcX, idx); err != nil {
			return st, fmt.Errorf("trainer: %w", err)
		}
		if err := fillAll(tp.ts, srcT, idx); err != nil {
			return st, fmt.Errorf("trainer: %w", err)
		}
		loss, err := tr.run(tp, tp.xs, tp.ts)
		if err != nil {
			return st, err
		}
		total += float64(loss) * float64(len(idx))
		done += len(idx)
		st.Steps++
		if progress != nil {
			if err := progress(done); err != nil {
				return st, err
			}
		}
	}
	if done == 0 {
		return st, fmt.Errorf("trainer: an epoch of no batches")
	}
	st.Loss = total / float64(done)
	tr.epochs++
	return st, nil
}

// source gives the rows of one input or target tensor: values of the
// input's element type (per values a sample) or class labels expanded to
// one-hot rows.
type source struct {
	what    string
	data    any // []float32, []float64, []int64, []int32 or []bool
	per     int
	labels  []int // steps per sample, -1 where ignored
	classes int
	steps   int
}

// fill writes the rows idx into dst, which holds len(idx) rows of the
// source's element type.
func (s source) fill(dst *tensor.Dense, idx []int) error {
	if s.labels != nil {
		if err := fillOneHot(dst.Data().([]float32), s.labels, idx, s.classes, s.steps); err != nil { // targets are float32
			return fmt.Errorf("%s: %w", s.what, err)
		}
		return nil
	}
	switch src := s.data.(type) {
	case []float32:
		return fillRows(s, dst, src, idx)
	case []float64:
		return fillRows(s, dst, src, idx)
	case []int64:
		return fillRows(s, dst, src, idx)
	case []int32:
		return fillRows(s, dst, src, idx)
	case []bool:
		return fillRows(s, dst, src, idx)
	}
	return fmt.Errorf("%s: values of type %T cannot be fed", s.what, s.data)
}

// fillRows copies the rows idx of src into dst, which must hold values of
// src's type.
func fillRows[T any](s source, dst *tensor.Dense, src []T, idx []int) error {
	d, ok := dst.Data().([]T)
	if !ok {
		return fmt.Errorf("%s is %T, the model wants %v", s.what, src, dst.Dtype())
	}
	if len(d) != len(idx)*s.per {
		return fmt.Errorf("%s of %d values per sample do not fit the model's %d", s.what, s.per, len(d)/max(len(idx), 1))
	}
	for i, j := range idx {
		copy(d[i*s.per:(i+1)*s.per], src[j*s.per:(j+1)*s.per])
	}
	return nil
}

func fillAll(dst []*tensor.Dense, src []source, idx []int) error {
	for k, s := range src {
		if err := s.fill(dst[k], idx); err != nil {
			return err
		}
	}
	return nil
}

// inputSources returns the rows of each input tensor, of any element type
// a model input may have (CheckInputs has checked that it is the input's).
func (tr *Trainer) inputSources(xs []*tensor.Dense) ([]source, error) {
	var src []source
	for i, x := range xs {
		name := tr.m.Inputs()[i].Name
		c, err := graph.Contiguous(x)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", name, err)
		}
		n, size := c.Shape()[0], c.Shape().TotalSize()
		if c.Dims() < 1 || n == 0 || c.DataSize() != size {
			return nil, fmt.Errorf("input %s: %d values for shape %v", name, c.DataSize(), c.Shape())
		}
		src = append(src, source{what: "input " + name, data: c.Data(), per: size / n})
	}
	return src, nil
}

// targetSources checks one target tensor of n samples per output.
func (tr *Trainer) targetSources(ts []*tensor.Dense, n int) ([]source, error) {
	if len(ts) != len(tr.outputs) {
		return nil, fmt.Errorf("%d target tensors, model has %d outputs", len(ts), len(tr.outputs))
	}
	src := make([]source, len(ts))
	for i, t := range ts {
		var err error
		if src[i], err = tr.targetSource(i, t, n); err != nil {
			return nil, err
		}
	}
	return src, nil
}

// targetSource checks the targets t of n samples for output i.
func (tr *Trainer) targetSource(i int, t *tensor.Dense, n int) (source, error) {
	what := "targets of output " + tr.outputs[i]
	if t == nil || t.Dims() < 1 || t.Shape()[0] != n {
		return source{}, fmt.Errorf("%d samples but %s have shape %v", n, what, shapeOf(t))
	}
	if c := tr.classes[i]; c > 0 {
		labels, err := sparseLabels(tr.losses[i], t, n, tr.m.OutputShape(i))
		if err != nil {
			return source{}, fmt.Errorf("%s: %w", what, err)
		}
		return source{what: what, labels: labels, classes: c, steps: len(labels) / n}, nil
	}
	if want := append([]int{n}, tr.m.OutputShape(i)...); !slices.Equal([]int(t.Shape()), want) {
		return source{}, fmt.Errorf("%s have shape %v, model wants %v", what, t.Shape(), want)
	}
	d, per, err := graph.Rows(t)
	if err != nil {
		return source{}, fmt.Errorf("%s: %w", what, err)
	}
	return source{what: what, data: d, per: per}, nil
}

// Labels returns the class labels held by t, a tensor of shape (N,) of
// ints (tensor.Int, Int64 or Int32) or of float32 whole numbers, each
// checked to be in [0, classes).
func Labels(t *tensor.Dense, classes int) ([]int, error) {
	if t == nil || t.Dims() != 1 {
		return nil, fmt.Errorf("labels have shape %v, want (N,)", shapeOf(t))
	}
	c, err := graph.Contiguous(t)
	if err != nil {
		return nil, err
	}
	n := c.Shape()[0]
	out := make([]int, n)
	switch d := c.Data().(type) {
	case []int:
		copy(out, d[:n])
	case []int64:
		for i := range out {
			out[i] = int(d[i])
		}
	case []int32:
		for i := range out {
			out[i] = int(d[i])
		}
	case []float32:
		for i := range out {
			out[i] = int(d[i])
			if float32(out[i]) != d[i] {
				return nil, fmt.Errorf("label %d is %v, not a whole number", i, d[i])
			}
		}
	default:
		return nil, fmt.Errorf("labels are %v, want ints or float32", c.Dtype())
	}
	for i, l := range out {
		if l < 0 || l >= classes {
			return nil, fmt.Errorf("label %d is %d, not in [0, %d)", i, l, classes)
		}
	}
	return out, nil
}
