package train

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"gorgonia.org/gorgonia"
)

// Param is one learnable tensor as an Optimizer sees it at a step.
type Param struct {
	// Name is the parameter's name in its model, e.g. "fc1.weight": the
	// key of its optimiser state.
	Name string
	// Value holds the parameter's values, which Step updates in place.
	Value []float32
	// Grad holds the gradient of the loss with respect to Value, clipped
	// when Config.ClipNorm asks. Step may overwrite it; the Trainer clears
	// it afterwards.
	Grad []float32
	// Decay reports whether weight decay applies to this parameter: true
	// unless Config.NoDecay excludes it (PyTorch's parameter group with
	// weight_decay 0).
	Decay bool
}

// Optimizer updates parameters from their gradients: one step per batch.
// The Trainer passes the same parameters, in the same order, at every step.
// Implement it to plug in an optimiser of your own, in plain Go; implement
// Stateful as well so that a run using it can be saved and resumed.
//
// The built-in optimisers follow the update rules and defaults of PyTorch's
// torch.optim (https://pytorch.org/docs/stable/optim.html), written out in
// their doc comments with g the gradient, w the parameter, η the learning
// rate of the step and λ the weight decay. Their one-pass float32 loops
// keep their state per parameter name and allocate nothing after the first
// step; SGD with momentum and Adam (and AdamW) run eight lanes at a time
// with AVX2 and FMA on amd64.
type Optimizer interface {
	// Step makes one update of every parameter with learning rate lr.
	Step(params []Param, lr float64) error
}

// Stateful is an Optimizer whose state can be saved and restored, so that a
// resumed run continues exactly where it stopped. The built-in optimisers
// implement it.
type Stateful interface {
	Optimizer
	// State returns a copy of the optimiser's state.
	State() OptimizerState
	// SetState replaces the optimiser's state with a copy of st, which
	// State returned (possibly in another process).
	SetState(st OptimizerState) error
}

// OptimizerState is an optimiser's state between steps.
type OptimizerState struct {
	// Kind names the optimiser, e.g. "adam": SetState refuses a state of
	// another kind.
	Kind string
	// Steps counts the steps taken.
	Steps int
	// Buffers holds the per-parameter state by "<slot>/<parameter>", e.g.
	// "exp_avg/fc1.weight", with PyTorch's slot names.
	Buffers map[string][]float32
}

