package train

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestGradients compares Gorgonia's gradients with central differences,
// the book's numerical_gradient, for Dense with each differentiable
// activation and each loss.
func TestGradients(t *testing.T) {
	for _, act := range []graph.Layer{graph.Sigmoid{}, graph.ReLU{}, graph.Tanh{}, graph.Identity{}} {
		for _, out := range []graph.Layer{graph.Softmax{}, graph.Sigmoid{}, graph.Identity{}} {
			t.Run(act.Kind()+"/"+out.Kind(), func(t *testing.T) {
				checkGradients(t, act, out)
			})
		}
	}
}

func checkGradients(t *testing.T, act, out graph.Layer) {
	m, err := graph.NewSequential([]int{4}, &graph.Dense{Units: 5, Init: "xavier"}, act, &graph.Dense{Units: 3, Init: "xavier"}, out)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(7)
	tr, err := NewTrainer(m, Config{Optimizer: &SGD{}})
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(tensor.WithShape(2, 4), tensor.WithBacking([]float32{0.3, -1.2, 0.8, 0.5, -0.7, 0.1, 1.5, -0.4}))
	y := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{0, 1, 0, 1, 0, 0}))
	tp, err := tr.prog(2)
	if err != nil {
		t.Fatal(err)
	}
	compareGradients(t, m, tr, tp, x, y)
}

// compareGradients checks Gorgonia's gradients of every learnable parameter
// against central differences of the loss on inputs x and targets y, the
// book's numerical_gradient.
func compareGradients(t *testing.T, m *graph.Model, tr *Trainer, tp *trainProg, x, y *tensor.Dense) {
	t.Helper()
	if _, err := tr.compute(tp, []*tensor.Dense{x}, []*tensor.Dense{y}); err != nil {
		t.Fatal(err)
	}
	var analytic [][]float32
	for _, n := range tp.p.Learnables {
		g, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		analytic = append(analytic, append([]float32(nil), g.Data().([]float32)...))
	}
	// h is small enough that no ReLU input crosses its kink (1e-2 did, for
	// one hidden unit of TestGradients) and large enough for float32.
	const h = 1e-3
	i := 0
	for _, name := range m.ParamNames() {
		if m.IsBuffer(name) {
			continue
		}
		data := m.Param(name).Data().([]float32)
		for j := range data {
			orig := data[j]
			data[j] = orig + h
			lp, err := tr.compute(tp, []*tensor.Dense{x}, []*tensor.Dense{y})
			if err != nil {
				t.Fatal(err)
			}
			data[j] = orig - h
			lm, err := tr.compute(tp, []*tensor.Dense{x}, []*tensor.Dense{y})
			if err != nil {
				t.Fatal(err)
			}
			data[j] = orig
			num := (float64(lp) - float64(lm)) / (2 * h)
			if a := float64(analytic[i][j]); math.Abs(a-num) > 2e-3+1e-2*math.Abs(num) {
				t.Errorf("%s[%d]: gradient %.6f, numerical %.6f", name, j, a, num)
			}
		}
		i++
	}
}

// TestBatchNormTraining checks a training pass: batch statistics in the
// output and the running statistics' update.
func TestBatchNormTraining(t *testing.T) {
	m, err := graph.NewSequential([]int{2}, &graph.BatchNorm{Epsilon: 1e-12, Momentum: 0.5}, graph.Identity{})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	p, err := m.BuildWith(4, graph.BuildOptions{Training: true})
	if err != nil {
		t.Fatal(err)
	}
	var val gorgonia.Value
	gorgonia.Read(p.Output(), &val)
	// Column 0: 1 2 3 6 (mean 3, biased var 3.5, unbiased 14/3); column 1 constant.
	x := tensor.New(tensor.WithShape(4, 2), tensor.WithBacking([]float32{1, 5, 2, 5, 3, 5, 6, 5}))
	if err := gorgonia.Let(p.Input(), x); err != nil {
		t.Fatal(err)
	}
	if err := gorgonia.NewTapeMachine(p.Graph).RunAll(); err != nil {
		t.Fatal(err)
	}
	out := val.Data().([]float32)
	sd := math.Sqrt(3.5)
	for i, w := range []float64{-2 / sd, 0, -1 / sd, 0, 0, 0, 3 / sd, 0} {
		if !near(float64(out[i]), w, 1e-5) {
			t.Fatalf("training output %v, want column 0 standardised and column 1 zero", out)
		}
	}
	rm, rv := m.Param("batchnorm1.running_mean").Data().([]float32), m.Param("batchnorm1.running_var").Data().([]float32)
	for i, w := range []float64{0.5 * 3, 0.5 * 5, 0.5 + 0.5*14.0/3, 0.5} {
		got := append(slices.Clone(rm), rv...)[i]
		if !near(float64(got), w, 1e-6) {
			t.Fatalf("running mean %v var %v after one batch (momentum 0.5)", rm, rv)
		}
	}
	if !m.IsBuffer("batchnorm1.running_mean") || m.IsBuffer("batchnorm1.weight") || len(p.Learnables) != 2 {
		t.Errorf("buffers: running stats must be buffers, weight and bias learnable (%d learnables)", len(p.Learnables))
	}
}

