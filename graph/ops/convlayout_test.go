package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/internal/sgemm"
)

// The reference layouts: the patch loops conv.go used before its tap-major
// kernels, in gorgonia.Im2Col's and col2im's layout and order.

// refPatches writes the patches of one image as gorgonia.Im2Col lays them out:
// (oh·ow) rows of c·kh·kw values.
func refPatches(g convGeom, dst, im []float32) {
	idx := 0
	for oy := 0; oy < g.oh; oy++ {
		for ox := 0; ox < g.ow; ox++ {
			for ch := 0; ch < g.c; ch++ {
				plane := im[ch*g.h*g.w : (ch+1)*g.h*g.w]
				for i := 0; i < g.kh; i++ {
					y := oy*g.sh - g.ph + i*g.dh
					if x0 := ox*g.sw - g.pw; g.dw == 1 && y >= 0 && y < g.h && x0 >= 0 && x0+g.kw <= g.w {
						// The kernel row lies inside the image: one copy.
						idx += copy(dst[idx:idx+g.kw], plane[y*g.w+x0:y*g.w+x0+g.kw])
						continue
					}
					for j := 0; j < g.kw; j++ {
						x := ox*g.sw - g.pw + j*g.dw
						if y >= 0 && y < g.h && x >= 0 && x < g.w {
							dst[idx] = plane[y*g.w+x]
						} else {
							dst[idx] = 0
						}
						idx++
					}
				}
			}
		}
	}
}

// refAddPatches adds (oh·ow) rows of c·kh·kw patch values back into one image
// (C, H, W), which it first zeroes: Gorgonia's col2im, in its order, so
// that overlapping windows sum alike.
func refAddPatches(g convGeom, im, cols []float32) {
	clear(im)
	idx := 0
	for oy := 0; oy < g.oh; oy++ {
		for ox := 0; ox < g.ow; ox++ {
			for ch := 0; ch < g.c; ch++ {
				plane := im[ch*g.h*g.w : (ch+1)*g.h*g.w]
				for i := 0; i < g.kh; i++ {
					y := oy*g.sh - g.ph + i*g.dh
					for j := 0; j < g.kw; j++ {
						if x := ox*g.sw - g.pw + j*g.dw; y >= 0 && y < g.h && x >= 0 && x < g.w {
							plane[y*g.w+x] += cols[idx]
						}
						idx++
					}
				}
			}
		}
	}
}

// patchGeoms are geometries for the layout kernels: padding, stride,
// dilation, odd and non-square sizes, windows larger than the padding,
// outputs as wide as the input (patchesT's one-copy path) and not.
var patchGeoms = []struct {
	x, w                  tensor.Shape
	pad, stride, dilation [2]int
}{
	{tensor.Shape{3, 2, 7, 7}, tensor.Shape{3, 2, 3, 3}, [2]int{1, 1}, [2]int{1, 1}, [2]int{1, 1}}, // as wide: one copy
	{tensor.Shape{2, 3, 6, 5}, tensor.Shape{4, 3, 3, 3}, [2]int{2, 2}, [2]int{1, 1}, [2]int{1, 1}}, // wider output
	{tensor.Shape{2, 1, 9, 7}, tensor.Shape{2, 1, 5, 5}, [2]int{0, 0}, [2]int{1, 1}, [2]int{1, 1}}, // no padding
	{tensor.Shape{2, 3, 9, 7}, tensor.Shape{4, 3, 3, 3}, [2]int{1, 1}, [2]int{2, 2}, [2]int{1, 1}}, // stride 2
	{tensor.Shape{2, 2, 8, 8}, tensor.Shape{3, 2, 3, 2}, [2]int{2, 1}, [2]int{1, 2}, [2]int{2, 1}}, // dilation, mixed
	{tensor.Shape{1, 2, 5, 6}, tensor.Shape{2, 2, 3, 3}, [2]int{1, 2}, [2]int{1, 1}, [2]int{2, 2}}, // as wide, dilated
	{tensor.Shape{2, 1, 4, 4}, tensor.Shape{1, 1, 3, 3}, [2]int{3, 3}, [2]int{3, 2}, [2]int{1, 1}}, // padding beyond the window
	{tensor.Shape{1, 2, 3, 11}, tensor.Shape{2, 2, 1, 4}, [2]int{0, 3}, [2]int{2, 3}, [2]int{1, 3}},
}