// Optimizers lists the names OptimizerByName knows.
func Optimizers() []string {
	return []string{"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}
}

// DefaultLearningRate returns the learning rate a named optimizer uses when
// none is given, and whether the name is known: sgd 0.1; momentum and
// nesterov 0.01; adagrad and rmsprop 0.01 (PyTorch's defaults); adam and
// adamw 0.001 (PyTorch's).
func DefaultLearningRate(optimizer string) (float64, bool) {
	switch optimizer {
	case "sgd":
		return 0.1, true
	case "momentum", "nesterov", "adagrad", "rmsprop":
		return 0.01, true
	case "adam", "adamw":
		return 0.001, true
	}
	return 0, false
}

// OptimizerOptions are the settings OptimizerByName gives a built-in
// optimiser; zero fields keep its defaults. (Settings of one optimiser
// alone, such as Adam's betas, are fields of its type: set them on the
// value.)
type OptimizerOptions struct {
	// Momentum is the momentum factor μ of "momentum" and "nesterov"
	// (default 0.9), "sgd" (default 0) and "rmsprop" (default 0).
	Momentum float64
	// WeightDecay is the L2 weight decay λ: coupled (g ← g + λ·w) for all
	// but "adamw", decoupled (w ← w·(1 − η·λ)) for "adamw", where 0 means
	// PyTorch's default 0.01.
	WeightDecay float64
}

// OptimizerByName returns the built-in optimizer of a name (see
// Optimizers) with PyTorch's defaults and the options given, except that
// "momentum" and "nesterov" are SGD with momentum 0.9 unless
// opts.Momentum says otherwise (PyTorch has no default momentum): "sgd"
// &SGD{}, "momentum" &SGD{Momentum: 0.9}, "nesterov" &SGD{Momentum: 0.9,
// Nesterov: true}, "adagrad" &AdaGrad{}, "rmsprop" &RMSprop{}, "adam"
// &Adam{}, "adamw" &AdamW{}. Momentum applies to SGD and RMSprop only.
// Its default rate (the method DefaultLearningRate of the value, which
// the Trainer takes when Config.LearningRate is 0) is the name's
// (DefaultLearningRate).
func OptimizerByName(name string, opts OptimizerOptions) (Stateful, error) {
	if !(opts.WeightDecay >= 0) || math.IsInf(opts.WeightDecay, 0) {
		return nil, fmt.Errorf("optimizer %s: weight decay %v is not a non-negative number", name, opts.WeightDecay)
	}
	if !(opts.Momentum >= 0 && opts.Momentum < 1) {
		return nil, fmt.Errorf("optimizer %s: momentum %v is not in [0, 1)", name, opts.Momentum)
	}
	mu, wd := opts.Momentum, opts.WeightDecay
	switch name {
	case "sgd":
		return &SGD{Momentum: mu, WeightDecay: wd, rate: 0.1}, nil
	case "momentum":
		return &SGD{Momentum: defaultTo(mu, 0.9), WeightDecay: wd}, nil
	case "nesterov":
		return &SGD{Momentum: defaultTo(mu, 0.9), Nesterov: true, WeightDecay: wd}, nil
	case "adagrad":
		return &AdaGrad{WeightDecay: wd}, nil
	case "rmsprop":
		return &RMSprop{Momentum: mu, WeightDecay: wd}, nil
	case "adam":
		return &Adam{WeightDecay: wd}, nil
	case "adamw":
		return &AdamW{WeightDecay: wd}, nil
	}
	return nil, fmt.Errorf("unknown optimizer %q (want one of %v)", name, Optimizers())
}

// NewOptimizer is OptimizerByName with no options.
func NewOptimizer(name string) (Stateful, error) { return OptimizerByName(name, OptimizerOptions{}) }

// slots holds an optimiser's per-parameter buffers, created at the first
// step that sees a parameter, and its step count.
type slots struct {
	steps int
	bufs  map[slotKey][]float32
}

type slotKey struct{ slot, param string }

// get returns the buffer slot/name of n values, zeroed when new.
func (s *slots) get(slot, name string, n int) ([]float32, error) {
	return s.getInit(slot, name, n, 0)
}

// getInit is get with the value of a new buffer's elements.
func (s *slots) getInit(slot, name string, n int, init float32) ([]float32, error) {
	key := slotKey{slot, name}
	b, ok := s.bufs[key]
	if !ok {
		if s.bufs == nil {
			s.bufs = map[slotKey][]float32{}
		}
		b = make([]float32, n)
		for i := range b {
			b[i] = init
		}
		s.bufs[key] = b
	}
	if len(b) != n {
		return nil, fmt.Errorf("optimizer: %s/%s holds %d values, parameter has %d", slot, name, len(b), n)
	}
	return b, nil
}

func (s *slots) state(kind string) OptimizerState {
	st := OptimizerState{Kind: kind, Steps: s.steps, Buffers: map[string][]float32{}}
	for k, b := range s.bufs {
		st.Buffers[k.slot+"/"+k.param] = slices.Clone(b)
	}
	return st
}

func (s *slots) setState(kind string, st OptimizerState, known ...string) error {
	if st.Kind != kind {
		return fmt.Errorf("optimizer state of %q, not %q", st.Kind, kind)
	}
	if st.Steps < 0 {
		return fmt.Errorf("optimizer state: %d steps", st.Steps)
	}
	bufs := map[slotKey][]float32{}
	for _, k := range sortedKeys(st.Buffers) {
		slot, name, ok := cutSlot(k)
		if !ok || name == "" || !slices.Contains(known, slot) {
			return fmt.Errorf("optimizer state of %q: unknown buffer %q (slots: %v)", kind, k, known)
		}
		bufs[slotKey{slot, name}] = slices.Clone(st.Buffers[k])
	}
	s.steps, s.bufs = st.Steps, bufs
	return nil
}

func cutSlot(key string) (slot, name string, ok bool) {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i], key[i+1:], true
		}
	}
	return "", "", false
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// checkParam reports a parameter whose value and gradient differ in size.
func checkParam(p Param) error {
	if len(p.Value) != len(p.Grad) {
		return fmt.Errorf("optimizer: parameter %s has %d values and %d gradients", p.Name, len(p.Value), len(p.Grad))
	}
	return nil
}

