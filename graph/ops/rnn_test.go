package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// composedLSTM builds nn.LSTM's cell from Gorgonia's own ops, step by
// step, over x (B, T, I), and returns each step's state (B, H).
func composedLSTM(t *testing.T, x, wih, whh, bih, bhh *gorgonia.Node, steps, h int) []*gorgonia.Node {
	t.Helper()
	must := func(n *gorgonia.Node, err error) *gorgonia.Node {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	wihT := must(gorgonia.Transpose(wih))
	whhT := must(gorgonia.Transpose(whh))
	var hp, cp *gorgonia.Node
	var out []*gorgonia.Node
	for s := 0; s < steps; s++ {
		xt := must(gorgonia.Slice(x, nil, gorgonia.S(s), nil))
		a := must(gorgonia.BroadcastAdd(must(gorgonia.Mul(xt, wihT)), bih, nil, []byte{0}))
		a = must(gorgonia.BroadcastAdd(a, bhh, nil, []byte{0}))
		if hp != nil {
			a = must(gorgonia.Add(a, must(gorgonia.Mul(hp, whhT))))
		}
		gate := func(k int) *gorgonia.Node { return must(gorgonia.Slice(a, nil, gorgonia.S(k*h, (k+1)*h))) }
		i, f, g, o := must(gorgonia.Sigmoid(gate(0))), must(gorgonia.Sigmoid(gate(1))), must(gorgonia.Tanh(gate(2))), must(gorgonia.Sigmoid(gate(3)))
		c := must(gorgonia.HadamardProd(i, g))
		if cp != nil {
			c = must(gorgonia.Add(must(gorgonia.HadamardProd(f, cp)), c))
		}
		hp = must(gorgonia.HadamardProd(o, must(gorgonia.Tanh(c))))
		cp = c
		out = append(out, hp)
	}
	return out
}

// TestRecurrentMatchesComposedGraph: the fused LSTM op and the same cell
// composed of Gorgonia's ops give the same states and weight gradients
// (loss Σ r·h over every step).
func TestRecurrentMatchesComposedGraph(t *testing.T) {
	const b, steps, in, h = 3, 4, 5, 6
	rng := rand.New(rand.NewPCG(1, 2))
	vals := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.5)
		}
		return v
	}
	xv, wihv, whhv, bihv, bhhv, rv := vals(b*steps*in), vals(4*h*in), vals(4*h*h), vals(4*h), vals(4*h), vals(b*steps*h)
	type result struct{ y, dwih, dwhh, dbih []float32 }
	run := func(fused bool) result {
		g := gorgonia.NewGraph()
		node := func(name string, v []float32, shape ...int) *gorgonia.Node {
			c := append([]float32(nil), v...)
			return gorgonia.NewTensor(g, tensor.Float32, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName(name),
				gorgonia.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(c))))
		}
		x := node("x", xv, b, steps, in)
		wih, whh := node("wih", wihv, 4*h, in), node("whh", whhv, 4*h, h)
		bih, bhh := node("bih", bihv, 4*h), node("bhh", bhhv, 4*h)
		var ys []*gorgonia.Node
		if fused {
			y, err := Recurrent(LSTMCell, x, wih, whh, bih, bhh, false)
			if err != nil {
				t.Fatal(err)
			}
			for s := 0; s < steps; s++ {
				ys = append(ys, must1(t)(gorgonia.Slice(y, nil, gorgonia.S(s), nil)))
			}
		} else {
			ys = composedLSTM(t, x, wih, whh, bih, bhh, steps, h)
		}
		var loss *gorgonia.Node
		for s, y := range ys {
			rs := make([]float32, b*h)
			for i := 0; i < b; i++ {
				copy(rs[i*h:(i+1)*h], rv[(i*steps+s)*h:(i*steps+s+1)*h])
			}
			r := gorgonia.NewConstant(tensor.New(tensor.WithShape(b, h), tensor.WithBacking(rs)), gorgonia.WithName("r"+string(rune('0'+s))))
			term := must1(t)(gorgonia.Sum(must1(t)(gorgonia.HadamardProd(y, r))))
			if loss == nil {
				loss = term
			} else {
				loss = must1(t)(gorgonia.Add(loss, term))
			}
		}
		if _, err := gorgonia.Grad(loss, wih, whh, bih); err != nil {
			t.Fatal(err)
		}
		outs := make([]gorgonia.Value, steps)
		for s := range ys {
			gorgonia.Read(ys[s], &outs[s])
		}
		vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(wih, whh, bih))
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		var res result
		for _, o := range outs {
			res.y = append(res.y, o.Data().([]float32)...)
		}
		for i, n := range []*gorgonia.Node{wih, whh, bih} {
			gv, err := n.Grad()
			if err != nil {
				t.Fatal(err)
			}
			d := append([]float32(nil), gv.Data().([]float32)...)
			switch i {
			case 0:
				res.dwih = d
			case 1:
				res.dwhh = d
			default:
				res.dbih = d
			}
		}
		return res
	}
	fused, composed := run(true), run(false)
	for _, c := range []struct {
		name string
		a, b []float32
	}{{"states", fused.y, composed.y}, {"dW_ih", fused.dwih, composed.dwih}, {"dW_hh", fused.dwhh, composed.dwhh}, {"db_ih", fused.dbih, composed.dbih}} {
		if len(c.a) != len(c.b) {
			t.Fatalf("%s: %d and %d values", c.name, len(c.a), len(c.b))
		}
		d := 0.0
		for i := range c.a {
			d = math.Max(d, math.Abs(float64(c.a[i]-c.b[i])))
		}
		if d > 2e-6 {
			t.Errorf("%s: fused and composed differ by %.3g", c.name, d)
		}
		t.Logf("%s: max difference fused vs composed %.2g", c.name, d)
	}
}

func must1(t *testing.T) func(*gorgonia.Node, error) *gorgonia.Node {
	return func(n *gorgonia.Node, err error) *gorgonia.Node {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
}