// patchesT, tapRow and addPatchesT move the values of the reference
// layouts bit for bit (NaN and -0 included): patchesT into rows of any
// stride, without touching what lies between them; tapRow over any range
// of the batch, across images; addPatchesT with col2im's sums.
func TestPatchKernelsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, c := range patchGeoms {
		g, err := newConvGeom(c.x, c.w, c.pad, c.stride, c.dilation)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("%v%v pad%v stride%v dilation%v", c.x, c.w, c.pad, c.stride, c.dilation), func(t *testing.T) {
			xs := randValues(rng, c.x.TotalSize(), true)
			per := g.c * g.h * g.w
			ref := make([]float32, g.n*g.cell*g.kernel) // image i's patches at i·cell·kernel
			for i := 0; i < g.n; i++ {
				refPatches(g, ref[i*g.cell*g.kernel:(i+1)*g.cell*g.kernel], xs[i*per:(i+1)*per])
			}
			want := func(r, k int) float32 { return ref[(r/g.cell*g.cell+r%g.cell)*g.kernel+k] }
			// patchesT, rows ld = cell+3 apart, sentinels between them.
			const sentinel = 12345
			ld := g.cell + 3
			for i := 0; i < g.n; i++ {
				dst := make([]float32, g.kernel*ld)
				fill(dst, sentinel)
				g.patchesT(dst, ld, xs[i*per:(i+1)*per])
				for k := 0; k < g.kernel; k++ {
					for p := 0; p < ld; p++ {
						got := dst[k*ld+p]
						if p >= g.cell {
							if got != sentinel {
								t.Fatalf("patchesT wrote %v between rows (tap %d, column %d)", got, k, p)
							}
							continue
						}
						if w := want(i*g.cell+p, k); sameBits([]float32{got}, []float32{w}) >= 0 {
							t.Fatalf("patchesT image %d tap %d pixel %d = %v, reference %v", i, k, p, got, w)
						}
					}
				}
			}
			// tapRow over random ranges of the batch.
			rows := g.n * g.cell
			for range 20 {
				r0 := rng.IntN(rows)
				dst := make([]float32, 1+rng.IntN(rows-r0))
				k := rng.IntN(g.kernel)
				g.tapRow(dst, k, xs, r0)
				for r, got := range dst {
					if w := want(r0+r, k); sameBits([]float32{got}, []float32{w}) >= 0 {
						t.Fatalf("tapRow tap %d from %d: [%d] = %v, reference %v", k, r0, r, got, w)
					}
				}
			}
			// addPatchesT against col2im.
			cols := randValues(rng, g.cell*g.kernel, true)
			colsT := make([]float32, g.kernel*ld)
			for p := 0; p < g.cell; p++ {
				for k := 0; k < g.kernel; k++ {
					colsT[k*ld+p] = cols[p*g.kernel+k]
				}
			}
			got, wantIm := randValues(rng, per, false), make([]float32, per)
			g.addPatchesT(got, colsT, ld)
			refAddPatches(g, wantIm, cols)
			if i := sameBits(got, wantIm); i >= 0 {
				t.Fatalf("addPatchesT [%d] = %v, col2im %v", i, got[i], wantIm[i])
			}
		})
	}
}