// addDecay adds λ·w to the gradient: coupled L2 weight decay, as
// torch.optim's weight_decay does before anything else.
func addDecay(g, w []float32, lambda float32) {
	for j := range g {
		g[j] += lambda * w[j]
	}
}

// clearsGradients marks the built-in optimisers, which zero each gradient
// in their own pass: the Trainer clears the others' after Step.
type clearsGradients interface{ clearsGradients() }

func defaultTo(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}

// SGD is stochastic gradient descent, with optional momentum and Nesterov
// momentum (torch.optim.SGD, dampening 0). With μ = Momentum and b the
// momentum buffer (PyTorch's momentum_buffer, starting at 0):
//
//	g ← g + λ·w              (when WeightDecay λ > 0)
//	μ = 0:      w ← w − η·g
//	μ > 0:      b ← μ·b + g
//	            w ← w − η·b           (Nesterov: w ← w − η·(g + μ·b))
//
// (Gorgonia's Momentum solver keeps v = −η·b instead; the two agree while
// η is constant.)
type SGD struct {
	// Momentum is μ, in [0, 1) (default 0: plain SGD).
	Momentum float64
	// Nesterov uses Nesterov momentum; it needs Momentum > 0.
	Nesterov bool
	// WeightDecay is the coupled L2 factor λ (default 0).
	WeightDecay float64

	s    slots
	rate float64 // the default rate of "sgd" from OptimizerByName (0: by kind)
}

func (*SGD) clearsGradients() {}

// DefaultLearningRate is the rate a Trainer takes when Config gives none:
// that of the optimiser's name (DefaultLearningRate: "sgd" 0.1, with
// momentum 0.01).
func (o *SGD) DefaultLearningRate() float64 {
	if o.rate != 0 {
		return o.rate
	}
	r, _ := DefaultLearningRate(o.kind())
	return r
}

func (o *SGD) kind() string {
	switch {
	case o.Nesterov:
		return "nesterov"
	case o.Momentum != 0:
		return "momentum"
	}
	return "sgd"
}

// Step applies one update.
func (o *SGD) Step(params []Param, lr float64) error {
	if !(o.Momentum >= 0 && o.Momentum < 1) || (o.Nesterov && o.Momentum == 0) {
		return fmt.Errorf("sgd: momentum %v (Nesterov %v) is not in [0, 1), or Nesterov without momentum", o.Momentum, o.Nesterov)
	}
	o.s.steps++
	eta, mu, lambda := float32(lr), float32(o.Momentum), float32(o.WeightDecay)
	for _, p := range params {
		if err := checkParam(p); err != nil {
			return err
		}
		ws, gs := p.Value, p.Grad
		if p.Decay && lambda != 0 {
			addDecay(gs, ws, lambda)
		}
		if mu == 0 {
			for j, g := range gs {
				ws[j] -= eta * g
			}
			clear(gs)
			continue
		}
		buf, err := o.s.get("momentum_buffer", p.Name, len(ws))
		if err != nil {
			return err
		}
		done := momentumVec(ws, gs, buf, mu, eta, o.Nesterov)
		for j := done; j < len(ws); j++ {
			b := mu*buf[j] + gs[j]
			buf[j] = b
			if o.Nesterov {
				b = gs[j] + mu*b
			}
			ws[j] -= eta * b
			gs[j] = 0
		}
	}
	return nil
}

// State returns a copy of the momentum buffers and step count.
func (o *SGD) State() OptimizerState { return o.s.state(o.kind()) }

// SetState restores a state that State returned.
func (o *SGD) SetState(st OptimizerState) error {
	return o.s.setState(o.kind(), st, "momentum_buffer")
}

