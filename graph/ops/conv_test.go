package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// specials are values whose order and sign the SIMD loops must keep:
// signed zeros, ties, NaN and infinities.
var specials = []float32{0, float32(math.Copysign(0, -1)), 1, 1, -1, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), -math.MaxFloat32, 2.5}

func randValues(rng *rand.Rand, n int, special bool) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = rng.Float32()*2 - 1
		if special && rng.IntN(4) == 0 {
			v[i] = specials[rng.IntN(len(specials))]
		}
	}
	return v
}

func sameBits(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// The vector loops give the Go loops' bits, NaN and -0 included, at every
// length (full vectors and tails).
func TestSIMDLoopsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for n := 0; n < 100; n++ {
		src := randValues(rng, n, true)
		got, want := make([]float32, n), make([]float32, n)
		reluSlice(got, src)
		reluGo(want, src)
		if i := sameBits(got, want); i >= 0 {
			t.Fatalf("relu, n=%d: [%d] = %v, want %v", n, i, got[i], want[i])
		}
		g := randValues(rng, n, true)
		reluGradSlice(got, src, g)
		reluGradGo(want, src, g)
		if i := sameBits(got, want); i >= 0 {
			t.Fatalf("relu gradient, n=%d: [%d] = %v, want %v", n, i, got[i], want[i])
		}
		r0, r1 := randValues(rng, 2*n+1, true), randValues(rng, 2*n+1, true)
		pool2x2Row(got, r0, r1)
		pool2x2Go(want, r0, r1)
		if i := sameBits(got, want); i >= 0 {
			t.Fatalf("pool, n=%d: [%d] = %v, want %v", n, i, got[i], want[i])
		}
		dy := randValues(rng, n, true)
		gotDx, wantDx := make([]float32, 4*n+2), make([]float32, 4*n+2)
		unpool2x2Row(gotDx[:2*n], gotDx[2*n+1:4*n+1], r0, r1, dy)
		unpool2x2Go(wantDx[:2*n], wantDx[2*n+1:4*n+1], r0, r1, dy)
		if i := sameBits(gotDx, wantDx); i >= 0 {
			t.Fatalf("unpool, n=%d: [%d] = %v, want %v", n, i, gotDx[i], wantDx[i])
		}
	}
}

// gradients runs y = f(x, w) alone, and then with loss = Σ y ⊙ r and its
// gradient (whose in-place steps may reuse y's memory), and returns y, dx,
// dw.
func gradients(t *testing.T, f func(x, w *gorgonia.Node) (*gorgonia.Node, error), xs, ws []float32, xShape, wShape tensor.Shape, rs func(n int) []float32) (y, dx, dw []float32) {
	t.Helper()
	y, _, _ = run(t, f, xs, ws, xShape, wShape, rs, false)
	_, dx, dw = run(t, f, xs, ws, xShape, wShape, rs, true)
	return y, dx, dw
}

func run(t *testing.T, f func(x, w *gorgonia.Node) (*gorgonia.Node, error), xs, ws []float32, xShape, wShape tensor.Shape, rs func(n int) []float32, backward bool) (y, dx, dw []float32) {
	t.Helper()
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(xShape...), gorgonia.WithName("x"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(xShape...), tensor.WithBacking(append([]float32(nil), xs...)))))
	var w *gorgonia.Node
	if ws != nil {
		w = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(wShape...), gorgonia.WithName("w"),
			gorgonia.WithValue(tensor.New(tensor.WithShape(wShape...), tensor.WithBacking(append([]float32(nil), ws...)))))
	}
	// x·1: not a leaf, so that the convolution computes its input's
	// gradient (a leaf input gets none: see conv2dOp.DiffWRT).
	out, err := f(gorgonia.Must(gorgonia.Mul(x, gorgonia.NewConstant(float32(1)))), w)
	if err != nil {
		t.Fatal(err)
	}
	if !backward {
		vm := gorgonia.NewTapeMachine(g)
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), out.Value().Data().([]float32)...), nil, nil
	}
	rn := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(out.Shape()...), gorgonia.WithName("r"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(out.Shape()...), tensor.WithBacking(rs(out.Shape().TotalSize())))))
	loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(out, rn))))
	wrt := gorgonia.Nodes{x}
	if w != nil {
		wrt = append(wrt, w)
	}
	if _, err := gorgonia.Grad(loss, wrt...); err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(wrt...))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	grad := func(n *gorgonia.Node) []float32 {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), gv.Data().([]float32)...)
	}
	dx = grad(x)
	if w != nil {
		dw = grad(w)
	}
	return y, dx, dw
}

