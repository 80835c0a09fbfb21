package main

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// refAttention is the book's TimeAttention and concatenation in float64
// loops: out[b, s] = [Σ_t a_st enc[b, t], dec[b, s]], a_s = softmax_t(enc[b,
// t]·dec[b, s]); it returns Σ out·r.
func refAttention(enc, dec, r []float64, b, t, s, h int) float64 {
	var loss float64
	for i := 0; i < b; i++ {
		for j := 0; j < s; j++ {
			sc := make([]float64, t)
			mx := math.Inf(-1)
			for k := 0; k < t; k++ {
				for c := 0; c < h; c++ {
					sc[k] += enc[(i*t+k)*h+c] * dec[(i*s+j)*h+c]
				}
				mx = math.Max(mx, sc[k])
			}
			var sum float64
			for k := range sc {
				sc[k] = math.Exp(sc[k] - mx)
				sum += sc[k]
			}
			for c := 0; c < h; c++ {
				var ctx float64
				for k := 0; k < t; k++ {
					ctx += sc[k] / sum * enc[(i*t+k)*h+c]
				}
				loss += ctx*r[(i*s+j)*2*h+c] + dec[(i*s+j)*h+c]*r[(i*s+j)*2*h+h+c]
			}
		}
	}
	return loss
}

// TestAttentionGradients checks the attention op's forward against the
// float64 loops and its gradients (the book's backward) against central
// differences of them, through gorgonia.Grad, with the encoder's states
// also feeding LastStep (the decoder's h0) so that its gradient adds in.
func TestAttentionGradients(t *testing.T) {
	const b, te, s, h = 2, 5, 3, 4
	rng := rand.New(rand.NewPCG(1, 2))
	draw := func(n int) ([]float64, []float32) {
		d, f := make([]float64, n), make([]float32, n)
		for i := range d {
			f[i] = float32(rng.NormFloat64())
			d[i] = float64(f[i])
		}
		return d, f
	}
	enc64, enc32 := draw(b * te * h)
	dec64, dec32 := draw(b * s * h)
	r64, r32 := draw(b * s * 2 * h)
	l64, l32 := draw(b * h) // weights of the last step's output

	g := gorgonia.NewGraph()
	enc := gorgonia.NewTensor(g, tensor.Float32, 3, gorgonia.WithShape(b, te, h), gorgonia.WithName("enc"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(b, te, h), tensor.WithBacking(enc32))))
	dec := gorgonia.NewTensor(g, tensor.Float32, 3, gorgonia.WithShape(b, s, h), gorgonia.WithName("dec"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(b, s, h), tensor.WithBacking(dec32))))
	out, err := (&TimeAttention{}).Merge(nil, gorgonia.Nodes{enc, dec})
	if err != nil {
		t.Fatal(err)
	}
	last, err := LastStep{}.Forward(nil, enc)
	if err != nil {
		t.Fatal(err)
	}
	rn := gorgonia.NewConstant(tensor.New(tensor.WithShape(b, s, 2*h), tensor.WithBacking(r32)), gorgonia.WithName("r"))
	ln := gorgonia.NewConstant(tensor.New(tensor.WithShape(b, h), tensor.WithBacking(l32)), gorgonia.WithName("l"))
	loss := gorgonia.Must(gorgonia.Add(
		gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(out, rn)))),
		gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(last, ln))))))
	if _, err := gorgonia.Grad(loss, enc, dec); err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(enc, dec))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	total := func(enc, dec []float64) float64 {
		v := refAttention(enc, dec, r64, b, te, s, h)
		for i := 0; i < b; i++ {
			for c := 0; c < h; c++ {
				v += enc[(i*te+te-1)*h+c] * l64[i*h+c]
			}
		}
		return v
	}
	want := total(enc64, dec64)
	if got := float64(loss.Value().Data().(float32)); math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
		t.Fatalf("forward: %v, float64 loops %v", got, want)
	}
	for _, tc := range []struct {
		name string
		x    []float64
		node *gorgonia.Node
	}{{"enc", enc64, enc}, {"dec", dec64, dec}} {
		gv, err := tc.node.Grad()
		if err != nil {
			t.Fatal(err)
		}
		grad := gv.Data().([]float32)
		var worst float64
		for i := range tc.x {
			x0 := tc.x[i]
			tc.x[i] = x0 + 1e-6
			up := total(enc64, dec64)
			tc.x[i] = x0 - 1e-6
			down := total(enc64, dec64)
			tc.x[i] = x0
			worst = math.Max(worst, math.Abs((up-down)/2e-6-float64(grad[i])))
		}
		if worst > 1e-4 {
			t.Errorf("d %s: max difference %g from central differences", tc.name, worst)
		}
	}
}
