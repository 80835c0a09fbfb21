package graph

import (
	"math"
	"testing"

	"gorgonia.org/tensor"
)

// forward runs layers over x (rows of the given width) and returns the
// output values.
func runLayers(t *testing.T, x []float32, width int, layers ...Layer) []float32 {
	t.Helper()
	m, err := NewSequential([]int{width}, layers...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := NewPredictor(m).Forward(tensor.New(tensor.WithShape(len(x)/width, width), tensor.WithBacking(x)))
	if err != nil {
		t.Fatal(err)
	}
	return out.Data().([]float32)
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }

func TestActivations(t *testing.T) {
	x := []float32{-3, -0.5, 0, 0.5, 2}
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	for _, test := range []struct {
		layer Layer
		want  func(float64) float64
	}{
		{Step{}, func(v float64) float64 { return map[bool]float64{true: 1, false: 0}[v > 0] }},
		{Sigmoid{}, sig},
		{ReLU{}, func(v float64) float64 { return math.Max(0, v) }},
		{Tanh{}, math.Tanh},
		{Identity{}, func(v float64) float64 { return v }},
	} {
		got := runLayers(t, x, len(x), test.layer)
		for i, v := range x {
			if w := test.want(float64(v)); !near(float64(got[i]), w, 1e-6) {
				t.Errorf("%s(%v) = %v, want %v", test.layer.Kind(), v, got[i], w)
			}
		}
	}
}

func TestSoftmax(t *testing.T) {
	e1, e2, e3 := math.Exp(1), math.Exp(2), math.Exp(3)
	s := e1 + e2 + e3
	for _, test := range []struct {
		name  string
		x     []float32
		width int
		want  []float64
	}{
		// Gorgonia's own SoftMax shares one max across rows and gives NaN here.
		{"rows 90 apart", []float32{100, 0, 0, 1, 2, 3}, 3,
			[]float64{1 / (1 + 2*math.Exp(-100)), math.Exp(-100), math.Exp(-100), e1 / s, e2 / s, e3 / s}},
		{"rows 1000 apart", []float32{1000, 0, 0, 1000}, 2, []float64{1, 0, 0, 1}},
		{"book example", []float32{0.3, 2.9, 4.0}, 3, []float64{0.01821127, 0.24519181, 0.73659691}},
		{"overflow guard", []float32{1010, 1000, 990}, 3, []float64{0.99995460, 4.53975e-05, 2.06106e-09}},
	} {
		got := runLayers(t, test.x, test.width, Softmax{})
		for i, w := range test.want {
			if g := float64(got[i]); math.IsNaN(g) || math.Abs(g-w) > 1e-6 {
				t.Errorf("%s: softmax[%d] = %v, want %v", test.name, i, got[i], w)
			}
		}
	}
}

func TestDenseForward(t *testing.T) {
	m, err := NewSequential([]int{3}, &Dense{Units: 2})
	if err != nil {
		t.Fatal(err)
	}
	// x·W + b by hand: [1 2 3]·[[1 2] [3 4] [5 6]] + [0.5 -1] = [22.5 27].
	if err := m.SetParam("fc1.weight", []int{3, 2}, []float32{1, 2, 3, 4, 5, 6}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetParam("fc1.bias", []int{2}, []float32{0.5, -1}); err != nil {
		t.Fatal(err)
	}
	x := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1, 2, 3, 0, -1, 0}))
	out, err := NewPredictor(m).Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{22.5, 27, -2.5, -5}
	for i, v := range out.Data().([]float32) {
		if v != want[i] {
			t.Fatalf("dense output %v, want %v", out.Data(), want)
		}
	}
	if err := m.SetParam("fc1.weight", []int{2, 3}, make([]float32, 6)); err == nil {
		t.Error("SetParam accepted a transposed shape")
	}
}