// transposedDx reports whether the fused convolution's input gradient for
// these shapes is a transposed convolution (conv2dInputGradOp.transposed).
func transposedDx(t *testing.T, x, w tensor.Shape, pad, stride, dilation [2]int) bool {
	g, err := newConvGeom(x, w, pad, stride, dilation)
	if err != nil {
		t.Fatal(err)
	}
	op := &conv2dInputGradOp{gradOp: newGradOp("dx", "dx", 2, x), g: g}
	tr, _ := op.transposed()
	return tr != nil
}

// The fused Conv2D and MaxPool2D give gorgonia.Conv2d's and
// gorgonia.MaxPool2D's values and gradients bit for bit (but the input
// gradient of stride-1 convolutions, within a bound): padding, strides,
// dilation, overlapping and odd-sized windows, and (for pooling) ties,
// signed zeros and NaN.
func TestFusedOpsMatchGorgonia(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, c := range []struct {
		x, w                  tensor.Shape
		pad, stride, dilation [2]int
	}{
		{tensor.Shape{3, 1, 28, 28}, tensor.Shape{30, 1, 5, 5}, [2]int{0, 0}, [2]int{1, 1}, [2]int{1, 1}},
		{tensor.Shape{12, 1, 28, 28}, tensor.Shape{30, 1, 5, 5}, [2]int{0, 0}, [2]int{1, 1}, [2]int{1, 1}}, // images split over the cores
		{tensor.Shape{2, 3, 9, 7}, tensor.Shape{4, 3, 3, 3}, [2]int{1, 1}, [2]int{2, 2}, [2]int{1, 1}},
		{tensor.Shape{2, 2, 8, 8}, tensor.Shape{3, 2, 3, 2}, [2]int{2, 1}, [2]int{1, 2}, [2]int{2, 1}},
		{tensor.Shape{1, 32, 7, 7}, tensor.Shape{5, 32, 3, 3}, [2]int{1, 1}, [2]int{1, 1}, [2]int{1, 1}}, // 288 taps: two depth blocks
		// DeepConvNet's shapes: the filter gradient's depth (N·oh·ow) over
		// several chunks, its taps split over the cores, 576 taps.
		{tensor.Shape{6, 16, 14, 14}, tensor.Shape{32, 16, 3, 3}, [2]int{1, 1}, [2]int{1, 1}, [2]int{1, 1}},
		{tensor.Shape{5, 32, 14, 14}, tensor.Shape{16, 32, 3, 3}, [2]int{2, 2}, [2]int{1, 1}, [2]int{1, 1}},
		{tensor.Shape{9, 64, 8, 8}, tensor.Shape{64, 64, 3, 3}, [2]int{1, 1}, [2]int{1, 1}, [2]int{1, 1}},
		{tensor.Shape{3, 5, 11, 9}, tensor.Shape{7, 5, 3, 3}, [2]int{1, 1}, [2]int{2, 1}, [2]int{1, 2}},
	} {
		t.Run(fmt.Sprintf("conv%v%v", c.x, c.w), func(t *testing.T) {
			xs := randValues(rng, c.x.TotalSize(), false)
			ws := randValues(rng, c.w.TotalSize(), false)
			seed := rng.Uint64()
			rs := func(n int) []float32 { return randValues(rand.New(rand.NewPCG(seed, 1)), n, false) }
			ours := func(x, w *gorgonia.Node) (*gorgonia.Node, error) {
				return Conv2D(x, w, nil, [2]int{c.w[2], c.w[3]}, c.pad, c.stride, c.dilation)
			}
			theirs := func(x, w *gorgonia.Node) (*gorgonia.Node, error) {
				groups.Lock()
				defer groups.Unlock()
				return gorgonia.Conv2d(x, w, tensor.Shape{c.w[2], c.w[3]}, c.pad[:], c.stride[:], c.dilation[:])
			}
			y1, dx1, dw1 := gradients(t, ours, xs, ws, c.x, c.w, rs)
			y2, dx2, dw2 := gradients(t, theirs, xs, ws, c.x, c.w, rs)
			for _, p := range []struct {
				name      string
				got, want []float32
			}{{"y", y1, y2}, {"dx", dx1, dx2}, {"dw", dw1, dw2}} {
				if len(p.got) != len(p.want) {
					t.Fatalf("%s: %d values, gorgonia %d", p.name, len(p.got), len(p.want))
				}
				if p.name == "dx" && transposedDx(t, c.x, c.w, c.pad, c.stride, c.dilation) {
					// A transposed convolution: within the float32 bound
					// of the exact sum (TestInputGradBound), not col2im's bits.
					g, _ := newConvGeom(c.x, c.w, c.pad, c.stride, c.dilation)
					ref, mag := refInputGrad(g, ws, rs(g.outShape().TotalSize()))
					bound := float64(g.f*g.kh*g.kw) * 0x1p-24
					for i, v := range p.got {
						if d := math.Abs(float64(v) - ref[i]); d > bound*mag[i] {
							t.Fatalf("dx[%d] = %v, exact %v, gorgonia %v: off by %.3g, bound %.3g", i, v, ref[i], p.want[i], d, bound*mag[i])
						}
					}
					continue
				}
				if i := sameBits(p.got, p.want); i >= 0 {
					t.Fatalf("%s[%d] = %v, gorgonia %v", p.name, i, p.got[i], p.want[i])
				}
			}
		})
	}
	for _, c := range []struct {
		x                   tensor.Shape
		kernel, pad, stride []int
		special             bool
	}{
		{tensor.Shape{4, 30, 24, 24}, []int{2, 2}, []int{0, 0}, []int{2, 2}, true},
		{tensor.Shape{2, 3, 7, 9}, []int{2, 2}, []int{0, 0}, []int{2, 2}, true},  // odd sides
		{tensor.Shape{2, 3, 9, 9}, []int{3, 3}, []int{1, 1}, []int{2, 2}, false}, // overlapping, padded
		{tensor.Shape{1, 2, 6, 5}, []int{3, 2}, []int{0, 0}, []int{1, 1}, true},
	} {
		t.Run(fmt.Sprintf("maxpool%v%v", c.x, c.kernel), func(t *testing.T) {
			xs := randValues(rng, c.x.TotalSize(), c.special)
			if c.special {
				// NaN windows leave the mask at -1, which Gorgonia's
				// backward pass would index: keep NaN out of the comparison.
				for i, v := range xs {
					if v != v {
						xs[i] = 0
					}
				}
			}
			seed := rng.Uint64()
			rs := func(n int) []float32 { return randValues(rand.New(rand.NewPCG(seed, 1)), n, false) }
			ours := func(x, _ *gorgonia.Node) (*gorgonia.Node, error) {
				return MaxPool2D(x, tensor.Shape(c.kernel), c.pad, c.stride)
			}
			theirs := func(x, _ *gorgonia.Node) (*gorgonia.Node, error) {
				groups.Lock()
				defer groups.Unlock()
				return gorgonia.MaxPool2D(x, tensor.Shape(c.kernel), c.pad, c.stride)
			}
			y1, dx1, _ := gradients(t, ours, xs, nil, c.x, nil, rs)
			y2, dx2, _ := gradients(t, theirs, xs, nil, c.x, nil, rs)
			if i := sameBits(y1, y2); i >= 0 || len(y1) != len(y2) {
				t.Fatalf("y[%d] = %v, gorgonia %v", i, y1[i], y2[i])
			}
			if i := sameBits(dx1, dx2); i >= 0 {
				t.Fatalf("dx[%d] = %v, gorgonia %v", i, dx1[i], dx2[i])
			}
		})
	}
}

