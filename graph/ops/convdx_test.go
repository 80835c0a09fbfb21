package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/internal/sgemm"
)

// refInputGrad is dx of a convolution in float64: each element's exact sum
// (to float64 rounding) of w·dy over the filters and the taps that reach
// it, and the sum of the terms' magnitudes, for the error bound.
func refInputGrad(g convGeom, ws, dys []float32) (ref, mag []float64) {
	ref, mag = make([]float64, g.n*g.c*g.h*g.w), make([]float64, g.n*g.c*g.h*g.w)
	for n := 0; n < g.n; n++ {
		for c := 0; c < g.c; c++ {
			for y := 0; y < g.h; y++ {
				for x := 0; x < g.w; x++ {
					var s, m float64
					for f := 0; f < g.f; f++ {
						for i := 0; i < g.kh; i++ {
							ty := y + g.ph - i*g.dh
							if ty < 0 || ty%g.sh != 0 || ty/g.sh >= g.oh {
								continue
							}
							for j := 0; j < g.kw; j++ {
								tx := x + g.pw - j*g.dw
								if tx < 0 || tx%g.sw != 0 || tx/g.sw >= g.ow {
									continue
								}
								v := float64(ws[((f*g.c+c)*g.kh+i)*g.kw+j]) * float64(dys[((n*g.f+f)*g.oh+ty/g.sh)*g.ow+tx/g.sw])
								s += v
								m += math.Abs(v)
							}
						}
					}
					at := ((n*g.c+c)*g.h+y)*g.w + x
					ref[at], mag[at] = s, m
				}
			}
		}
	}
	return ref, mag
}

// The input gradient as a transposed convolution (stride 1) is within the
// float32 dot-product bound k·2⁻²⁴·Σ|terms| (k = F·kh·kw terms) of the
// exact sum, as col2im's path is; NaN, infinities and zeros (signs
// included) come out as col2im's; strides and padding beyond the kernel's
// reach take col2im's path, bit for bit.
func TestInputGradBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	// zeros, signed zeros, NaN and infinities, but no finite value large
	// enough to overflow (where the order of the sum would decide).
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	geoms := append([]struct {
		x, w                  tensor.Shape
		pad, stride, dilation [2]int
	}{
		{tensor.Shape{6, 16, 14, 14}, tensor.Shape{32, 16, 3, 3}, [2]int{1, 1}, [2]int{1, 1}, [2]int{1, 1}}, // DeepConvNet's, over the cores
		{tensor.Shape{5, 32, 14, 14}, tensor.Shape{16, 32, 3, 3}, [2]int{2, 2}, [2]int{1, 1}, [2]int{1, 1}}, // padding 2
		{tensor.Shape{3, 64, 8, 8}, tensor.Shape{64, 64, 3, 3}, [2]int{1, 1}, [2]int{1, 1}, [2]int{1, 1}},   // 576 terms: three depth blocks
		{tensor.Shape{2, 5, 11, 9}, tensor.Shape{7, 5, 3, 3}, [2]int{0, 1}, [2]int{1, 1}, [2]int{1, 2}},     // odd, dilated, unpadded rows
		{tensor.Shape{2, 3, 10, 13}, tensor.Shape{9, 3, 5, 3}, [2]int{2, 1}, [2]int{1, 1}, [2]int{1, 1}},
	}, patchGeoms...)
	for _, c := range geoms {
		for _, withSpecials := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v%vpad%vstride%vdil%v/special=%v", c.x, c.w, c.pad, c.stride, c.dilation, withSpecials), func(t *testing.T) {
				g, err := newConvGeom(c.x, c.w, c.pad, c.stride, c.dilation)
				if err != nil {
					t.Fatal(err)
				}
				ws := randValues(rng, c.w.TotalSize(), false)
				dys := randValues(rng, g.outShape().TotalSize(), false)
				if withSpecials {
					for i := range dys {
						if rng.IntN(8) == 0 {
							dys[i] = special[rng.IntN(len(special))]
						}
					}
				}
				w := tensor.New(tensor.WithShape(c.w...), tensor.WithBacking(ws))
				dy := tensor.New(tensor.WithShape(g.outShape()...), tensor.WithBacking(dys))
				run := func(col2im bool) ([]float32, bool) {
					op := &conv2dInputGradOp{gradOp: newGradOp("dx", "dx", 2, c.x), g: g, col2im: col2im}
					tr, _ := op.transposed()
					v, err := op.Do(w, dy)
					if err != nil {
						t.Fatal(err)
					}
					return v.(*tensor.Dense).Float32s(), tr != nil
				}
				got, transposed := run(false)
				want, _ := run(true)
				// The shifted form's condition (conv2dOp.plan): stride 1,
				// padding within the kernel's reach, 32 terms or more.
				shifts := c.stride == [2]int{1, 1} && c.pad[0] <= c.dilation[0]*(c.w[2]-1) && c.pad[1] <= c.dilation[1]*(c.w[3]-1) &&
					c.w[0]*c.w[2]*c.w[3] >= 32 && sgemm.Shifted()
				if transposed != shifts {
					t.Fatalf("transposed convolution %v, want %v", transposed, shifts)
				}
				if !transposed {
					if i := sameBits(got, want); i >= 0 {
						t.Fatalf("dx[%d] = %v, col2im %v", i, got[i], want[i])
					}
					return
				}
				ref, mag := refInputGrad(g, ws, dys)
				bound := float64(g.f*g.kh*g.kw) * 0x1p-24
				worst := 0.0
				for i := range got {
					a, b := float64(got[i]), float64(want[i])
					if math.IsNaN(a) || math.IsInf(a, 0) || a == 0 || math.IsNaN(b) || math.IsInf(b, 0) || b == 0 {
						if a != b && !(math.IsNaN(a) && math.IsNaN(b)) || math.Signbit(a) != math.Signbit(b) && !math.IsNaN(a) {
							t.Fatalf("dx[%d] = %v, col2im %v", i, got[i], want[i])
						}
						continue
					}
					for _, p := range []struct {
						name string
						v    float64
					}{{"dx", a}, {"col2im", b}} {
						if d := math.Abs(p.v - ref[i]); d > bound*mag[i] {
							t.Fatalf("%s[%d] = %v, exact %v: off by %.3g, bound %.3g", p.name, i, p.v, ref[i], d, bound*mag[i])
						}
					}
					if mag[i] > 0 {
						worst = max(worst, math.Abs(a-ref[i])/mag[i])
					}
				}
				t.Logf("largest |dx - exact| / Σ|terms| = %.3g (bound %.3g)", worst, bound)
			})
		}
	}
}
