package train

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/tapenet/tapenet/graph"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// quadratic builds loss = Σ (x·w - t)² for a 3x2 w and returns the machine
// and the weight node.
func quadratic(t *testing.T, w0 []float32) (gorgonia.VM, *gorgonia.Node) {
	t.Helper()
	g := gorgonia.NewGraph()
	x := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(2, 3), gorgonia.WithValue(tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1, -2, 0.5, 0.3, 1, -1}))))
	tt := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(2, 2), gorgonia.WithValue(tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{1, 0, -1, 2}))))
	w := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(3, 2), gorgonia.WithName("w"), gorgonia.WithValue(tensor.New(tensor.WithShape(3, 2), tensor.WithBacking(append([]float32(nil), w0...)))))
	d := gorgonia.Must(gorgonia.Sub(gorgonia.Must(gorgonia.Mul(x, w)), tt))
	loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(d))))
	if _, err := gorgonia.Grad(loss, w); err != nil {
		t.Fatal(err)
	}
	return gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(w)), w
}

// The optimizers that Gorgonia also has follow its solvers step for step on
// a least-squares problem, over 20 steps at a constant rate, both run as
// gorgonia.Solvers (ours through AsSolver). Gorgonia's
// Momentum keeps v = -η·b where PyTorch's SGD keeps b (equal at a constant
// rate); its AdaGrad and RMSprop add ε under the square root where PyTorch
// adds it outside, which moves nothing at these gradients (ε ≤ 1e-8 beside
// √s ≥ 1e-1). Gorgonia's AdaGrad takes no options: its rate is 0.001 and
// its ε 1e-8.
func TestOptimizersMatchGorgonia(t *testing.T) {
	w0 := []float32{0.1, -0.2, 0.3, 0.05, -0.4, 0.25}
	for _, test := range []struct {
		name string
		lr   float64
		ours Optimizer
		ref  gorgonia.Solver
		tol  float64
	}{
		{"sgd", 0.05, &SGD{}, gorgonia.NewVanillaSolver(gorgonia.WithLearnRate(0.05)), 1e-6},
		{"momentum", 0.05, &SGD{Momentum: 0.9}, gorgonia.NewMomentum(gorgonia.WithLearnRate(0.05), gorgonia.WithMomentum(0.9)), 1e-5},
		{"adagrad", 0.001, &AdaGrad{Eps: 1e-8}, gorgonia.NewAdaGradSolver(), 1e-6},
		{"rmsprop", 0.05, &RMSprop{Alpha: 0.99}, gorgonia.NewRMSPropSolver(gorgonia.WithLearnRate(0.05), gorgonia.WithRho(0.99), gorgonia.WithEps(1e-8)), 1e-5},
		{"adam", 0.05, &Adam{}, gorgonia.NewAdamSolver(gorgonia.WithLearnRate(0.05)), 1e-5},
	} {
		t.Run(test.name, func(t *testing.T) {
			vmA, wA := quadratic(t, w0)
			vmB, wB := quadratic(t, w0)
			ours := AsSolver(test.ours, test.lr)
			worst := 0.0
			for step := range 20 {
				for _, vm := range []gorgonia.VM{vmA, vmB} {
					vm.Reset()
					if err := vm.RunAll(); err != nil {
						t.Fatal(err)
					}
				}
				if err := test.ref.Step(gorgonia.NodesToValueGrads(gorgonia.Nodes{wA})); err != nil {
					t.Fatal(err)
				}
				if err := ours.Step(gorgonia.NodesToValueGrads(gorgonia.Nodes{wB})); err != nil {
					t.Fatal(err)
				}
				a := wA.Value().Data().([]float32)
				b := wB.Value().Data().([]float32)
				for i := range a {
					d := math.Abs(float64(a[i] - b[i]))
					worst = max(worst, d)
					if d > test.tol {
						t.Fatalf("step %d: w[%d] = %v, Gorgonia's solver gives %v", step+1, i, b[i], a[i])
					}
				}
			}
			t.Logf("max |ours - Gorgonia| over 20 steps: %.3g", worst)
		})
	}
}