// The fused softmax gives the probabilities of the Gorgonia graph it
// replaces bit for bit, and the gradient of Σ softmax(x) ⊙ r within
// float32 rounding of that graph's.
func TestSoftmaxMatchesGorgonia(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	shape := tensor.Shape{7, 10}
	xs := randValues(rng, shape.TotalSize(), false)
	for i := range xs {
		xs[i] *= 30 // logits far apart: exp underflows for some
	}
	eval := func(f func(x *gorgonia.Node) (*gorgonia.Node, error), backward bool) (y, dx []float32) {
		g := gorgonia.NewGraph()
		x := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(shape...), gorgonia.WithName("x"),
			gorgonia.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), xs...)))))
		out, err := f(x)
		if err != nil {
			t.Fatal(err)
		}
		if !backward {
			vm := gorgonia.NewTapeMachine(g)
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			return append([]float32(nil), out.Value().Data().([]float32)...), nil
		}
		r := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(shape...), gorgonia.WithName("r"),
			gorgonia.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(randValues(rand.New(rand.NewPCG(4, 4)), shape.TotalSize(), false)))))
		loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(out, r))))
		if _, err := gorgonia.Grad(loss, x); err != nil {
			t.Fatal(err)
		}
		vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(x))
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		gv, err := x.Grad()
		if err != nil {
			t.Fatal(err)
		}
		return nil, append([]float32(nil), gv.Data().([]float32)...)
	}
	composed := func(x *gorgonia.Node) (*gorgonia.Node, error) {
		e, _, err := ShiftedExp(x)
		if err != nil {
			return nil, err
		}
		return gorgonia.BroadcastHadamardDiv(e, gorgonia.Must(gorgonia.Sum(e, 1)), nil, []byte{1})
	}
	y1, _ := eval(Softmax, false)
	y2, _ := eval(composed, false)
	_, dx1 := eval(Softmax, true)
	_, dx2 := eval(composed, true)
	if i := sameBits(y1, y2); i >= 0 {
		t.Fatalf("softmax[%d] = %v, gorgonia's graph %v", i, y1[i], y2[i])
	}
	for i := range dx1 {
		if d := math.Abs(float64(dx1[i] - dx2[i])); d > 1e-6 {
			t.Fatalf("gradient[%d] = %v, gorgonia's graph %v", i, dx1[i], dx2[i])
		}
	}
}