// AdaGrad adapts each value's rate to the sum of its squared gradients
// (Duchi et al. 2011; torch.optim.Adagrad). With s the sum (PyTorch's
// "sum", starting at InitialAccumulator) and t the step, from 1:
//
//	g ← g + λ·w              (when WeightDecay λ > 0)
//	η' = η / (1 + (t−1)·LRDecay)
//	s ← s + g²
//	w ← w − η'·g / (√s + ε)
//
// Gorgonia's AdaGradSolver divides by √(s + ε) instead.
type AdaGrad struct {
	// LRDecay decays the rate with the step count (default 0).
	LRDecay float64
	// InitialAccumulator is the starting value of s (default 0).
	InitialAccumulator float64
	// Eps is ε (default 1e-10).
	Eps float64
	// WeightDecay is the coupled L2 factor λ (default 0).
	WeightDecay float64

	s slots
}

func (*AdaGrad) clearsGradients() {}

// DefaultLearningRate is the rate a Trainer takes when Config gives none
// (PyTorch's default, 0.01).
func (*AdaGrad) DefaultLearningRate() float64 { return 0.01 }

// Step applies one update.
func (o *AdaGrad) Step(params []Param, lr float64) error {
	o.s.steps++
	t := o.s.steps
	eta := float32(lr / (1 + float64(t-1)*o.LRDecay))
	eps, lambda := float32(defaultTo(o.Eps, 1e-10)), float32(o.WeightDecay)
	for _, p := range params {
		if err := checkParam(p); err != nil {
			return err
		}
		ws, gs := p.Value, p.Grad
		sum, err := o.s.getInit("sum", p.Name, len(ws), float32(o.InitialAccumulator))
		if err != nil {
			return err
		}
		if p.Decay && lambda != 0 {
			addDecay(gs, ws, lambda)
		}
		for j, g := range gs {
			s := sum[j] + g*g
			sum[j] = s
			ws[j] -= eta * g / (sqrt32(s) + eps)
		}
		clear(gs)
	}
	return nil
}

// State returns a copy of the sums and step count.
func (o *AdaGrad) State() OptimizerState { return o.s.state("adagrad") }

// SetState restores a state that State returned.
func (o *AdaGrad) SetState(st OptimizerState) error { return o.s.setState("adagrad", st, "sum") }

// RMSprop divides each value's step by a running root mean square of its
// gradients (Hinton's lecture 6e; torch.optim.RMSprop). With v the mean
// square (PyTorch's square_avg), ḡ the mean gradient (grad_avg, centred
// only) and b the momentum buffer, all starting at 0:
//
//	g ← g + λ·w              (when WeightDecay λ > 0)
//	v ← α·v + (1−α)·g²
//	centred:  ḡ ← α·ḡ + (1−α)·g;  d = √(v − ḡ²) + ε
//	else:     d = √v + ε
//	μ > 0:    b ← μ·b + g/d;  w ← w − η·b
//	else:     w ← w − η·g/d
//
// Gorgonia's RMSPropSolver divides by √(v + ε) instead.
type RMSprop struct {
	// Alpha is the smoothing constant α (default 0.99).
	Alpha float64
	// Eps is ε (default 1e-8).
	Eps float64
	// Momentum is μ (default 0).
	Momentum float64
	// Centered normalises by an estimate of the gradient's variance.
	Centered bool
	// WeightDecay is the coupled L2 factor λ (default 0).
	WeightDecay float64

	s slots
}

func (*RMSprop) clearsGradients() {}

// DefaultLearningRate is the rate a Trainer takes when Config gives none
// (PyTorch's default, 0.01).
func (*RMSprop) DefaultLearningRate() float64 { return 0.01 }

