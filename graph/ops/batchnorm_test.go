package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// bnLoss64 is Σ r ⊙ batchnorm(x) in float64, from the definition.
func bnLoss64(shape tensor.Shape, x, w, b, r []float64, eps float64) float64 {
	n, c, hw := shape[0], shape[1], shape[2]*shape[3]
	loss := 0.0
	for ch := 0; ch < c; ch++ {
		var mu, v float64
		for i := 0; i < n; i++ {
			for p := 0; p < hw; p++ {
				mu += x[(i*c+ch)*hw+p]
			}
		}
		mu /= float64(n * hw)
		for i := 0; i < n; i++ {
			for p := 0; p < hw; p++ {
				d := x[(i*c+ch)*hw+p] - mu
				v += d * d
			}
		}
		v /= float64(n * hw)
		for i := 0; i < n; i++ {
			for p := 0; p < hw; p++ {
				at := (i*c+ch)*hw + p
				loss += r[at] * ((x[at]-mu)/math.Sqrt(v+eps)*w[ch] + b[ch])
			}
		}
	}
	return loss
}

func to64(s []float32) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
	}
	return d
}

// BatchNorm2D's output, and its gradients of Σ r ⊙ y with respect to x,
// weight and bias, agree with float64 central differences of the
// definition; its running statistics are BatchStats's bit for bit (on the
// channels-last rows the composed graph gave it); channel means far from
// zero keep their precision.
func TestBatchNorm2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, c := range []struct {
		shape  tensor.Shape
		offset float32 // added to x: a mean far from zero
	}{
		{tensor.Shape{2, 3, 3, 3}, 0},
		{tensor.Shape{4, 5, 2, 3}, 100},
		{tensor.Shape{1, 2, 1, 5}, -3},
		{tensor.Shape{20, 48, 32, 32}, 0.5}, // over a million values: channels split over the cores
	} {
		t.Run(fmt.Sprintf("%v+%v", c.shape, c.offset), func(t *testing.T) {
			nc := c.shape[1]
			xs := randValues(rng, c.shape.TotalSize(), false)
			for i := range xs {
				xs[i] = xs[i]*2 + c.offset
			}
			ws, bs, rs := randValues(rng, nc, false), randValues(rng, nc, false), randValues(rng, len(xs), false)
			rm, rv := randValues(rng, nc, false), randValues(rng, nc, false)
			for i := range rv {
				rv[i] = 1 + rv[i]/2
			}
			rmT := tensor.New(tensor.WithShape(nc), tensor.WithBacking(append([]float32(nil), rm...)))
			rvT := tensor.New(tensor.WithShape(nc), tensor.WithBacking(append([]float32(nil), rv...)))
			const eps = 1e-5
			g := gorgonia.NewGraph()
			x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(c.shape...), gorgonia.WithName("x"), gorgonia.WithValue(tensor.New(tensor.WithShape(c.shape...), tensor.WithBacking(xs))))
			w := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(nc), gorgonia.WithName("w"), gorgonia.WithValue(tensor.New(tensor.WithShape(nc), tensor.WithBacking(ws))))
			b := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(nc), gorgonia.WithName("b"), gorgonia.WithValue(tensor.New(tensor.WithShape(nc), tensor.WithBacking(bs))))
			// x·1 so that x is not a leaf of the graph
			xin := gorgonia.Must(gorgonia.Mul(x, gorgonia.NewConstant(float32(1))))
			y, err := BatchNorm2D(xin, w, b, rmT, rvT, 0.1, eps, "bn")
			if err != nil {
				t.Fatal(err)
			}
			r := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(c.shape...), gorgonia.WithName("r"), gorgonia.WithValue(tensor.New(tensor.WithShape(c.shape...), tensor.WithBacking(rs))))
			loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(y, r))))
			if _, err := gorgonia.Grad(loss, x, w, b); err != nil {
				t.Fatal(err)
			}
			vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(x, w, b))
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			// Running statistics: BatchStats over the channels-last rows.
			last := make([]float32, len(xs))
			n, hw := c.shape[0], c.shape[2]*c.shape[3]
			for i := 0; i < n; i++ {
				for ch := 0; ch < nc; ch++ {
					for p := 0; p < hw; p++ {
						last[(i*hw+p)*nc+ch] = xs[(i*nc+ch)*hw+p]
					}
				}
			}
			wantM := tensor.New(tensor.WithShape(nc), tensor.WithBacking(append([]float32(nil), rm...)))
			wantV := tensor.New(tensor.WithShape(nc), tensor.WithBacking(append([]float32(nil), rv...)))
			stats := &batchStatsOp{mean: wantM, variance: wantV, momentum: 0.1}
			if _, err := stats.Do(tensor.New(tensor.WithShape(n*hw, nc), tensor.WithBacking(last))); err != nil {
				t.Fatal(err)
			}
			if i := sameBits(rmT.Float32s(), wantM.Float32s()); i >= 0 {
				t.Fatalf("running mean[%d] = %v, BatchStats %v", i, rmT.Float32s()[i], wantM.Float32s()[i])
			}
			if i := sameBits(rvT.Float32s(), wantV.Float32s()); i >= 0 {
				t.Fatalf("running variance[%d] = %v, BatchStats %v", i, rvT.Float32s()[i], wantV.Float32s()[i])
			}
			// Values and gradients against float64.
			x64, w64, b64, r64 := to64(xs), to64(ws), to64(bs), to64(rs)
			if got, want := float64(loss.Value().Data().(float32)), bnLoss64(c.shape, x64, w64, b64, r64, eps); math.Abs(got-want) > 1e-5*(1+math.Abs(want))*float64(len(xs)) {
				t.Fatalf("Σ r⊙y = %v, float64 %v", got, want)
			}
			for _, p := range []struct {
				name string
				node *gorgonia.Node
				vals []float64
			}{{"dx", x, x64}, {"dweight", w, w64}, {"dbias", b, b64}} {
				gv, err := p.node.Grad()
				if err != nil {
					t.Fatal(err)
				}
				got := gv.Data().([]float32)
				for i := range got {
					if step := max(len(got)/6, 1); len(xs) > 1000 && i%step != 0 { // a sample of the large case
						continue
					}
					h := 1e-6 * (1 + math.Abs(p.vals[i]))
					old := p.vals[i]
					p.vals[i] = old + h
					up := bnLoss64(c.shape, x64, w64, b64, r64, eps)
					p.vals[i] = old - h
					down := bnLoss64(c.shape, x64, w64, b64, r64, eps)
					p.vals[i] = old
					want := (up - down) / (2 * h)
					if d := math.Abs(float64(got[i]) - want); d > 2e-4*(1+math.Abs(want)) {
						t.Fatalf("%s[%d] = %v, float64 central difference %v", p.name, i, got[i], want)
					}
				}
			}
		})
	}
}
