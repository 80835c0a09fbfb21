package graph

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// run builds a model over samples of shape in, sets the given parameters,
// and returns its output (inference, or one training-graph forward pass)
// for x.
func run(t *testing.T, in []int, x []float32, params map[string][]float32, layers ...Layer) *tensor.Dense {
	t.Helper()
	m, err := NewSequential(in, layers...)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range params {
		if err := m.SetParam(name, m.Param(name).Shape(), v); err != nil {
			t.Fatal(err)
		}
	}
	per := 1
	for _, d := range in {
		per *= d
	}
	out, err := NewPredictor(m).Forward(tensor.New(tensor.WithShape(append([]int{len(x) / per}, in...)...), tensor.WithBacking(x)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func seq(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i + 1)
	}
	return s
}

func TestSpatialLayersForward(t *testing.T) {
	for _, test := range []struct {
		name   string
		in     []int
		x      []float32
		params map[string][]float32
		layer  Layer
		shape  []int
		want   []float32
	}{
		{
			// 3x3 input 1..9, 2x2 kernel of ones, bias 0.5: window sums + 0.5.
			name: "conv 2x2 ones", in: []int{1, 3, 3}, x: seq(9),
			params: map[string][]float32{"conv2d1.weight": {1, 1, 1, 1}, "conv2d1.bias": {0.5}},
			layer:  &Conv2D{Filters: 1, Kernel: 2}, shape: []int{1, 1, 2, 2},
			want: []float32{12.5, 16.5, 24.5, 28.5},
		},
		{
			// Cross-correlation, not convolution: the kernel [[1 0] [0 -1]] is
			// not flipped: x[i][j] - x[i+1][j+1] = -4 everywhere.
			name: "conv not flipped", in: []int{1, 3, 3}, x: seq(9),
			params: map[string][]float32{"conv2d1.weight": {1, 0, 0, -1}},
			layer:  &Conv2D{Filters: 1, Kernel: 2}, shape: []int{1, 1, 2, 2},
			want: []float32{-4, -4, -4, -4},
		},
		{
			// Padding 1, stride 2 over 3x3 with a 3x3 kernel of ones: the
			// windows centred on the corners sum 4 values each.
			name: "conv pad 1 stride 2", in: []int{1, 3, 3}, x: seq(9),
			params: map[string][]float32{"conv2d1.weight": {1, 1, 1, 1, 1, 1, 1, 1, 1}},
			layer:  &Conv2D{Filters: 1, Kernel: 3, Stride: 2, Padding: 1}, shape: []int{1, 1, 2, 2},
			want: []float32{1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9},
		},
		{
			// Two input channels, two filters, 1x1 kernel: a per-pixel matrix
			// product; weight (out, in, 1, 1) = [[1 10] [-1 0]], bias [0 3].
			name: "conv channels", in: []int{2, 1, 2}, x: []float32{1, 2, 3, 4},
			params: map[string][]float32{"conv2d1.weight": {1, 10, -1, 0}, "conv2d1.bias": {0, 3}},
			layer:  &Conv2D{Filters: 2, Kernel: 1}, shape: []int{1, 2, 1, 2},
			want: []float32{1 + 30, 2 + 40, -1 + 3, -2 + 3},
		},
		{
			name: "maxpool 2x2", in: []int{1, 4, 4}, x: []float32{1, 5, 2, 0, 3, 4, 8, 1, -1, -2, -3, -4, -5, -6, -7, -0.5},
			layer: &MaxPool2D{}, shape: []int{1, 1, 2, 2}, want: []float32{5, 8, -1, -0.5},
		},
		{
			name: "maxpool 3 stride 1", in: []int{1, 3, 4}, x: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0},
			layer: &MaxPool2D{Kernel: 3, Stride: 1}, shape: []int{1, 1, 1, 2}, want: []float32{11, 11},
		},
		{
			// Padding never wins: all values negative.
			name: "maxpool padded", in: []int{1, 2, 2}, x: []float32{-1, -2, -3, -4},
			layer: &MaxPool2D{Kernel: 2, Stride: 2, Padding: 1}, shape: []int{1, 1, 2, 2}, want: []float32{-1, -2, -3, -4},
		},
		{
			name: "maxpool per channel", in: []int{2, 2, 2}, x: []float32{1, 2, 3, 4, 8, 7, 6, 5},
			layer: &MaxPool2D{}, shape: []int{1, 2, 1, 1}, want: []float32{4, 8},
		},
		{
			name: "flatten", in: []int{2, 2, 3}, x: seq(24), layer: Flatten{}, shape: []int{2, 12}, want: seq(24),
		},
		{
			name: "dropout is identity in inference", in: []int{5}, x: seq(10), layer: &Dropout{Rate: 0.5},
			shape: []int{2, 5}, want: seq(10),
		},
		{
			// Inference uses the running statistics: (x - 1)/sqrt(4 + 0)·2 + 1.
			name: "batchnorm inference", in: []int{2}, x: []float32{1, 3, 5, 7},
			params: map[string][]float32{"batchnorm1.weight": {2, 1}, "batchnorm1.bias": {1, 0},
				"batchnorm1.running_mean": {1, 3}, "batchnorm1.running_var": {4, 1}},
			layer: &BatchNorm{Epsilon: 1e-12}, shape: []int{2, 2}, want: []float32{1, 0, 5, 4},
		},
		{
			name: "batchnorm 4-d inference per channel", in: []int{2, 1, 2}, x: []float32{1, 2, 3, 4},
			params: map[string][]float32{"batchnorm1.weight": {1, 1}, "batchnorm1.running_mean": {1, 4}, "batchnorm1.running_var": {1, 4}},
			layer:  &BatchNorm{Epsilon: 1e-12}, shape: []int{1, 2, 1, 2}, want: []float32{0, 1, -0.5, 0},
		},
	} {
		t.Run(test.name, func(t *testing.T) {
			out := run(t, test.in, test.x, test.params, test.layer)
			if !slices.Equal([]int(out.Shape()), test.shape) {
				t.Fatalf("shape %v, want %v", out.Shape(), test.shape)
			}
			for i, v := range out.Data().([]float32) {
				if !near(float64(v), float64(test.want[i]), 1e-5) {
					t.Fatalf("output %v, want %v", out.Data(), test.want)
				}
			}
		})
	}
}