// Step applies one update.
func (o *RMSprop) Step(params []Param, lr float64) error {
	o.s.steps++
	alpha := float32(defaultTo(o.Alpha, 0.99))
	oma := 1 - alpha
	eps, mu, lambda, eta := float32(defaultTo(o.Eps, 1e-8)), float32(o.Momentum), float32(o.WeightDecay), float32(lr)
	for _, p := range params {
		if err := checkParam(p); err != nil {
			return err
		}
		ws, gs := p.Value, p.Grad
		v, err := o.s.get("square_avg", p.Name, len(ws))
		if err != nil {
			return err
		}
		var gavg, buf []float32
		if o.Centered {
			if gavg, err = o.s.get("grad_avg", p.Name, len(ws)); err != nil {
				return err
			}
		}
		if mu != 0 {
			if buf, err = o.s.get("momentum_buffer", p.Name, len(ws)); err != nil {
				return err
			}
		}
		if p.Decay && lambda != 0 {
			addDecay(gs, ws, lambda)
		}
		for j, g := range gs {
			vj := alpha*v[j] + oma*g*g
			v[j] = vj
			var d float32
			if gavg != nil {
				a := alpha*gavg[j] + oma*g
				gavg[j] = a
				d = sqrt32(vj-a*a) + eps
			} else {
				d = sqrt32(vj) + eps
			}
			if buf != nil {
				b := mu*buf[j] + g/d
				buf[j] = b
				ws[j] -= eta * b
			} else {
				ws[j] -= eta * g / d
			}
		}
		clear(gs)
	}
	return nil
}

// State returns a copy of the running averages and step count.
func (o *RMSprop) State() OptimizerState { return o.s.state("rmsprop") }

// SetState restores a state that State returned.
func (o *RMSprop) SetState(st OptimizerState) error {
	return o.s.setState("rmsprop", st, "square_avg", "grad_avg", "momentum_buffer")
}

// Adam keeps running means of the gradient and of its square (Kingma & Ba
// 2015; torch.optim.Adam). With m and v the moments (PyTorch's exp_avg and
// exp_avg_sq, starting at 0) and t the step, from 1:
//
//	g ← g + λ·w              (when WeightDecay λ > 0: coupled L2)
//	m ← β₁·m + (1−β₁)·g
//	v ← β₂·v + (1−β₂)·g²
//	w ← w − η·(m·c₁) / (√(v·c₂) + ε),   c₁ = 1/(1−β₁ᵗ), c₂ = 1/(1−β₂ᵗ)
//
// PyTorch writes the last line η/(1−β₁ᵗ)·m / (√v/√(1−β₂ᵗ) + ε): the same
// value, rounded in another order; this is the order of Gorgonia's
// AdamSolver, which the embedded models were trained with.
type Adam struct {
	// Beta1 and Beta2 are β₁ and β₂ (defaults 0.9 and 0.999).
	Beta1, Beta2 float64
	// Eps is ε (default 1e-8).
	Eps float64
	// WeightDecay is the coupled L2 factor λ (default 0). For decoupled
	// decay use AdamW.
	WeightDecay float64

	s slots
}

func (*Adam) clearsGradients() {}

// DefaultLearningRate is the rate a Trainer takes when Config gives none
// (PyTorch's default, 0.001).
func (*Adam) DefaultLearningRate() float64 { return 0.001 }

// Step applies one update.
func (o *Adam) Step(params []Param, lr float64) error {
	return adamStep(&o.s, params, lr, o.Beta1, o.Beta2, o.Eps, o.WeightDecay, false)
}

// State returns a copy of the moments and step count.
func (o *Adam) State() OptimizerState { return o.s.state("adam") }

// SetState restores a state that State returned.
func (o *Adam) SetState(st OptimizerState) error {
	return o.s.setState("adam", st, "exp_avg", "exp_avg_sq")
}

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter 2019;
// torch.optim.AdamW): before Adam's update (without its coupled decay),
//
//	w ← w·(1 − η·λ)
type AdamW struct {
	// Beta1 and Beta2 are β₁ and β₂ (defaults 0.9 and 0.999).
	Beta1, Beta2 float64
	// Eps is ε (default 1e-8).
	Eps float64
	// WeightDecay is λ (default 0.01, PyTorch's; Adam is AdamW with no
	// decay).
	WeightDecay float64

	s slots
}

func (*AdamW) clearsGradients() {}