// transpose moves every value, for sizes around its block size.
func TestTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, s := range [][2]int{{1, 1}, {3, 17}, {8, 1}, {9, 30}, {16, 16}, {30, 576}, {33, 5}, {40, 70}} {
		rows, cols := s[0], s[1]
		src := randValues(rng, rows*cols, true)
		ld := rows + 2
		dst := make([]float32, cols*ld)
		transpose(dst, ld, src, rows, cols)
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				if sameBits([]float32{dst[c*ld+r]}, []float32{src[r*cols+c]}) >= 0 {
					t.Fatalf("%dx%d: [%d][%d] = %v, want %v", rows, cols, c, r, dst[c*ld+r], src[r*cols+c])
				}
			}
		}
	}
}

// The shifted forward pass (a padded copy of each image, taps as shifted
// views of it) gives the patch-matrix path's bits: NaN, infinities and -0
// in the input, filters and bias (a -0 bias takes the long way in both),
// padding, dilation, more than one depth block, filters not a multiple of
// the 8-row tile, batches split over the cores.
func TestShiftedConvMatchesPatches(t *testing.T) {
	if !sgemm.Shifted() {
		t.Skip("no shifted kernel on this CPU: Conv2D always takes the patch path")
	}
	rng := rand.New(rand.NewPCG(5, 5))
	geoms := append(patchGeoms[:len(patchGeoms):len(patchGeoms)],
		struct {
			x, w                  tensor.Shape
			pad, stride, dilation [2]int
		}{tensor.Shape{9, 40, 8, 8}, tensor.Shape{13, 40, 3, 3}, [2]int{1, 1}, [2]int{1, 1}, [2]int{1, 1}}, // 360 taps
		struct {
			x, w                  tensor.Shape
			pad, stride, dilation [2]int
		}{tensor.Shape{12, 1, 28, 28}, tensor.Shape{30, 1, 5, 5}, [2]int{0, 0}, [2]int{1, 1}, [2]int{1, 1}},
	)
	for _, c := range geoms {
		g, err := newConvGeom(c.x, c.w, c.pad, c.stride, c.dilation)
		if err != nil {
			t.Fatal(err)
		}
		for _, special := range []bool{false, true} {
			x := tensor.New(tensor.WithShape(c.x...), tensor.WithBacking(randValues(rng, c.x.TotalSize(), special)))
			w := tensor.New(tensor.WithShape(c.w...), tensor.WithBacking(randValues(rng, c.w.TotalSize(), special)))
			bias := randValues(rng, g.f, special)
			if special {
				bias[0] = float32(math.Copysign(0, -1))
			}
			b := tensor.New(tensor.WithShape(g.f), tensor.WithBacking(bias))
			op := &conv2dOp{pad: c.pad, stride: c.stride, dilation: c.dilation, bias: true}
			p := op.plan(g)
			if (p.padded > 0) != (g.sh == 1 && g.sw == 1) {
				t.Fatalf("%v: shifted form %v for stride %v", c.x, p.padded > 0, c.stride)
			}
			if p.shifted != (p.padded > 0 && g.kernel >= 32) {
				t.Fatalf("%v: shifted %v for %d taps", c.x, p.shifted, g.kernel)
			}
			if p.padded > 0 { // force it on small kernels too
				p.shifted, p.size = true, p.padded+g.f*g.oh*p.wp
			}
			got, err := op.Do(x, w, b)
			if err != nil {
				t.Fatal(err)
			}
			gotYs := append([]float32(nil), got.(*tensor.Dense).Float32s()...)
			p.shifted, p.size = false, g.kernel*g.cell // the patch path
			want, err := op.Do(x, w, b)
			if err != nil {
				t.Fatal(err)
			}
			if i := sameBits(gotYs, want.(*tensor.Dense).Float32s()); i >= 0 {
				t.Fatalf("%v%v pad%v stride%v dilation%v special %v: y[%d] = %v, patch path %v", c.x, c.w, c.pad, c.stride, c.dilation, special, i, gotYs[i], want.(*tensor.Dense).Float32s()[i])
			}
		}
	}
}