func TestSpatialShapeErrors(t *testing.T) {
	for _, test := range []struct {
		in    []int
		layer Layer
	}{
		{[]int{784}, &Conv2D{Filters: 2, Kernel: 3}},
		{[]int{1, 2, 2}, &Conv2D{Filters: 2, Kernel: 3}},
		{[]int{1, 4, 4}, &Conv2D{Filters: 0, Kernel: 3}},
		{[]int{1, 4, 4}, &Conv2D{Filters: 1, Kernel: 0}},
		{[]int{10}, &MaxPool2D{}},
		{[]int{1, 4, 4}, &MaxPool2D{Kernel: 2, Padding: 2}},
		{[]int{4}, &Dropout{Rate: 1}},
		{[]int{2, 3}, &BatchNorm{}},
	} {
		if _, err := NewSequential(test.in, test.layer); err == nil {
			t.Errorf("%s %+v on %v: no error", test.layer.Kind(), test.layer, test.in)
		}
	}
}

// TestBatchNormTraining checks a training pass: batch statistics in the
// output and the running statistics' update.
func TestBatchNormTraining(t *testing.T) {
	m, err := NewSequential([]int{2}, &BatchNorm{Epsilon: 1e-12, Momentum: 0.5}, Identity{})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	p, err := m.BuildWith(4, BuildOptions{Training: true})
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
		layers []Layer
	}{
		{"conv pad stride/maxpool/dense", []int{2, 5, 5}, []Layer{
			&Conv2D{Filters: 3, Kernel: 3, Stride: 2, Padding: 1, Init: "xavier"}, Tanh{},
			&MaxPool2D{}, Flatten{}, &Dense{Units: 3, Init: "xavier"}, Softmax{}}},
		{"conv/relu/maxpool overlapping", []int{1, 6, 6}, []Layer{
			&Conv2D{Filters: 2, Kernel: 2}, ReLU{}, &MaxPool2D{Kernel: 3, Stride: 2},
			&Dense{Units: 3, Init: "xavier"}, Softmax{}}},
		{"batchnorm 2-d", []int{4}, []Layer{
			&Dense{Units: 5, Init: "xavier"}, &BatchNorm{}, Tanh{}, &Dense{Units: 3, Init: "xavier"}, Softmax{}}},
		{"batchnorm 4-d", []int{2, 3, 3}, []Layer{
			&Conv2D{Filters: 2, Kernel: 2, Init: "xavier"}, &BatchNorm{}, Tanh{}, Flatten{}, &Dense{Units: 3, Init: "xavier"}, Softmax{}}},
	} {
		t.Run(test.name, func(t *testing.T) {
			m, err := NewSequential(test.in, test.layers...)
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
func numericalCheck(t *testing.T, m *Model, batch int) {
	t.Helper()
	tr, err := NewTrainer(m, TrainConfig{Optimizer: "sgd"})
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

func TestDropoutTraining(t *testing.T) {
	const n, rate = 4000, 0.25
	masks := func(seed uint64) [][]float32 {
		m, err := NewSequential([]int{n}, &Dropout{Rate: rate, Seed: seed}, Identity{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.BuildWith(1, BuildOptions{Training: true})
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = 2
		}
		var out [][]float32
		vm := gorgonia.NewTapeMachine(p.Graph)
		for range 2 {
			vm.Reset()
			if err := gorgonia.Let(p.Input(), tensor.New(tensor.WithShape(1, n), tensor.WithBacking(x))); err != nil {
				t.Fatal(err)
			}
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			out = append(out, slices.Clone(p.Output().Value().Data().([]float32)))
		}
		return out
	}
	a, b, c := masks(1), masks(1), masks(2)
	zeros := 0
	for _, v := range a[0] {
		switch v {
		case 0:
			zeros++
		case 2 / (1 - rate):
		default:
			t.Fatalf("dropout output %v: want 0 or x/(1-rate)", v)
		}
	}
	if f := float64(zeros) / n; math.Abs(f-rate) > 0.03 {
		t.Errorf("dropped %.3f of the values, want about %v", f, rate)
	}
	if !slices.Equal(a[0], b[0]) || !slices.Equal(a[1], b[1]) {
		t.Error("the same seed gave different masks")
	}
	if slices.Equal(a[0], a[1]) || slices.Equal(a[0], c[0]) {
		t.Error("masks repeat across runs or seeds")
	}
}

// TestDropoutGradient checks that the gradient flows through the kept
// values only, scaled like them.
func TestDropoutGradient(t *testing.T) {
	m, err := NewSequential([]int{6}, &Dense{Units: 8}, &Dropout{Rate: 0.5, Seed: 3}, Identity{})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	p, err := m.BuildWith(1, BuildOptions{Training: true})
	if err != nil {
		t.Fatal(err)
	}
	var zv, outv gorgonia.Value
	gorgonia.Read(p.Nodes[0], &zv)   // dense output
	gorgonia.Read(p.Nodes[1], &outv) // after dropout
	sq, err := gorgonia.Square(p.Output())
	if err != nil {
		t.Fatal(err)
	}
	loss, err := gorgonia.Mean(sq)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gorgonia.Grad(loss, p.Learnables...); err != nil {
		t.Fatal(err)
	}
	if err := gorgonia.Let(p.Input(), tensor.New(tensor.WithShape(1, 6), tensor.WithBacking([]float32{1, 0, 0, 0, 0, 0}))); err != nil {
		t.Fatal(err)
	}
	if err := gorgonia.NewTapeMachine(p.Graph, gorgonia.BindDualValues(p.Learnables...)).RunAll(); err != nil {
		t.Fatal(err)
	}
	z, out := zv.Data().([]float32), outv.Data().([]float32)
	g, err := p.Learnables[1].Grad() // fc1.bias
	if err != nil {
		t.Fatal(err)
	}
	// loss = mean((mask·z)²) over 8 values: d/dz = 2·mask²·z/8 = 2·out·mask/8.
	for j, gv := range g.Data().([]float32) {
		mask := float64(0)
		if out[j] != 0 {
			mask = float64(out[j] / z[j])
		}
		if want := 2 * float64(out[j]) * mask / 8; !near(float64(gv), want, 1e-5) {
			t.Errorf("bias gradient[%d] = %v, want %v (mask %v)", j, gv, want, mask)
		}
	}
}

func TestSpatialSpecAndCheckpointRoundTrip(t *testing.T) {
	m, err := NewSequential([]int{1, 6, 6},
		&Conv2D{Filters: 3, Kernel: 3, Padding: 1}, &BatchNorm{Momentum: 0.2}, ReLU{},
		&MaxPool2D{Kernel: 2}, &Dropout{Rate: 0.3, Seed: 9}, Flatten{},
		&Dense{Units: 4}, &BatchNorm{}, ReLU{}, &Dense{Units: 3}, Softmax{})
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
	back, err := FromSpec(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec2, _ := json.Marshal(back)
	if !bytes.Equal(spec, spec2) {
		t.Fatalf("spec round trip:\n%s\n%s", spec, spec2)
	}
	// Train a few steps so that the running statistics move off 0 and 1.
	m.Init(2)
	tr, err := NewTrainer(m, TrainConfig{Seed: 1})
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
	if err := WriteCheckpoint(&buf, m); err != nil {
		t.Fatal(err)
	}
	re, err := ReadCheckpoint(&buf, nil)
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
	a, err := NewPredictor(m).Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewPredictor(re).Forward(x)
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

// Seeded training through Dropout (and BatchNorm) gives the same model
// twice: masks come from the layer's seeded generator, not the clock.
func TestDropoutTrainingReproducible(t *testing.T) {
	train := func() []float32 {
		m, err := NewSequential([]int{6}, &Dense{Units: 8}, &BatchNorm{}, ReLU{}, &Dropout{Rate: 0.3, Seed: 1}, &Dense{Units: 3}, Softmax{})
		if err != nil {
			t.Fatal(err)
		}
		m.Init(1)
		tr, err := NewTrainer(m, TrainConfig{Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		xs, ts := make([]float32, 40*6), make([]float32, 40*3)
		for i := range xs {
			xs[i] = float32(rng.NormFloat64())
		}
		for i := 0; i < 40; i++ {
			ts[i*3+rng.IntN(3)] = 1
		}
		for range 2 {
			if _, err := tr.Epoch(tensor.New(tensor.WithShape(40, 6), tensor.WithBacking(xs)), tensor.New(tensor.WithShape(40, 3), tensor.WithBacking(ts)), 16, nil); err != nil {
				t.Fatal(err)
			}
		}
		var all []float32
		for _, name := range m.ParamNames() {
			all = append(all, m.Param(name).Data().([]float32)...)
		}
		return all
	}
	if !slices.Equal(train(), train()) {
		t.Error("two seeded trainings through dropout differ")
	}
}