// TestSpatialGradients compares Gorgonia's gradients through the new layers
// with central differences, as TestGradients does for Dense.
func TestSpatialGradients(t *testing.T) {
	for _, test := range []struct {
		name   string
		in     []int
		layers []graph.Layer
	}{
		{"conv pad stride/maxpool/dense", []int{2, 5, 5}, []graph.Layer{
			&graph.Conv2D{Filters: 3, Kernel: 3, Stride: 2, Padding: 1, Init: "xavier"}, graph.Tanh{},
			&graph.MaxPool2D{}, graph.Flatten{}, &graph.Dense{Units: 3, Init: "xavier"}, graph.Softmax{}}},
		{"conv/relu/maxpool overlapping", []int{1, 6, 6}, []graph.Layer{
			&graph.Conv2D{Filters: 2, Kernel: 2}, graph.ReLU{}, &graph.MaxPool2D{Kernel: 3, Stride: 2},
			&graph.Dense{Units: 3, Init: "xavier"}, graph.Softmax{}}},
		{"batchnorm 2-d", []int{4}, []graph.Layer{
			&graph.Dense{Units: 5, Init: "xavier"}, &graph.BatchNorm{}, graph.Tanh{}, &graph.Dense{Units: 3, Init: "xavier"}, graph.Softmax{}}},
		{"batchnorm 4-d", []int{2, 3, 3}, []graph.Layer{
			&graph.Conv2D{Filters: 2, Kernel: 2, Init: "xavier"}, &graph.BatchNorm{}, graph.Tanh{}, graph.Flatten{}, &graph.Dense{Units: 3, Init: "xavier"}, graph.Softmax{}}},
	} {
		t.Run(test.name, func(t *testing.T) {
			m, err := graph.NewSequential(test.in, test.layers...)
			if err != nil {
				t.Fatal(err)
			}
			m.Init(11)
			// Non-trivial batch-norm gains and offsets.
			for _, name := range m.ParamNames() {
				if name == "batchnorm1.weight" || name == "batchnorm1.bias" {
					d := m.Param(name).Data().([]float32)
					for i := range d {
						d[i] = 0.5 + 0.3*float32(i)
					}
				}
			}
			numericalCheck(t, m, 3)
		})
	}
}

// numericalCheck runs the check of checkGradients on any model with
// seeded random inputs and one-hot targets.
func numericalCheck(t *testing.T, m *graph.Model, batch int) {
	t.Helper()
	tr, err := NewTrainer(m, Config{Optimizer: &SGD{}})
	if err != nil {
		t.Fatal(err)
	}
	tp, err := tr.prog(batch)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	xs := make([]float32, tp.p.Input().Shape().TotalSize())
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	ys := make([]float32, tp.targets[0].Shape().TotalSize())
	classes := tp.targets[0].Shape()[1]
	for i := 0; i < batch; i++ {
		ys[i*classes+rng.IntN(classes)] = 1
	}
	x := tensor.New(tensor.WithShape(tp.p.Input().Shape()...), tensor.WithBacking(xs))
	y := tensor.New(tensor.WithShape(tp.targets[0].Shape()...), tensor.WithBacking(ys))
	compareGradients(t, m, tr, tp, x, y)
}