// reference is testdata/optim_reference.json, written by
// testdata/optim_reference.py with numpy.
type reference struct {
	X      []float64            `json:"x"`
	XShape []int                `json:"x_shape"`
	Labels []int                `json:"labels"`
	Init   map[string][]float64 `json:"init"`
	Params []string             `json:"params"`
	Cases  []struct {
		Name          string          `json:"name"`
		Optimizer     string          `json:"optimizer"`
		LR            float64         `json:"lr"`
		Momentum      float64         `json:"momentum"`
		Nesterov      bool            `json:"nesterov"`
		WeightDecay   float64         `json:"weight_decay"`
		NoDecayBiases bool            `json:"no_decay_biases"`
		ClipNorm      float64         `json:"clip_norm"`
		LRDecay       float64         `json:"lr_decay"`
		InitialAcc    float64         `json:"initial_accumulator"`
		Centered      bool            `json:"centered"`
		Schedule      json.RawMessage `json:"schedule"`
		Steps         []struct {
			Loss   float64              `json:"loss"`
			LR     float64              `json:"lr"`
			Params map[string][]float64 `json:"params"`
		} `json:"steps"`
	} `json:"cases"`
}

func readReference(t *testing.T) *reference {
	t.Helper()
	b, err := os.ReadFile("testdata/optim_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return &ref
}

// scheduleOf decodes a schedule of the reference script.
func scheduleOf(raw json.RawMessage) (Schedule, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var s struct {
		Kind  string          `json:"kind"`
		Gamma float64         `json:"gamma"`
		Every int             `json:"every"`
		Steps int             `json:"steps"`
		Min   float64         `json:"min"`
		Then  json.RawMessage `json:"then"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	switch s.Kind {
	case "step":
		return StepDecay{Every: s.Every, Gamma: s.Gamma}, nil
	case "exp":
		return Exponential{Gamma: s.Gamma}, nil
	case "cosine":
		return Cosine{Steps: s.Steps, Min: s.Min}, nil
	case "warmup":
		then, err := scheduleOf(s.Then)
		return Warmup{Steps: s.Steps, Then: then}, err
	}
	return nil, fmt.Errorf("schedule %q", s.Kind)
}

func f32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// Every optimiser, with coupled and decoupled weight decay, biases left out
// of decay, global-norm clipping and per-step schedules, follows the
// formulas of torch.optim as written in numpy by
// testdata/optim_reference.py, step for step over 5 steps of a 4-5-3
// tanh/softmax network: the loss before each step and every parameter
// after it. The targets alternate between one-hot rows and sparse labels.
func TestOptimizersMatchNumpy(t *testing.T) {
	ref := readReference(t)
	worst := 0.0
	for ci, c := range ref.Cases {
		t.Run(c.Name, func(t *testing.T) {
			m, err := graph.NewSequential([]int{4}, &graph.Dense{Units: 5}, graph.Tanh{}, &graph.Dense{Units: 3}, graph.Softmax{})
			if err != nil {
				t.Fatal(err)
			}
			names := m.ParamNames()
			for i, name := range names {
				if err := m.SetParam(name, []int(m.Param(name).Shape()), f32s(ref.Init[ref.Params[i]])); err != nil {
					t.Fatal(err)
				}
			}
			sched, err := scheduleOf(c.Schedule)
			if err != nil {
				t.Fatal(err)
			}
			name := c.Optimizer
			if c.Nesterov {
				name = "nesterov"
			}
			opt, err := OptimizerByName(name, OptimizerOptions{Momentum: c.Momentum, WeightDecay: c.WeightDecay})
			if err != nil {
				t.Fatal(err)
			}
			cfg := Config{Optimizer: opt, LearningRate: c.LR, ClipNorm: c.ClipNorm, Schedule: sched}
			switch {
			case c.Optimizer == "adagrad" && (c.LRDecay != 0 || c.InitialAcc != 0):
				cfg.Optimizer = &AdaGrad{LRDecay: c.LRDecay, InitialAccumulator: c.InitialAcc, WeightDecay: c.WeightDecay}
			case c.Optimizer == "rmsprop" && c.Centered:
				cfg.Optimizer = &RMSprop{Centered: true, Momentum: c.Momentum, WeightDecay: c.WeightDecay}
			}
			if c.NoDecayBiases {
				cfg.NoDecay = BiasAndNormParams(m)
			}
			x := tensor.New(tensor.WithShape(ref.XShape...), tensor.WithBacking(f32s(ref.X)))
			target := oneHot(ref.Labels, 3)
			if ci%2 == 1 {
				cfg.Losses = []Loss{SparseCrossEntropy}
				target = tensor.New(tensor.WithShape(len(ref.Labels)), tensor.WithBacking(slices.Clone(ref.Labels)))
			}
			tr, err := NewTrainer(m, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for s, want := range c.Steps {
				loss, err := tr.Step(x, target)
				if err != nil {
					t.Fatal(err)
				}
				if d := math.Abs(float64(loss) - want.Loss); d > 1e-5 {
					t.Fatalf("step %d: loss %v, numpy %v", s+1, loss, want.Loss)
				}
				if d := math.Abs(tr.LearningRate() - want.LR); d > 1e-12 {
					t.Fatalf("step %d: learning rate %v, numpy %v", s+1, tr.LearningRate(), want.LR)
				}
				for i, name := range names {
					got := m.Param(name).Data().([]float32)
					for j, w := range want.Params[ref.Params[i]] {
						d := math.Abs(float64(got[j]) - w)
						worst = max(worst, d)
						if d > 1e-5 {
							t.Fatalf("step %d: %s[%d] = %v, numpy %v (|diff| %.2g)", s+1, name, j, got[j], w, d)
						}
					}
				}
			}
		})
	}
	t.Logf("max |tapenet - numpy| over %d cases of %d steps: %.3g", len(ref.Cases), len(ref.Cases[0].Steps), worst)
}

func oneHot(labels []int, classes int) *tensor.Dense {
	d := make([]float32, len(labels)*classes)
	for i, l := range labels {
		d[i*classes+l] = 1
	}
	return tensor.New(tensor.WithShape(len(labels), classes), tensor.WithBacking(d))
}

// The AVX2 paths of the fused optimisers agree with their portable loops
// (the same code with the vector path off) to float32 rounding: they differ
// only where FMA rounds once instead of twice.
func TestOptimizerVectorPath(t *testing.T) {
	if !optimAVX2 {
		t.Skip("no AVX2+FMA: only the portable loops run")
	}
	const n = 1003 // 125 vectors and a tail of 3
	for _, test := range []struct {
		name string
		opt  func() Optimizer
	}{
		{"momentum", func() Optimizer { return &SGD{Momentum: 0.9, WeightDecay: 0.01} }},
		{"nesterov", func() Optimizer { return &SGD{Momentum: 0.8, Nesterov: true} }},
		{"adam", func() Optimizer { return &Adam{WeightDecay: 0.01} }},
		{"adamw", func() Optimizer { return &AdamW{} }},
	} {
		run := func(vector bool) ([]float32, []float32) {
			defer func(v bool) { optimAVX2 = v }(optimAVX2)
			optimAVX2 = vector
			w := make([]float32, n)
			g := make([]float32, n)
			opt := test.opt()
			for step := 1; step <= 3; step++ {
				for i := range w {
					if step == 1 {
						w[i] = float32(i%17)*0.1 - 0.8
					}
					g[i] = float32((i*step)%11)*0.02 - 0.1
				}
				if err := opt.Step([]Param{{Name: "w", Value: w, Grad: g, Decay: true}}, 0.01); err != nil {
					t.Fatal(err)
				}
			}
			return w, g
		}
		vec, gv := run(true)
		ref, _ := run(false)
		for i := range vec {
			if math.Abs(float64(vec[i]-ref[i])) > 1e-6 {
				t.Fatalf("%s: w[%d] = %v with AVX2, %v without", test.name, i, vec[i], ref[i])
			}
			if gv[i] != 0 {
				t.Fatalf("%s: gradient %d not cleared", test.name, i)
			}
		}
	}
}

// An optimiser given the State of another continues exactly as the other
// does, and refuses the state of another kind.
func TestOptimizerState(t *testing.T) {
	for _, name := range Optimizers() {
		t.Run(name, func(t *testing.T) {
			a, _ := NewOptimizer(name)
			b, _ := NewOptimizer(name)
			if r, ok := a.(*RMSprop); ok {
				r.Centered, r.Momentum = true, 0.5
				b.(*RMSprop).Centered, b.(*RMSprop).Momentum = true, 0.5
			}
			wa := []float32{0.5, -0.25, 1, 2, -1, 0.125, 0.3, 0.7, -0.9}
			wb := slices.Clone(wa)
			grad := func(step int) []float32 {
				g := make([]float32, len(wa))
				for i := range g {
					g[i] = float32((i+step)%5)*0.1 - 0.2
				}
				return g
			}
			for step := 1; step <= 2; step++ {
				if err := a.Step([]Param{{Name: "w", Value: wa, Grad: grad(step), Decay: true}}, 0.01); err != nil {
					t.Fatal(err)
				}
			}
			st := a.State()
			copy(wb, wa)
			if err := b.SetState(st); err != nil {
				t.Fatal(err)
			}
			st.Buffers = nil // b holds a copy
			for step := 3; step <= 5; step++ {
				for _, o := range []struct {
					opt Optimizer
					w   []float32
				}{{a, wa}, {b, wb}} {
					if err := o.opt.Step([]Param{{Name: "w", Value: o.w, Grad: grad(step), Decay: true}}, 0.01); err != nil {
						t.Fatal(err)
					}
				}
			}
			if !slices.Equal(wa, wb) {
				t.Errorf("restored optimizer: %v, original %v", wb, wa)
			}
			other := "adam"
			if name == "adam" {
				other = "sgd"
			}
			o, _ := NewOptimizer(other)
			if err := o.SetState(a.State()); err == nil {
				t.Errorf("%s accepted the state of %s", other, name)
			}
		})
	}
}

// An optimiser of one's own, in plain Go: sign SGD (w ← w − η·sign(g)).
type signSGD struct{}

func (signSGD) Step(params []Param, lr float64) error {
	for _, p := range params {
		for j, g := range p.Grad {
			switch {
			case g > 0:
				p.Value[j] -= float32(lr)
			case g < 0:
				p.Value[j] += float32(lr)
			}
		}
	}
	return nil
}

// A custom optimiser plugs into the Trainer; the Trainer clears its
// gradients, so each step sees only its own batch's.
func TestCustomOptimizer(t *testing.T) {
	m, err := graph.NewSequential([]int{2}, &graph.Dense{Units: 1}, graph.Identity{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, Config{Optimizer: signSGD{}, LearningRate: 0.125})
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float32{1, -1}))
	y := tensor.New(tensor.WithShape(1, 1), tensor.WithBacking([]float32{1}))
	// w = 0, b = 0: output 0 < 1, so dL/dw = 2(y-t)·x = (-2, 2), dL/db = -2:
	// each step moves w by (+η, -η) and b by +η until the output passes 1.
	for range 2 {
		if _, err := tr.Step(x, y); err != nil {
			t.Fatal(err)
		}
	}
	w, b := m.Param("fc1.weight").Data().([]float32), m.Param("fc1.bias").Data().([]float32)
	if !slices.Equal(w, []float32{0.25, -0.25}) || !slices.Equal(b, []float32{0.25}) {
		t.Errorf("after 2 sign steps: w %v b %v, want [0.25 -0.25] [0.25]", w, b)
	}
	if _, err := tr.State(); err == nil {
		t.Error("State of an optimizer without Stateful: no error")
	}
	if _, err := NewTrainer(m, Config{Optimizer: signSGD{}}); err == nil {
		t.Error("custom optimizer without a learning rate: no error")
	}
}

// After its first step, no built-in optimiser allocates.
func TestOptimizersDoNotAllocate(t *testing.T) {
	for _, name := range Optimizers() {
		opt, _ := NewOptimizer(name)
		params := []Param{
			{Name: "fc1.weight", Value: make([]float32, 100), Grad: make([]float32, 100), Decay: true},
			{Name: "fc1.bias", Value: make([]float32, 10), Grad: make([]float32, 10)},
		}
		if err := opt.Step(params, 0.01); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(10, func() { opt.Step(params, 0.01) }); n != 0 {
			t.Errorf("%s: %v allocations per step", name, n)
		}
	}
}
