package graph

import (
	"math"
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
