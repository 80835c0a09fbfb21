package train

import (
	"math"
	"testing"

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

// The fused optimizers follow Gorgonia's solvers step for step.
func TestOptimizersMatchGorgonia(t *testing.T) {
	w0 := []float32{0.1, -0.2, 0.3, 0.05, -0.4, 0.25}
	for _, test := range []struct {
		kind string
		ref  gorgonia.Solver
	}{
		{"sgd", gorgonia.NewVanillaSolver(gorgonia.WithLearnRate(0.05))},
		{"momentum", gorgonia.NewMomentum(gorgonia.WithLearnRate(0.05), gorgonia.WithMomentum(0.9))},
		{"adam", gorgonia.NewAdamSolver(gorgonia.WithLearnRate(0.05))},
	} {
		ours := newOptimizer(test.kind, 0.05, 0.9)
		vmA, wA := quadratic(t, w0)
		vmB, wB := quadratic(t, w0)
		for step := range 20 {
			for _, run := range []struct {
				vm gorgonia.VM
				w  *gorgonia.Node
				s  gorgonia.Solver
			}{{vmA, wA, test.ref}, {vmB, wB, ours}} {
				run.vm.Reset()
				if err := run.vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				if err := run.s.Step(gorgonia.NodesToValueGrads(gorgonia.Nodes{run.w})); err != nil {
					t.Fatal(err)
				}
			}
			a := wA.Value().Data().([]float32)
			b := wB.Value().Data().([]float32)
			for i := range a {
				if math.Abs(float64(a[i]-b[i])) > 1e-5 {
					t.Fatalf("%s step %d: w[%d] = %v, Gorgonia's solver gives %v", test.kind, step, i, b[i], a[i])
				}
			}
		}
	}
}

// The vector (AVX2) and scalar paths of the optimizers agree.
func TestOptimizerVectorPath(t *testing.T) {
	const n = 1003 // 125 vectors and a tail of 3
	for _, kind := range []string{"sgd", "momentum", "adam"} {
		w := make([]float32, n)
		g := make([]float32, n)
		for i := range w {
			w[i] = float32(i%17)*0.1 - 0.8
			g[i] = float32(i%11)*0.02 - 0.1
		}
		vec := tensor.New(tensor.WithShape(n), tensor.WithBacking(append([]float32(nil), w...)))
		ref := append([]float32(nil), w...)
		o := newOptimizer(kind, 0.01, 0.9)
		mRef, vRef := make([]float32, n), make([]float32, n)
		for step := 1; step <= 3; step++ {
			grad := tensor.New(tensor.WithShape(n), tensor.WithBacking(append([]float32(nil), g...)))
			if err := o.Step([]gorgonia.ValueGrad{valueGrad{vec, grad}}); err != nil {
				t.Fatal(err)
			}
			if got := grad.Data().([]float32); got[0] != 0 || got[n-1] != 0 {
				t.Fatalf("%s: gradient not cleared", kind)
			}
			c1 := float32(1 / (1 - math.Pow(0.9, float64(step))))
			c2 := float32(1 / (1 - math.Pow(0.999, float64(step))))
			for i := range ref {
				switch kind {
				case "sgd":
					ref[i] -= 0.01 * g[i]
				case "momentum":
					mRef[i] = mRef[i]*0.9 - 0.01*g[i]
					ref[i] += mRef[i]
				case "adam":
					mRef[i] = mRef[i]*0.9 + g[i]*0.1
					vRef[i] = vRef[i]*0.999 + g[i]*g[i]*0.001
					ref[i] -= 0.01 * (mRef[i] * c1) / (float32(math.Sqrt(float64(vRef[i]*c2))) + 1e-8)
				}
			}
		}
		for i, v := range vec.Data().([]float32) {
			if math.Abs(float64(v-ref[i])) > 1e-6 {
				t.Fatalf("%s: w[%d] = %v, scalar reference %v", kind, i, v, ref[i])
			}
		}
	}
}

type valueGrad struct{ v, g *tensor.Dense }

func (vg valueGrad) Value() gorgonia.Value         { return vg.v }
func (vg valueGrad) Grad() (gorgonia.Value, error) { return vg.g, nil }
