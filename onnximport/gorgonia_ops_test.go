package onnximport

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gradCheck compares Gorgonia's gradients of sum(f(xs)·w), w fixed random
// weights, with central differences, for inputs of the given values.
func gradCheck(t *testing.T, shape tensor.Shape, values [][]float32, f func(xs []*gorgonia.Node) (*gorgonia.Node, error)) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	w := make([]float32, shape.TotalSize())
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	// loss evaluates the forward pass (and, with grads, the gradients).
	loss := func(vals [][]float32, grads bool) (float64, [][]float32) {
		g := gorgonia.NewGraph()
		var xs []*gorgonia.Node
		for k, v := range vals {
			xs = append(xs, gorgonia.NewTensor(g, tensor.Float32, shape.Dims(), gorgonia.WithShape(shape...),
				gorgonia.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), v...)))), gorgonia.WithName(string(rune('a'+k)))))
		}
		y, err := f(xs)
		if err != nil {
			t.Fatal(err)
		}
		wn := gorgonia.NewConstant(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), w...))))
		p, err := gorgonia.HadamardProd(y, wn)
		if err != nil {
			t.Fatal(err)
		}
		cost, err := gorgonia.Sum(p)
		if err != nil {
			t.Fatal(err)
		}
		if grads {
			if _, err := gorgonia.Grad(cost, xs...); err != nil {
				t.Fatal(err)
			}
		}
		vm := gorgonia.NewTapeMachine(g)
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		c := float64(cost.Value().Data().(float32))
		var gs [][]float32
		if grads {
			for _, x := range xs {
				gv, err := x.Grad()
				if err != nil {
					t.Fatal(err)
				}
				gs = append(gs, append([]float32(nil), gv.Data().([]float32)...))
			}
		}
		return c, gs
	}
	_, analytic := loss(values, true)
	const h = 1e-2
	for k := range values {
		for i := range values[k] {
			plus := clone2(values)
			plus[k][i] += h
			minus := clone2(values)
			minus[k][i] -= h
			lp, _ := loss(plus, false)
			lm, _ := loss(minus, false)
			num := (lp - lm) / (2 * h)
			if a := float64(analytic[k][i]); math.Abs(a-num) > 2e-2*(1+math.Abs(num)) {
				t.Errorf("input %d element %d: gradient %v, central difference %v", k, i, a, num)
			}
		}
	}
}

func clone2(v [][]float32) [][]float32 {
	out := make([][]float32, len(v))
	for k := range v {
		out[k] = append([]float32(nil), v[k]...)
	}
	return out
}

func TestGradients(t *testing.T) {
	shape := tensor.Shape{2, 3}
	a := []float32{0.5, -1.2, 2.0, -0.3, 0.9, 1.4}
	b := []float32{1.5, 2.2, -1.0, 0.8, -2.5, 3.0}
	t.Run("div", func(t *testing.T) {
		gradCheck(t, shape, [][]float32{a, b}, func(xs []*gorgonia.Node) (*gorgonia.Node, error) { return divide(xs[0], xs[1]) })
	})
	t.Run("leakyrelu", func(t *testing.T) {
		gradCheck(t, shape, [][]float32{a}, func(xs []*gorgonia.Node) (*gorgonia.Node, error) { return leakyReLU(xs[0], 0.1) })
	})
	t.Run("binary div broadcast", func(t *testing.T) {
		gradCheck(t, shape, [][]float32{a}, func(xs []*gorgonia.Node) (*gorgonia.Node, error) {
			p := gorgonia.NewTensor(xs[0].Graph(), tensor.Float32, 1, gorgonia.WithShape(3), gorgonia.WithName("p"),
				gorgonia.WithValue(tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{2, -4, 0.5}))))
			return broadcastOp("div", p, xs[0])
		})
	})
	t.Run("logsoftmax inner axis", func(t *testing.T) {
		gradCheck(t, shape, [][]float32{a}, func(xs []*gorgonia.Node) (*gorgonia.Node, error) {
			return (&Softmax{Axis: 0, Log: true}).Forward(nil, xs[0])
		})
	})
}

// Special values follow IEEE 754, as in ONNX Runtime: x/0 is ±Inf by the
// sign of x, 0/0 NaN; the leaky rectifier keeps infinities.
func TestSpecialValues(t *testing.T) {
	inf := float32(math.Inf(1))
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 1, gorgonia.WithShape(4), gorgonia.WithValue(tensor.New(tensor.WithShape(4), tensor.WithBacking([]float32{1, -1, 0, -inf}))), gorgonia.WithName("x"))
	z := gorgonia.NewTensor(g, tensor.Float32, 1, gorgonia.WithShape(4), gorgonia.WithValue(tensor.New(tensor.WithShape(4), tensor.WithBacking([]float32{0, 0, 0, 1}))), gorgonia.WithName("z"))
	q, err := divide(x, z)
	if err != nil {
		t.Fatal(err)
	}
	l, err := leakyReLU(x, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	qv := q.Value().Data().([]float32)
	if !(qv[0] == inf && qv[1] == -inf && math.IsNaN(float64(qv[2])) && qv[3] == -inf) {
		t.Errorf("[1 -1 0 -Inf] / [0 0 0 1] = %v", qv)
	}
	if lv := l.Value().Data().([]float32); !(lv[0] == 1 && lv[1] == -0.5 && lv[2] == 0 && lv[3] == -inf) {
		t.Errorf("leaky [1 -1 0 -Inf] = %v", lv)
	}
}