// ConvReLUPool gives Conv2D, ReLU and MaxPool2D's values bit for bit, on a
// batch large enough to be split over the cores (run with -race).
func TestConvReLUPoolMatchesOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	xShape, wShape := tensor.Shape{16, 1, 28, 28}, tensor.Shape{30, 1, 5, 5}
	xs, ws, bs := randValues(rng, xShape.TotalSize(), false), randValues(rng, wShape.TotalSize(), false), randValues(rng, 30, false)
	eval := func(fused bool) []float32 {
		g := gorgonia.NewGraph()
		x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(xShape...), gorgonia.WithName("x"),
			gorgonia.WithValue(tensor.New(tensor.WithShape(xShape...), tensor.WithBacking(xs))))
		w := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(wShape...), gorgonia.WithName("w"),
			gorgonia.WithValue(tensor.New(tensor.WithShape(wShape...), tensor.WithBacking(ws))))
		b := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(30), gorgonia.WithName("b"),
			gorgonia.WithValue(tensor.New(tensor.WithShape(30), tensor.WithBacking(bs))))
		var y *gorgonia.Node
		if fused {
			y = gorgonia.Must(ConvReLUPool(x, w, b, [2]int{5, 5}, [2]int{}, [2]int{1, 1}, [2]int{1, 1}, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}))
		} else {
			c := gorgonia.Must(Conv2D(x, w, b, [2]int{5, 5}, [2]int{}, [2]int{1, 1}, [2]int{1, 1}))
			y = gorgonia.Must(MaxPool2D(gorgonia.Must(ReLU(c)), tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}))
		}
		vm := gorgonia.NewTapeMachine(g)
		defer vm.Close()
		var out []float32
		for range 2 { // twice: the op's buffers are reused
			vm.Reset()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			out = append([]float32(nil), y.Value().Data().([]float32)...)
		}
		return out
	}
	got, want := eval(true), eval(false)
	if len(got) != len(want) {
		t.Fatalf("%d values, want %d", len(got), len(want))
	}
	if i := sameBits(got, want); i >= 0 {
		t.Fatalf("[%d] = %v, the three ops give %v", i, got[i], want[i])
	}
}
