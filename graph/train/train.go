package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/tapenet/tapenet/graph"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ErrDiverged is wrapped by training errors raised when the loss becomes
// NaN or infinite.
var ErrDiverged = errors.New("loss is not finite")

// DefaultLearningRate returns the learning rate an optimizer ("sgd",
// "momentum" or "adam") uses when none is given, and whether the optimizer
// is known.
func DefaultLearningRate(optimizer string) (float64, bool) {
	switch optimizer {
	case "sgd":
		return 0.1, true
	case "momentum":
		return 0.01, true
	case "adam":
		return 0.001, true
	}
	return 0, false
}

// Config configures a Trainer. Zero fields take the defaults shown.
type Config struct {
	// Optimizer is "sgd", "momentum" or "adam" (default "adam").
	Optimizer string
	// LearningRate defaults to DefaultLearningRate(Optimizer).
	LearningRate float64
	// Momentum is the momentum factor of "momentum" (default 0.9).
	Momentum float64
	// Seed seeds the shuffling of each epoch.
	Seed uint64
}

// Trainer fits a model's parameters with Gorgonia: the model's forward
// graph plus, for each output, the loss LossFor chooses (summed over the
// outputs), gorgonia.Grad for the gradients, the tape machine, and SGD,
// Momentum or Adam with the update rules of Gorgonia's solvers (fused; see
// optimizer). One graph is compiled per batch size (a final partial batch
// gets its own). Not safe for concurrent use.
type Trainer struct {
	m       *graph.Model
	lr      float64
	losses  []Loss
	outputs []string // the model's output names
	solver  *optimizer
	rng     *rand.Rand
	progs   map[int]*trainProg
	steps   int
}

type trainProg struct {
	p       *graph.Program
	targets []*gorgonia.Node
	loss    *gorgonia.Node
	vm      gorgonia.VM
	xs, ts  []*tensor.Dense // batch buffers for Epoch
}

// NewTrainer returns a Trainer for m.
func NewTrainer(m *graph.Model, cfg Config) (*Trainer, error) {
	if cfg.Optimizer == "" {
		cfg.Optimizer = "adam"
	}
	lr, ok := DefaultLearningRate(cfg.Optimizer)
	if !ok {
		return nil, fmt.Errorf("unknown optimizer %q (want sgd, momentum or adam)", cfg.Optimizer)
	}
	if cfg.LearningRate != 0 {
		lr = cfg.LearningRate
	}
	if !(lr > 0) || math.IsInf(lr, 0) {
		return nil, fmt.Errorf("learning rate %v is not positive", lr)
	}
	solver := newOptimizer(cfg.Optimizer, lr, cfg.Momentum)
	losses := make([]Loss, len(m.Outputs()))
	for i := range losses {
		losses[i], _ = LossFor(m, i)
	}
	return &Trainer{
		m: m, lr: lr, losses: losses, outputs: m.Outputs(), solver: solver,
		rng:   rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		progs: map[int]*trainProg{},
	}, nil
}

// SetLearningRate changes the learning rate from the next step on, keeping
// the optimizer's state (Adam's moments, momentum's velocity): the hook for
// learning-rate schedules.
func (tr *Trainer) SetLearningRate(lr float64) error {
	if !(lr > 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("learning rate %v is not positive", lr)
	}
	tr.solver.lr = lr
	tr.lr = lr
	return nil
}

// LearningRate returns the current learning rate.
func (tr *Trainer) LearningRate() float64 { return tr.lr }

// CosineRate returns the learning rate of a cosine schedule (Loshchilov &
// Hutter 2017) for epoch (1-based) of epochs: base at epoch 1, decaying as
// ½·base·(1 + cos(π·(epoch-1)/epochs)), so the last epoch runs at a small
// fraction of base.
func CosineRate(base float64, epoch, epochs int) float64 {
	return 0.5 * base * (1 + math.Cos(math.Pi*float64(epoch-1)/float64(max(epochs, 1))))
}

// Loss returns the loss being minimised on the first output.
func (tr *Trainer) Loss() Loss { return tr.losses[0] }

// Losses returns the loss of each output; training minimises their sum.
func (tr *Trainer) Losses() []Loss { return slices.Clone(tr.losses) }

func (tr *Trainer) prog(batch int) (*trainProg, error) {
	if tp, ok := tr.progs[batch]; ok {
		return tp, nil
	}
	p, err := tr.m.BuildWith(batch, graph.BuildOptions{Training: true, Logits: true})
	if err != nil {
		return nil, err
	}
	tp := &trainProg{p: p}
	for i, z := range p.Outputs {
		l := tr.losses[i]
		_, fused := LossFor(tr.m, i)
		if fused != p.Cut[i] {
			return nil, fmt.Errorf("output %s: loss %s needs its final activation left out of the graph, and it cannot be", tr.outputs[i], l)
		}
		name := "target"
		if len(p.Outputs) > 1 {
			name = "target." + tr.outputs[i]
		}
		target := gorgonia.NewTensor(p.Graph, tensor.Float32, z.Dims(), gorgonia.WithShape(z.Shape()...), gorgonia.WithName(name))
		loss, err := l.build(z, target)
		if err != nil {
			return nil, fmt.Errorf("output %s: loss %s: %w", tr.outputs[i], l, err)
		}
		if tp.loss == nil {
			tp.loss = loss
		} else if tp.loss, err = gorgonia.Add(tp.loss, loss); err != nil {
			return nil, fmt.Errorf("sum of losses: %w", err)
		}
		tp.targets = append(tp.targets, target)
		tp.ts = append(tp.ts, tensor.New(tensor.WithShape(target.Shape()...), tensor.Of(tensor.Float32)))
	}
	gorgonia.WithName("loss")(tp.loss)
	if len(p.Learnables) == 0 {
		return nil, fmt.Errorf("model has no parameters to train")
	}
	if _, err := gorgonia.Grad(tp.loss, p.Learnables...); err != nil {
		return nil, fmt.Errorf("gradient: %w", err)
	}
	for _, in := range p.Inputs {
		tp.xs = append(tp.xs, tensor.New(tensor.WithShape(in.Shape()...), tensor.Of(tensor.Float32)))
	}
	tp.vm = gorgonia.NewTapeMachine(p.Graph, gorgonia.BindDualValues(p.Learnables...))
	tr.progs[batch] = tp
	return tp, nil
}