// DefaultLearningRate is the rate a Trainer takes when Config gives none
// (PyTorch's default, 0.001).
func (*AdamW) DefaultLearningRate() float64 { return 0.001 }

// Step applies one update.
func (o *AdamW) Step(params []Param, lr float64) error {
	return adamStep(&o.s, params, lr, o.Beta1, o.Beta2, o.Eps, defaultTo(o.WeightDecay, 0.01), true)
}

// State returns a copy of the moments and step count.
func (o *AdamW) State() OptimizerState { return o.s.state("adamw") }

// SetState restores a state that State returned.
func (o *AdamW) SetState(st OptimizerState) error {
	return o.s.setState("adamw", st, "exp_avg", "exp_avg_sq")
}

func adamStep(s *slots, params []Param, lr, beta1, beta2, eps, decay float64, decoupled bool) error {
	beta1, beta2, eps = defaultTo(beta1, 0.9), defaultTo(beta2, 0.999), defaultTo(eps, 1e-8)
	s.steps++
	t := float64(s.steps)
	// The bias corrections, as Gorgonia's AdamSolver computes them.
	c1 := float32(1 / (1 - math.Pow(beta1, t)))
	c2 := float32(1 / (1 - math.Pow(beta2, t)))
	eta := float32(lr)
	b1, b2 := float32(beta1), float32(beta2)
	ob1, ob2 := 1-b1, 1-b2
	e := float32(eps)
	shrink := float32(1 - lr*decay) // AdamW
	lambda := float32(decay)        // Adam's coupled decay
	p8 := [8]float32{b1, ob1, b2, ob2, c1, c2, eta, e}
	for _, p := range params {
		if err := checkParam(p); err != nil {
			return err
		}
		ws, gs := p.Value, p.Grad
		m, err := s.get("exp_avg", p.Name, len(ws))
		if err != nil {
			return err
		}
		v, err := s.get("exp_avg_sq", p.Name, len(ws))
		if err != nil {
			return err
		}
		if p.Decay && decay != 0 {
			if decoupled {
				for j := range ws {
					ws[j] *= shrink
				}
			} else {
				addDecay(gs, ws, lambda)
			}
		}
		done := adamVec(ws, gs, m, v, &p8)
		for j := done; j < len(ws); j++ {
			g := gs[j]
			mj := m[j]*b1 + g*ob1
			vj := v[j]*b2 + g*g*ob2
			m[j], v[j] = mj, vj
			ws[j] -= eta * (mj * c1) / (float32(math.Sqrt(float64(vj*c2))) + e)
			gs[j] = 0
		}
	}
	return nil
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// AsSolver adapts an Optimizer to gorgonia.Solver at a fixed learning rate,
// for a Gorgonia loop of one's own (gorgonia.Grad, a tape machine with
// BindDualValues, then Step after each run). Parameters are named after
// their nodes (after their position when they are not nodes), and each
// gradient is zeroed after the step, as Gorgonia's solvers do: the tape
// machine adds the next gradients into it.
func AsSolver(opt Optimizer, lr float64) gorgonia.Solver {
	return &solver{opt: opt, lr: lr}
}

type solver struct {
	opt    Optimizer
	lr     float64
	params []Param
}

// Step implements gorgonia.Solver.
func (s *solver) Step(model []gorgonia.ValueGrad) error {
	s.params = s.params[:0]
	for i, vg := range model {
		name := fmt.Sprintf("param%d", i)
		if n, ok := vg.(*gorgonia.Node); ok {
			name = n.Name()
		}
		w, ok := vg.Value().Data().([]float32)
		if !ok {
			return fmt.Errorf("optimizer: %s is not float32", name)
		}
		g, err := vg.Grad()
		if err != nil {
			return fmt.Errorf("optimizer: %s: %w", name, err)
		}
		gs, ok := g.Data().([]float32)
		if !ok {
			return fmt.Errorf("optimizer: gradient of %s is not float32", name)
		}
		s.params = append(s.params, Param{Name: name, Value: w, Grad: gs, Decay: true})
	}
	if err := s.opt.Step(s.params, s.lr); err != nil {
		return err
	}
	clearGrads(s.params)
	return nil
}
