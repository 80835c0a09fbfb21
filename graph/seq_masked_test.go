package graph

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// maskedCase is one entry of testdata/seq_masked_torch.json (see
// seq_masked_torch.py): a torchCase with the lengths or the padding mask
// of a padded batch.
type maskedCase struct {
	torchCase
	Lengths []int64  `json:"lengths"`
	BoolMsk [][]bool `json:"mask"`
	States  []state  // h0 and (LSTM) c0, if given
}

// state is an initial state of a case: (batch, H), or (batch, 2, H) for a
// bidirectional layer.
type state struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

func loadMaskedCases(t *testing.T) []maskedCase {
	t.Helper()
	data, err := os.ReadFile("testdata/seq_masked_torch.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []json.RawMessage `json:"cases"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	cases := make([]maskedCase, len(f.Cases))
	for i, raw := range f.Cases {
		// The embedded torchCase's float mask field and ours share a name:
		// decode the two separately.
		var c struct {
			Name, Kind string
			Config     json.RawMessage
			Shape      []int
			X, R, Y    []float64
			Params     map[string]struct {
				Shape []int     `json:"shape"`
				Data  []float64 `json:"data"`
			}
			Grads   map[string][]float64
			Lengths []int64
			Mask    [][]bool
			H0, C0  *state
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		cases[i] = maskedCase{torchCase: torchCase{Name: c.Name, Kind: c.Kind, Config: c.Config, Shape: c.Shape, X: c.X, Params: c.Params, R: c.R, Y: c.Y, Grads: c.Grads},
			Lengths: c.Lengths, BoolMsk: c.Mask}
		for _, st := range []*state{c.H0, c.C0} {
			if st != nil {
				cases[i].States = append(cases[i].States, *st)
			}
		}
	}
	return cases
}

// maskedRun builds the case's layer with PyTorch's weights, applied to x
// and its lengths (int64, per-sample shape ()) or bool padding mask, and
// returns the output and the gradients of sum(y·r).
func maskedRun(t *testing.T, c maskedCase) ([]float32, map[string][]float32) {
	t.Helper()
	l, err := Builtin().Decode(c.Kind, c.Config)
	if err != nil {
		t.Fatal(err)
	}
	b, steps := c.Shape[0], c.Shape[1]
	x := Input("x", c.Shape[1:]...)
	inputs := []*Tensor{x}
	var extra []*tensor.Dense
	for i, st := range c.States {
		inputs = append(inputs, Input([]string{"h0", "c0"}[i], st.Shape[1:]...))
		extra = append(extra, tensor.New(tensor.WithShape(st.Shape...), tensor.WithBacking(f32s(st.Data))))
	}
	switch {
	case c.Lengths != nil:
		inputs = append(inputs, Input("lengths").As(Int64))
		extra = append(extra, tensor.New(tensor.WithShape(b), tensor.WithBacking(append([]int64(nil), c.Lengths...))))
	case c.BoolMsk != nil:
		inputs = append(inputs, Input("mask", steps).As(Bool))
		var flat []bool
		for _, row := range c.BoolMsk {
			flat = append(flat, row...)
		}
		extra = append(extra, tensor.New(tensor.WithShape(b, steps), tensor.WithBacking(flat)))
	}
	args := append([]*Tensor{Apply(copyLayer{}, x)}, inputs[1:]...)
	y := ApplyNamed("layer", l, args...)
	m, err := NewModel(inputs, []*Tensor{y})
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range c.Params {
		if err := m.SetParam("layer."+name, p.Shape, f32s(p.Data)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := m.BuildWith(b, BuildOptions{Training: true})
	if err != nil {
		t.Fatal(err)
	}
	out := p.Output()
	r := gorgonia.NewConstant(tensor.New(tensor.WithShape(out.Shape().Clone()...), tensor.WithBacking(f32s(c.R))), gorgonia.WithName("r"))
	prod, err := gorgonia.HadamardProd(out, r)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := gorgonia.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	wrt := append([]*gorgonia.Node{p.Input()}, p.Learnables...)
	wrt = append(wrt, p.Inputs[1:1+len(c.States)]...)
	if _, err := gorgonia.Grad(loss, wrt...); err != nil {
		t.Fatal(err)
	}
	var yv gorgonia.Value
	gorgonia.Read(out, &yv)
	if err := gorgonia.Let(p.Input(), tensor.New(tensor.WithShape(c.Shape...), tensor.WithBacking(f32s(c.X)))); err != nil {
		t.Fatal(err)
	}
	for i, v := range extra {
		if err := gorgonia.Let(p.Inputs[1+i], v); err != nil {
			t.Fatal(err)
		}
	}
	vm := gorgonia.NewTapeMachine(p.Graph, gorgonia.BindDualValues(p.Learnables...))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	ys := append([]float32(nil), yv.Data().([]float32)...)
	grads := map[string][]float32{}
	for _, n := range wrt {
		g, err := n.Grad()
		if err != nil {
			t.Fatalf("gradient of %s: %v", n.Name(), err)
		}
		name := strings.TrimPrefix(n.Name(), "layer.")
		for i, in := range p.Inputs {
			if n == in {
				name = []string{"x", "h0", "c0"}[i]
			}
		}
		grads[name] = append([]float32(nil), g.Data().([]float32)...)
	}
	return ys, grads
}

// TestMaskedSeqMatchTorch checks bidirectional and padded-batch recurrent
// layers and MaskedMean against PyTorch's packed sequences (float64).
func TestMaskedSeqMatchTorch(t *testing.T) {
	cases := loadMaskedCases(t)
	if len(cases) < 29 {
		t.Fatalf("%d cases, want 29", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			y, grads := maskedRun(t, c)
			const tol = 2e-5
			d := maxDiff(y, c.Y)
			if d > tol {
				t.Errorf("forward: max difference %.3g from PyTorch", d)
			}
			worst := 0.0
			for name, want := range c.Grads {
				got, ok := grads[name]
				if !ok {
					t.Errorf("no gradient for %s", name)
					continue
				}
				gd := maxDiff(got, want)
				worst = math.Max(worst, gd)
				if gd > 4*tol {
					t.Errorf("gradient of %s: max difference %.3g from PyTorch", name, gd)
				}
			}
			t.Logf("%s: max difference from PyTorch: forward %.2g, gradients %.2g", c.Name, d, worst)
		})
	}
}
