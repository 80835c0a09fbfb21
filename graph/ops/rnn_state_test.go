package ops

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestRecurrentFromTorch checks RecurrentFrom's outputs and every gradient
// (weights, biases, h0, c0) against PyTorch's nn.LSTM / nn.GRU run from
// the same h0 (and c0) (testdata/rnn_state_torch.py writes the fixture).
func TestRecurrentFromTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/rnn_state_torch.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		B, T, I, H int
		Cases      map[string]map[string][]float32
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cell Cell
	}{{"lstm", LSTMCell}, {"gru", GRUCell}} {
		d := f.Cases[tc.name]
		gh := tc.cell.Gates() * f.H
		g := gorgonia.NewGraph()
		node := func(name string, shape ...int) *gorgonia.Node {
			c := append([]float32(nil), d[name]...)
			return gorgonia.NewTensor(g, tensor.Float32, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName(name),
				gorgonia.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(c))))
		}
		x := node("x", f.B, f.T, f.I)
		wih, whh := node("weight_ih_l0", gh, f.I), node("weight_hh_l0", gh, f.H)
		bih, bhh := node("bias_ih_l0", gh), node("bias_hh_l0", gh)
		h0 := node("h0", f.B, f.H)
		var c0 *gorgonia.Node
		wrt := []*gorgonia.Node{wih, whh, bih, bhh, h0} // x is a leaf: no dx (Recurrent's own tests cover it)
		if tc.cell == LSTMCell {
			c0 = node("c0", f.B, f.H)
			wrt = append(wrt, c0)
		}
		y, err := RecurrentFrom(tc.cell, x, wih, whh, bih, bhh, h0, c0, false)
		if err != nil {
			t.Fatal(err)
		}
		r := gorgonia.NewConstant(tensor.New(tensor.WithShape(f.B, f.T, f.H), tensor.WithBacking(d["r"])), gorgonia.WithName("r"))
		loss := must1(t)(gorgonia.Sum(must1(t)(gorgonia.HadamardProd(y, r))))
		if _, err := gorgonia.Grad(loss, wrt...); err != nil {
			t.Fatal(err)
		}
		var yv gorgonia.Value
		gorgonia.Read(y, &yv)
		vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(wrt...))
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		check := func(what string, got, want []float32) {
			if len(got) != len(want) {
				t.Fatalf("%s %s: %d values, torch %d", tc.name, what, len(got), len(want))
			}
			worst := 0.0
			for i := range got {
				worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
			}
			if worst > 1e-5 {
				t.Errorf("%s %s: max |tapenet - torch| = %g", tc.name, what, worst)
			}
		}
		check("y", yv.Data().([]float32), d["y"])
		for _, n := range wrt {
			gv, err := n.Grad()
			if err != nil {
				t.Fatal(err)
			}
			check("d"+n.Name(), gv.Data().([]float32), d["d"+n.Name()])
		}
		vm.Close()
	}
}

func TestRecurrentFromErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	n := func(shape ...int) *gorgonia.Node {
		return gorgonia.NewTensor(g, tensor.Float32, len(shape), gorgonia.WithShape(shape...))
	}
	x, wih, whh, b := n(2, 3, 4), n(12, 4), n(12, 4), n(12)
	for _, tc := range []struct {
		name   string
		cell   Cell
		h0, c0 *gorgonia.Node
	}{
		{"no h0", GRUCell, nil, nil},
		{"c0 on a gru", GRUCell, n(2, 4), n(2, 4)},
		{"h0 of the wrong shape", GRUCell, n(2, 5), nil},
	} {
		if _, err := RecurrentFrom(tc.cell, x, wih, whh, b, b, tc.h0, tc.c0, false); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}
