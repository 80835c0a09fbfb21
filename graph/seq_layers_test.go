package graph

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/graph/ops"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// torchCase is one entry of testdata/seq_torch.json (see seq_torch.py).
type torchCase struct {
	Name   string          `json:"name"`
	Kind   string          `json:"kind"`
	Config json.RawMessage `json:"config"`
	Shape  []int           `json:"shape"`
	X      []float64       `json:"x"`
	Params map[string]struct {
		Shape []int     `json:"shape"`
		Data  []float64 `json:"data"`
	} `json:"params"`
	Mask  []float64            `json:"mask"`
	R     []float64            `json:"r"`
	Y     []float64            `json:"y"`
	Grads map[string][]float64 `json:"grads"`
}

func loadTorchCases(t *testing.T) []torchCase {
	t.Helper()
	data, err := os.ReadFile("testdata/seq_torch.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []torchCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f.Cases
}

func f32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func maxDiff(got []float32, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range got {
		d = math.Max(d, math.Abs(float64(got[i])-want[i]))
	}
	return d
}

// torchRun builds the case's layer with PyTorch's weights, runs it on the
// case's input and returns the output, the gradient of sum(y·r) for x (nil
// for ids) and for each parameter.
func torchRun(t *testing.T, c torchCase) ([]float32, map[string][]float32) {
	t.Helper()
	l, err := Builtin().Decode(c.Kind, c.Config)
	if err != nil {
		t.Fatal(err)
	}
	_, xgrad := c.Grads["x"]
	x := Input("x", c.Shape[1:]...)
	inputs := []*Tensor{x}
	h := x
	if xgrad { // a copy first, so that x is not a leaf and its gradient is computed
		h = Apply(copyLayer{}, x)
	}
	if c.Mask != nil {
		mask := Input("mask", c.Shape[1])
		inputs = append(inputs, mask)
		h = ApplyNamed("layer", l, h, mask)
	} else {
		h = ApplyNamed("layer", l, h)
	}
	m, err := NewModel(inputs, []*Tensor{h})
	if err != nil {
		t.Fatal(err)
	}
	prefix := "layer."
	for name, p := range c.Params {
		if err := m.SetParam(prefix+name, p.Shape, f32s(p.Data)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := m.BuildWith(c.Shape[0], BuildOptions{Training: true})
	if err != nil {
		t.Fatal(err)
	}
	y := p.Output()
	r := gorgonia.NewConstant(tensor.New(tensor.WithShape(y.Shape().Clone()...), tensor.WithBacking(f32s(c.R))), gorgonia.WithName("r"))
	prod, err := gorgonia.HadamardProd(y, r)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := gorgonia.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	wrt := append([]*gorgonia.Node{}, p.Learnables...)
	if xgrad {
		wrt = append(wrt, p.Input())
	}
	if _, err := gorgonia.Grad(loss, wrt...); err != nil {
		t.Fatal(err)
	}
	var yv gorgonia.Value
	gorgonia.Read(y, &yv)
	if err := gorgonia.Let(p.Input(), tensor.New(tensor.WithShape(c.Shape...), tensor.WithBacking(f32s(c.X)))); err != nil {
		t.Fatal(err)
	}
	if c.Mask != nil {
		if err := gorgonia.Let(p.Inputs[1], tensor.New(tensor.WithShape(c.Shape[:2]...), tensor.WithBacking(f32s(c.Mask)))); err != nil {
			t.Fatal(err)
		}
	}
	vm := gorgonia.NewTapeMachine(p.Graph, gorgonia.BindDualValues(p.Learnables...))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	out := append([]float32(nil), yv.Data().([]float32)...)
	grads := map[string][]float32{}
	for _, n := range wrt {
		g, err := n.Grad()
		if err != nil {
			t.Fatalf("gradient of %s: %v", n.Name(), err)
		}
		name := strings.TrimPrefix(n.Name(), prefix)
		if n == p.Input() {
			name = "x"
		}
		grads[name] = append([]float32(nil), g.Data().([]float32)...)
	}
	return out, grads
}

// TestSeqLayersMatchTorch checks every sequence layer's output and
// gradients against PyTorch's (float64) for the same weights and inputs.
func TestSeqLayersMatchTorch(t *testing.T) {
	for _, c := range loadTorchCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			y, grads := torchRun(t, c)
			const tol = 2e-5
			d := maxDiff(y, c.Y)
			worst := 0.0
			if d > tol {
				t.Errorf("forward: max difference %.3g from PyTorch", d)
			}
			for name, want := range c.Grads {
				got, ok := grads[name]
				if !ok {
					t.Errorf("no gradient for %s", name)
					continue
				}
				gd := maxDiff(got, want)
				worst = math.Max(worst, gd)
				if gd > tol*4 {
					t.Errorf("gradient of %s: max difference %.3g from PyTorch", name, gd)
				}
			}
			t.Logf("%s: max difference from PyTorch: forward %.2g, gradients %.2g", c.Name, d, worst)
		})
	}
}

// copyLayer is a copy of its input (ops.Reshape to the same shape): a
// non-leaf in front of a layer, so that the layer computes its input's
// gradient.
type copyLayer struct{}

func (copyLayer) Kind() string { return "copy" }

func (copyLayer) Forward(_ *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return ops.Reshape(x, x.Shape().Clone())
}