// Step runs one optimisation step on a batch of a model with one input and
// one output: inputs x (batch, sample shape...) and targets t (batch,
// outputs), one-hot for classification. It returns the batch's loss before
// the update.
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
	if len(ts) != len(tp.targets) {
		return 0, fmt.Errorf("step: %d target tensors, model has %d outputs", len(ts), len(tp.targets))
	}
	for i, t := range ts {
		if t == nil || !t.Shape().Eq(tp.targets[i].Shape()) {
			return 0, fmt.Errorf("step: targets of output %s: shape %v, model wants %v", tr.outputs[i], shapeOf(t), tp.targets[i].Shape())
		}
	}
	packed := func(in []*tensor.Dense) ([]*tensor.Dense, error) {
		out := make([]*tensor.Dense, len(in))
		for i, x := range in {
			if out[i], err = graph.Contiguous(x); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	if xs, err = packed(xs); err != nil {
		return 0, fmt.Errorf("step: %w", err)
	}
	if ts, err = packed(ts); err != nil {
		return 0, fmt.Errorf("step: %w", err)
	}
	return tr.run(tp, xs, ts)
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
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		return loss, fmt.Errorf("step %d: %w (%v); try a lower learning rate", tr.steps, ErrDiverged, loss)
	}
	if err := tr.solver.Step(gorgonia.NodesToValueGrads(tp.p.Learnables)); err != nil {
		return 0, fmt.Errorf("solver: %w", err)
	}
	return loss, nil
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
	if err := tp.vm.RunAll(); err != nil {
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
// samples per model input) and ts (one tensor of N targets per output) in a
// random order drawn from the Trainer's seeded generator, in batches of
// batch samples plus a final partial batch. Strided views are packed first.
// progress, if not nil, is called after each step with the samples done so
// far.
func (tr *Trainer) EpochInputs(xs, ts []*tensor.Dense, batch int, progress func(done int)) (EpochStats, error) {
	if batch < 1 {
		return EpochStats{}, fmt.Errorf("trainer: batch size %d is not positive", batch)
	}
	n, err := tr.m.CheckInputs(xs)
	if err != nil {
		return EpochStats{}, fmt.Errorf("trainer: %w", err)
	}
	if len(ts) != len(tr.outputs) {
		return EpochStats{}, fmt.Errorf("trainer: %d target tensors, model has %d outputs", len(ts), len(tr.outputs))
	}
	type source struct {
		data []float32
		per  int
	}
	var srcX, srcT []source
	for i, x := range xs {
		d, per, err := graph.Rows(x)
		if err != nil {
			return EpochStats{}, fmt.Errorf("trainer: input %s: %w", tr.m.Inputs()[i].Name, err)
		}
		srcX = append(srcX, source{d, per})
	}
	for i, t := range ts {
		if t == nil || t.Dims() < 1 || t.Shape()[0] != n {
			return EpochStats{}, fmt.Errorf("trainer: %d inputs but targets of shape %v for output %s", n, shapeOf(t), tr.outputs[i])
		}
		d, per, err := graph.Rows(t)
		if err != nil {
			return EpochStats{}, fmt.Errorf("trainer: targets of %s: %w", tr.outputs[i], err)
		}
		srcT = append(srcT, source{d, per})
	}
	perm := tr.rng.Perm(n)
	var st EpochStats
	var total float64
	fill := func(dst []*tensor.Dense, src []source, idx []int, what string) error {
		for k, s := range src {
			b := dst[k].Data().([]float32)
			if len(b) != len(idx)*s.per {
				return fmt.Errorf("trainer: %s of %d values per sample do not fit the model's %v", what, s.per, dst[k].Shape())
			}
			for i, j := range idx {
				copy(b[i*s.per:(i+1)*s.per], s.data[j*s.per:(j+1)*s.per])
			}
		}
		return nil
	}
	for from := 0; from < n; from += batch {
		idx := perm[from:min(from+batch, n)]
		tp, err := tr.prog(len(idx))
		if err != nil {
			return st, err
		}
		if err := fill(tp.xs, srcX, idx, "samples"); err != nil {
			return st, err
		}
		if err := fill(tp.ts, srcT, idx, "targets"); err != nil {
			return st, err
		}
		loss, err := tr.run(tp, tp.xs, tp.ts)
		if err != nil {
			return st, err
		}
		total += float64(loss) * float64(len(idx))
		st.Steps++
		if progress != nil {
			progress(from + len(idx))
		}
	}
	st.Loss = total / float64(n)
	return st, nil
}
