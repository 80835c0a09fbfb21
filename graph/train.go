package graph

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

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

// TrainConfig configures a Trainer. Zero fields take the defaults shown.
type TrainConfig struct {
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
// graph plus the loss LossFor chooses, gorgonia.Grad for the gradients, the
// tape machine, and SGD, Momentum or Adam with the update rules of
// Gorgonia's solvers (fused; see optimizer). One graph is compiled per
// batch size (a final partial batch gets its own). Not safe for concurrent
// use.
type Trainer struct {
	m      *Sequential
	lr     float64
	loss   Loss
	cut    int
	solver *optimizer
	rng    *rand.Rand
	progs  map[int]*trainProg
	steps  int
}

type trainProg struct {
	p      *Program
	target *gorgonia.Node
	loss   *gorgonia.Node
	vm     gorgonia.VM
	x, t   *tensor.Dense // batch buffers for Epoch
}

// NewTrainer returns a Trainer for m.
func NewTrainer(m *Sequential, cfg TrainConfig) (*Trainer, error) {
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
	loss, cut := LossFor(m)
	return &Trainer{
		m: m, lr: lr, loss: loss, cut: cut, solver: solver,
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

// Loss returns the loss being minimised.
func (tr *Trainer) Loss() Loss { return tr.loss }

func (tr *Trainer) prog(batch int) (*trainProg, error) {
	if tp, ok := tr.progs[batch]; ok {
		return tp, nil
	}
	p, err := tr.m.Build(batch, true, len(tr.m.layers)-tr.cut)
	if err != nil {
		return nil, err
	}
	z := p.Output()
	target := gorgonia.NewTensor(p.Graph, tensor.Float32, z.Dims(), gorgonia.WithShape(z.Shape()...), gorgonia.WithName("target"))
	loss, err := tr.loss.build(z, target)
	if err != nil {
		return nil, fmt.Errorf("loss %s: %w", tr.loss, err)
	}
	gorgonia.WithName("loss")(loss)
	if len(p.Learnables) == 0 {
		return nil, fmt.Errorf("model has no parameters to train")
	}
	if _, err := gorgonia.Grad(loss, p.Learnables...); err != nil {
		return nil, fmt.Errorf("gradient: %w", err)
	}
	tp := &trainProg{
		p: p, target: target, loss: loss,
		vm: gorgonia.NewTapeMachine(p.Graph, gorgonia.BindDualValues(p.Learnables...)),
		x:  tensor.New(tensor.WithShape(p.Input.Shape()...), tensor.Of(tensor.Float32)),
		t:  tensor.New(tensor.WithShape(target.Shape()...), tensor.Of(tensor.Float32)),
	}
	tr.progs[batch] = tp
	return tp, nil
}

// Step runs one optimisation step on a batch: inputs x (batch, sample
// shape...) and targets t (batch, outputs), one-hot for classification. It
// returns the batch's loss before the update.
func (tr *Trainer) Step(x, t *tensor.Dense) (float32, error) {
	tp, err := tr.prog(x.Shape()[0])
	if err != nil {
		return 0, err
	}
	if !x.Shape().Eq(tp.p.Input.Shape()) || !t.Shape().Eq(tp.target.Shape()) {
		return 0, fmt.Errorf("step: inputs %v and targets %v, model wants %v and %v", x.Shape(), t.Shape(), tp.p.Input.Shape(), tp.target.Shape())
	}
	return tr.run(tp, x, t)
}

func (tr *Trainer) run(tp *trainProg, x, t *tensor.Dense) (float32, error) {
	loss, err := tr.compute(tp, x, t)
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
func (tr *Trainer) compute(tp *trainProg, x, t *tensor.Dense) (float32, error) {
	tp.vm.Reset()
	if err := gorgonia.Let(tp.p.Input, x); err != nil {
		return 0, fmt.Errorf("bind input: %w", err)
	}
	if err := gorgonia.Let(tp.target, t); err != nil {
		return 0, fmt.Errorf("bind target: %w", err)
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

// Epoch makes one pass over x (N, sample shape...) and t (N, outputs) in a
// random order drawn from the Trainer's seeded generator, in batches of
// batch samples plus a final partial batch. progress, if not nil, is called
// after each step with the samples done so far.
func (tr *Trainer) Epoch(x, t *tensor.Dense, batch int, progress func(done int)) (EpochStats, error) {
	if batch < 1 {
		return EpochStats{}, fmt.Errorf("epoch: batch size %d is not positive", batch)
	}
	n := x.Shape()[0]
	if t.Shape()[0] != n {
		return EpochStats{}, fmt.Errorf("epoch: %d inputs but %d targets", n, t.Shape()[0])
	}
	xs, ok1 := x.Data().([]float32)
	ts, ok2 := t.Data().([]float32)
	if !ok1 || !ok2 {
		return EpochStats{}, fmt.Errorf("epoch: inputs and targets must be float32")
	}
	xper, tper := len(xs)/max(n, 1), len(ts)/max(n, 1)
	perm := tr.rng.Perm(n)
	var st EpochStats
	var total float64
	for from := 0; from < n; from += batch {
		idx := perm[from:min(from+batch, n)]
		tp, err := tr.prog(len(idx))
		if err != nil {
			return st, err
		}
		bx, bt := tp.x.Data().([]float32), tp.t.Data().([]float32)
		if len(bx) != len(idx)*xper || len(bt) != len(idx)*tper {
			return st, fmt.Errorf("epoch: samples of %d values and targets of %d do not fit the model (%v, %v)", xper, tper, tp.x.Shape(), tp.t.Shape())
		}
		for i, j := range idx {
			copy(bx[i*xper:(i+1)*xper], xs[j*xper:(j+1)*xper])
			copy(bt[i*tper:(i+1)*tper], ts[j*tper:(j+1)*tper])
		}
		loss, err := tr.run(tp, tp.x, tp.t)
		if err != nil {
			return st, err
		}
		total += float64(loss) * float64(len(idx))
		st.Steps++
		if progress != nil {
			progress(from + len(idx))
		}
	}
	st.Loss = total / float64(max(n, 1))
	return st, nil
}