func TestSpatialSpecAndCheckpointRoundTrip(t *testing.T) {
	m, err := graph.NewSequential([]int{1, 6, 6},
		&graph.Conv2D{Filters: 3, Kernel: 3, Padding: 1}, &graph.BatchNorm{Momentum: 0.2}, graph.ReLU{},
		&graph.MaxPool2D{Kernel: 2}, &graph.Dropout{Rate: 0.3, Seed: 9}, graph.Flatten{},
		&graph.Dense{Units: 4}, &graph.BatchNorm{}, graph.ReLU{}, &graph.Dense{Units: 3}, graph.Softmax{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Nodes()[5].Shape; !slices.Equal(got, []int{27}) {
		t.Fatalf("flatten output %v, want [27]", got)
	}
	spec, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := graph.FromSpec(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec2, _ := json.Marshal(back)
	if !bytes.Equal(spec, spec2) {
		t.Fatalf("spec round trip:\n%s\n%s", spec, spec2)
	}
	// Train a few steps so that the running statistics move off 0 and 1.
	m.Init(2)
	tr, err := NewTrainer(m, Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	xs, ts := make([]float32, 8*36), make([]float32, 8*3)
	for i := range xs {
		xs[i] = float32(rng.Float64())
	}
	for i := 0; i < 8; i++ {
		ts[i*3+i%3] = 1
	}
	x := tensor.New(tensor.WithShape(8, 1, 6, 6), tensor.WithBacking(xs))
	if _, err := tr.Epoch(x, tensor.New(tensor.WithShape(8, 3), tensor.WithBacking(ts)), 4, nil); err != nil {
		t.Fatal(err)
	}
	if rm := m.Param("batchnorm1.running_mean").Data().([]float32); rm[0] == 0 {
		t.Fatal("running mean not updated by training")
	}
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, m); err != nil {
		t.Fatal(err)
	}
	re, err := checkpoint.Read(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(re.ParamNames(), m.ParamNames()) {
		t.Fatalf("params %v, want %v", re.ParamNames(), m.ParamNames())
	}
	for _, name := range m.ParamNames() {
		if !slices.Equal(re.Param(name).Data().([]float32), m.Param(name).Data().([]float32)) || re.IsBuffer(name) != m.IsBuffer(name) {
			t.Errorf("%s differs after the round trip", name)
		}
	}
	a, err := graph.NewPredictor(m).Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	b, err := graph.NewPredictor(re).Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Data().([]float32), b.Data().([]float32)) {
		t.Error("reloaded model predicts differently")
	}
	if want := m.TrainableCount() + 2*(3+4); m.ParamCount() != want {
		t.Errorf("ParamCount %d, want trainable + 14 buffer values = %d", m.ParamCount(), want)
	}
}

// Seeded training through Dropout (and graph.BatchNorm) gives the same
// checkpoint bytes twice in one process, on the same model value re-drawn
// with Init (the masks come from the Trainer's generator, seeded by
// Config.Seed, not from state left in the layer); Dropout.Seed plays no
// part, and another Config.Seed gives other masks.
func TestDropoutTrainingReproducible(t *testing.T) {
	x, y, _ := toyData(40)
	m := smallNet(t)
	run := func(seed uint64) []byte {
		m.Init(1)
		tr, err := NewTrainer(m, Config{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := tr.Epoch(x, y, 16, nil); err != nil {
				t.Fatal(err)
			}
		}
		var buf bytes.Buffer
		if err := checkpoint.Write(&buf, m); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	a, b := run(2), run(2)
	if !bytes.Equal(a, b) {
		t.Error("two seeded trainings of one model through dropout differ")
	}
	// The layer's own seed (saved in the spec, so compare the values) is
	// not used by a Trainer.
	values := func() []float32 {
		var all []float32
		for _, name := range m.ParamNames() {
			all = append(all, m.Param(name).Data().([]float32)...)
		}
		return all
	}
	want := values()
	drop := m.Layer("dropout1").(*graph.Dropout)
	drop.Seed = 99
	run(2)
	if !slices.Equal(values(), want) {
		t.Error("Dropout.Seed changed a Trainer's masks")
	}
	drop.Seed = 0
	if bytes.Equal(a, run(3)) {
		t.Error("another Config.Seed gave the same model")
	}
	drop.Rate = 0
	run(2)
	if slices.Equal(values(), want) {
		t.Error("dropout had no effect")
	}
	drop.Rate = 0.3
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }
