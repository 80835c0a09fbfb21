package ops

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// poolGeom is the geometry of a max pooling over NCHW tensors.
type poolGeom struct {
	n, c, h, w int
	kh, kw     int
	ph, pw     int
	sh, sw     int
	oh, ow     int
}

func newPoolGeom(x tensor.Shape, kernel tensor.Shape, pad, stride []int) (poolGeom, error) {
	if len(x) != 4 || len(kernel) != 2 || len(pad) != 2 || len(stride) != 2 {
		return poolGeom{}, fmt.Errorf("maxpool2d: input %v, kernel %v, padding %v, stride %v: want (N,C,H,W) and pairs", x, kernel, pad, stride)
	}
	g := poolGeom{n: x[0], c: x[1], h: x[2], w: x[3], kh: kernel[0], kw: kernel[1], ph: pad[0], pw: pad[1], sh: stride[0], sw: stride[1]}
	if g.kh < 1 || g.kw < 1 || g.sh < 1 || g.sw < 1 || g.ph < 0 || g.pw < 0 {
		return poolGeom{}, fmt.Errorf("maxpool2d: kernel %v, stride %v and padding %v must be positive", kernel, stride, pad)
	}
	g.oh = (g.h+2*g.ph-g.kh)/g.sh + 1
	g.ow = (g.w+2*g.pw-g.kw)/g.sw + 1
	if g.oh < 1 || g.ow < 1 {
		return poolGeom{}, fmt.Errorf("maxpool2d: window %v does not fit input %v", kernel, x)
	}
	return g, nil
}

// argmax returns the index in plane (one H×W channel) of the maximum of
// output pixel (oy, ox)'s window, and that maximum, as gorgonia's maxPoolOp
// finds them: starting from -MaxFloat32, the first strictly larger value in
// row-major order wins (so ties go to the first, and the index is -1 when no
// value exceeds -MaxFloat32, e.g. all NaN).
func (g poolGeom) argmax(plane []float32, oy, ox int) (int, float32) {
	y0, x0 := oy*g.sh-g.ph, ox*g.sw-g.pw
	y1, x1 := min(y0+g.kh, g.h), min(x0+g.kw, g.w)
	y0, x0 = max(y0, 0), max(x0, 0)
	best, at := float32(-math.MaxFloat32), -1
	for y := y0; y < y1; y++ {
		row := plane[y*g.w : (y+1)*g.w]
		for x := x0; x < x1; x++ {
			if row[x] > best {
				best, at = row[x], y*g.w+x
			}
		}
	}
	return at, best
}

// maxPoolOp is max pooling as one float32 op with gorgonia.MaxPool2D's
// values and gradient (maxPoolGradOp), but no mask tensor: the backward pass
// finds each window's maximum again. 2×2 windows with stride 2 and no
// padding, the usual case, take a loop of their own.
type maxPoolOp struct {
	base
	kernel      tensor.Shape
	pad, stride []int
	out         outputCache
}

// MaxPool2D adds the max pooling of a float32 x (N, C, H, W) with the given
// window, symmetric padding (height, width) and stride, with
// gorgonia.MaxPool2D's values and gradient, as one op (other types get
// gorgonia.MaxPool2D).
func MaxPool2D(x *gorgonia.Node, kernel tensor.Shape, pad, stride []int) (*gorgonia.Node, error) {
	if x.Dtype() != tensor.Float32 {
		groups.Lock()
		defer groups.Unlock()
		return gorgonia.MaxPool2D(x, kernel, pad, stride)
	}
	if _, err := newPoolGeom(x.Shape(), kernel, pad, stride); err != nil {
		return nil, err
	}
	op := &maxPoolOp{kernel: kernel.Clone(), pad: append([]int(nil), pad...), stride: append([]int(nil), stride...)}
	op.label = fmt.Sprintf("maxpool %v pad%v stride%v", kernel, pad, stride)
	op.id = "tapenet." + op.label
	return gorgonia.ApplyOp(op, x)
}

func (*maxPoolOp) Arity() int { return 1 }

func (*maxPoolOp) Type() hm.Type { return hm.NewFnType(tensor4(), tensor4()) }

func (op *maxPoolOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(in)
	if err != nil || len(s) != 1 {
		return nil, fmt.Errorf("maxpool2d: want one input shape, got %v", in)
	}
	g, err := newPoolGeom(s[0], op.kernel, op.pad, op.stride)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{g.n, g.c, g.oh, g.ow}, nil
}

func (op *maxPoolOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("maxpool2d: %d inputs, want 1", len(in))
	}
	x, xs, err := rowMajor32(in[0])
	if err != nil {
		return nil, fmt.Errorf("maxpool2d: %w", err)
	}
	g, err := newPoolGeom(x.Shape(), op.kernel, op.pad, op.stride)
	if err != nil {
		return nil, err
	}
	out := op.out.get(tensor.Shape{g.n, g.c, g.oh, g.ow})
	ys := out.Float32s()
	planes := g.n * g.c
	if len(xs) != planes*g.h*g.w {
		return nil, fmt.Errorf("maxpool2d: %d values for shape %v", len(xs), x.Shape())
	}
	forImages(planes, planes*g.h*g.w*4, nil, 0, func(from, to, _ int) {
		g.planes(ys[from*g.oh*g.ow:to*g.oh*g.ow], xs[from*g.h*g.w:to*g.h*g.w])
	})
	return out, nil
}

// planes pools consecutive planes of xs (H×W each) into ys (oh×ow each).
func (g poolGeom) planes(ys, xs []float32) {
	for p := 0; p < len(xs)/(g.h*g.w); p++ {
		plane := xs[p*g.h*g.w : (p+1)*g.h*g.w]
		dst := ys[p*g.oh*g.ow : (p+1)*g.oh*g.ow]
		if g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 {
			pool2x2(dst, plane, g.w, g.oh, g.ow)
			continue
		}
		for oy := 0; oy < g.oh; oy++ {
			for ox := 0; ox < g.ow; ox++ {
				_, dst[oy*g.ow+ox] = g.argmax(plane, oy, ox)
			}
		}
	}
}

// pool2x2 is the 2×2, stride 2 pooling of one plane.
func pool2x2(dst, plane []float32, w, oh, ow int) {
	for oy := 0; oy < oh; oy++ {
		pool2x2Row(dst[oy*ow:(oy+1)*ow], plane[2*oy*w:(2*oy+1)*w], plane[(2*oy+1)*w:(2*oy+2)*w])
	}
}

// pool2x2Go is pool2x2Row in Go, with argmax's order of comparisons: the
// two values of r0, then of r1, each winning only when strictly larger.
func pool2x2Go(dst, r0, r1 []float32) {
	for ox := range dst {
		m := float32(-math.MaxFloat32)
		for _, v := range [4]float32{r0[2*ox], r0[2*ox+1], r1[2*ox], r1[2*ox+1]} {
			if v > m {
				m = v
			}
		}
		dst[ox] = m
	}
}

// DiffWRT reports that the op is differentiable in its input.
func (*maxPoolOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff returns the gradient routed to each window's maximum.
func (op *maxPoolOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("maxpool2d: %d inputs, want 1", len(in))
	}
	g, err := newPoolGeom(in[0].Shape(), op.kernel, op.pad, op.stride)
	if err != nil {
		return nil, err
	}
	dx, err := gorgonia.ApplyOp(&maxPoolGradOp{gradOp: newGradOp(op.label+"'", op.id+".grad", 2, tensor.Shape{g.n, g.c, g.h, g.w}), g: g}, in[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}

// maxPoolGradOp computes dx from x and dy: zero, plus each output pixel's
// gradient added at its window's maximum, in gorgonia's order.
type maxPoolGradOp struct {
	gradOp
	g poolGeom
}

func (op *maxPoolGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	vals, err := op.inputs(in)
	if err != nil {
		return nil, err
	}
	xs, dys := vals[0], vals[1]
	g := op.g
	planes := g.n * g.c
	if len(xs) != planes*g.h*g.w || len(dys) != planes*g.oh*g.ow {
		return nil, fmt.Errorf("maxpool2d gradient: %d inputs and %d gradients for %dx%d planes", len(xs), len(dys), g.h, g.w)
	}
	out := op.out.get(op.shape)
	dxs := out.Float32s()
	forImages(planes, planes*g.h*g.w*4, nil, 0, func(from, to, _ int) {
		for p := from; p < to; p++ {
			plane := xs[p*g.h*g.w : (p+1)*g.h*g.w]
			dx := dxs[p*g.h*g.w : (p+1)*g.h*g.w]
			dy := dys[p*g.oh*g.ow : (p+1)*g.oh*g.ow]
			clear(dx)
			if g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 {
				unpool2x2(dx, plane, dy, g.w, g.oh, g.ow)
				continue
			}
			for oy := 0; oy < g.oh; oy++ {
				for ox := 0; ox < g.ow; ox++ {
					if at, _ := g.argmax(plane, oy, ox); at >= 0 {
						dx[at] += dy[oy*g.ow+ox]
					}
				}
			}
		}
	})
	return out, nil
}

// unpool2x2 adds each output gradient of a 2×2, stride-2 pooling of plane
// at its window's maximum in dx (zeroed).
func unpool2x2(dx, plane, dy []float32, w, oh, ow int) {
	for oy := 0; oy < oh; oy++ {
		i0, i1 := 2*oy*w, (2*oy+1)*w
		unpool2x2Row(dx[i0:i0+2*ow], dx[i1:i1+2*ow], plane[i0:i0+2*ow], plane[i1:i1+2*ow], dy[oy*ow:(oy+1)*ow])
	}
}

// unpool2x2Go is unpool2x2Row in Go: each window's maximum found as argmax
// finds it, dy added there.
func unpool2x2Go(dx0, dx1, r0, r1, dy []float32) {
	for ox, g := range dy {
		m, at, row := float32(-math.MaxFloat32), -1, dx0
		for i, v := range [4]float32{r0[2*ox], r0[2*ox+1], r1[2*ox], r1[2*ox+1]} {
			if v > m {
				m, at = v, i
			}
		}
		if at < 0 {
			continue
		}
		if at >= 2 {
			row, at = dx1, at-2
		}
		row[2*ox+at] += g
	}
}
