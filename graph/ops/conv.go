package ops

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/internal/sgemm"
)

// convGeom is the geometry of a 2-D convolution over NCHW tensors.
type convGeom struct {
	n, c, h, w   int // input
	f, kh, kw    int // filters
	ph, pw       int // padding, each side
	sh, sw       int // stride
	dh, dw       int // dilation
	oh, ow       int // output
	kernel, cell int // c·kh·kw values per patch; oh·ow patches per image
}

func newConvGeom(x, w tensor.Shape, pad, stride, dilation [2]int) (convGeom, error) {
	if len(x) != 4 || len(w) != 4 || x[1] != w[1] {
		return convGeom{}, fmt.Errorf("conv2d: input %v and filters %v do not fit (N,C,H,W)·(F,C,kh,kw)", x, w)
	}
	g := convGeom{n: x[0], c: x[1], h: x[2], w: x[3], f: w[0], kh: w[2], kw: w[3],
		ph: pad[0], pw: pad[1], sh: stride[0], sw: stride[1], dh: dilation[0], dw: dilation[1]}
	if g.sh < 1 || g.sw < 1 || g.dh < 1 || g.dw < 1 || g.ph < 0 || g.pw < 0 {
		return convGeom{}, fmt.Errorf("conv2d: stride %v, dilation %v and padding %v must be positive", stride, dilation, pad)
	}
	g.oh = (g.h+2*g.ph-g.dh*(g.kh-1)-1)/g.sh + 1
	g.ow = (g.w+2*g.pw-g.dw*(g.kw-1)-1)/g.sw + 1
	if g.oh < 1 || g.ow < 1 {
		return convGeom{}, fmt.Errorf("conv2d: kernel %dx%d does not fit the padded input %dx%d", g.kh, g.kw, g.h+2*g.ph, g.w+2*g.pw)
	}
	g.kernel, g.cell = g.c*g.kh*g.kw, g.oh*g.ow
	return g, nil
}

func (g convGeom) outShape() tensor.Shape { return tensor.Shape{g.n, g.f, g.oh, g.ow} }

// span returns the output positions [lo, hi) of one axis whose input
// position o·stride + x0 lies inside [0, size), for n outputs.
func span(x0, stride, size, n int) (lo, hi int) {
	if x0 < 0 {
		lo = min((-x0+stride-1)/stride, n)
	}
	if size-x0 <= 0 {
		return lo, lo
	}
	return lo, max(lo, min(n, (size-x0+stride-1)/stride))
}

// patchesT writes the patches of one image (C, H, W) as a (c·kh·kw) × (oh·ow)
// matrix whose rows are ld apart: row (ch, i, j) holds that kernel tap for
// every output pixel, so W (F × c·kh·kw) times it is the image's output
// (F × oh·ow), channels first. Each output row is a zeroed head and tail
// (the padding) around one copy (stride 1) or gather; when the output is
// as wide as the input with stride 1 (a padded 3×3 convolution), all the
// rows of a tap are one copy with the padding columns zeroed after it.
func (g convGeom) patchesT(dst []float32, ld int, im []float32) {
	row := 0
	for ch := 0; ch < g.c; ch++ {
		plane := im[ch*g.h*g.w : (ch+1)*g.h*g.w]
		for i := 0; i < g.kh; i++ {
			y0 := i*g.dh - g.ph
			ylo, yhi := span(y0, g.sh, g.h, g.oh)
			for j := 0; j < g.kw; j++ {
				d := dst[row*ld : row*ld+g.cell]
				row++
				x0 := j*g.dw - g.pw
				lo, hi := span(x0, g.sw, g.w, g.ow)
				clear(d[:ylo*g.ow])
				clear(d[yhi*g.ow:])
				if g.sh == 1 && g.sw == 1 && g.ow == g.w {
					// d[q] = plane[q + s] for the rows inside; the copy
					// is clipped to the plane, and what it misses or
					// wraps into is the padding columns, zeroed below.
					s := y0*g.w + x0
					from, to := max(ylo*g.ow, -s), min(yhi*g.ow, len(plane)-s)
					if from < to {
						copy(d[from:to], plane[from+s:to+s])
					}
					for oy := ylo; oy < yhi; oy++ {
						out := d[oy*g.ow : (oy+1)*g.ow]
						zero(out[:lo])
						zero(out[hi:])
					}
					continue
				}
				for oy := ylo; oy < yhi; oy++ {
					out := d[oy*g.ow : (oy+1)*g.ow]
					y := oy*g.sh + y0
					src := plane[y*g.w : (y+1)*g.w]
					zero(out[:lo])
					zero(out[hi:])
					if g.sw == 1 {
						copy(out[lo:hi], src[lo+x0:hi+x0])
						continue
					}
					for ox := lo; ox < hi; ox++ {
						out[ox] = src[ox*g.sw+x0]
					}
				}
			}
		}
	}
}

// zero clears a few values (padding columns) without a call.
func zero(s []float32) {
	for i := range s {
		s[i] = 0
	}
}

// addPatchesT adds the patch gradients cols, laid out as patchesT writes
// them (rows ld apart), back into one image (C, H, W), which it first
// zeroes: Gorgonia's col2im with the same sums. Each input pixel gets one
// term from each output pixel whose window covers it; col2im adds them in
// the output pixels' row-major order, which for one pixel is the taps in
// reverse (i, then j, descending: a later output row sees the pixel through
// an earlier kernel row). Walking the taps in that reverse order, each tap's
// rows added at once, gives every pixel the same additions in the same
// order, so the same bits.
func (g convGeom) addPatchesT(im, cols []float32, ld int) {
	clear(im)
	for ch := 0; ch < g.c; ch++ {
		plane := im[ch*g.h*g.w : (ch+1)*g.h*g.w]
		for i := g.kh - 1; i >= 0; i-- {
			y0 := i*g.dh - g.ph
			ylo, yhi := span(y0, g.sh, g.h, g.oh)
			for j := g.kw - 1; j >= 0; j-- {
				r := (ch*g.kh+i)*g.kw + j
				d := cols[r*ld : r*ld+g.cell]
				x0 := j*g.dw - g.pw
				lo, hi := span(x0, g.sw, g.w, g.ow)
				for oy := ylo; oy < yhi; oy++ {
					y := oy*g.sh + y0
					dst := plane[y*g.w : (y+1)*g.w]
					src := d[oy*g.ow : (oy+1)*g.ow]
					if g.sw == 1 {
						addTo(dst[lo+x0:hi+x0], src[lo:hi])
						continue
					}
					for ox := lo; ox < hi; ox++ {
						dst[ox*g.sw+x0] += src[ox]
					}
				}
			}
		}
	}
}

// addTo adds src to dst element by element.
func addTo(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// transpose writes the rows × cols matrix src into dst as cols × rows,
// rows of dst ld apart: eight rows of src at a time, so that each row of
// dst gets eight adjacent values per visit (a row at a time scattered
// single values ld apart, 2.5x slower on the convnet's output gradient).
func transpose(dst []float32, ld int, src []float32, rows, cols int) {
	r := 0
	for ; r+8 <= rows; r += 8 {
		s0 := src[r*cols : r*cols+cols]
		s1 := src[(r+1)*cols : (r+1)*cols+cols]
		s2 := src[(r+2)*cols : (r+2)*cols+cols]
		s3 := src[(r+3)*cols : (r+3)*cols+cols]
		s4 := src[(r+4)*cols : (r+4)*cols+cols]
		s5 := src[(r+5)*cols : (r+5)*cols+cols]
		s6 := src[(r+6)*cols : (r+6)*cols+cols]
		s7 := src[(r+7)*cols : (r+7)*cols+cols]
		for c := range cols {
			d := dst[c*ld+r : c*ld+r+8]
			d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7] = s0[c], s1[c], s2[c], s3[c], s4[c], s5[c], s6[c], s7[c]
		}
	}
	for ; r < rows; r++ {
		for c, v := range src[r*cols : r*cols+cols] {
			dst[c*ld+r] = v
		}
	}
}

// fill sets every element of s to v: a few stores, then copies of what is
// already filled (memmove moves 32-64 bytes a cycle, a store loop 4).
func fill(s []float32, v float32) {
	n := min(len(s), 16)
	for i := range n {
		s[i] = v
	}
	for n < len(s) {
		n += copy(s[n:], s[:n])
	}
}

func isNegZero(v float32) bool { return v == 0 && math.Signbit(float64(v)) }

// forImages runs work(from, to, worker) over the images [0, n), split over
// the cores when the product is large enough to pay for the goroutines.
// Each worker may use slots buffers of tmp (indices worker·slots to
// worker·slots+slots-1), made room for before the goroutines start.
func forImages(n int, flops int, tmp *scratch, slots int, work func(from, to, worker int)) {
	workers := 1
	if flops >= 1<<22 {
		workers = min(runtime.GOMAXPROCS(0), n)
	}
	if tmp != nil {
		tmp.reserve(max(workers, 1) * slots)
	}
	if workers <= 1 {
		work(0, n, 0)
		return
	}
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for w := 0; w*per < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(w*per, min((w+1)*per, n), w)
		}()
	}
	wg.Wait()
}

// scratch is per-worker scratch memory kept by an op between runs. Workers
// running at once may each get their own buffer only after reserve has
// made room for all (get appends otherwise, which is not safe then).
type scratch struct{ bufs [][]float32 }

// reserve makes room for n buffers.
func (s *scratch) reserve(n int) {
	for len(s.bufs) < n {
		s.bufs = append(s.bufs, nil)
	}
}

// get returns buffer i with room for size values.
func (s *scratch) get(worker, size int) []float32 {
	for len(s.bufs) <= worker {
		s.bufs = append(s.bufs, nil)
	}
	if cap(s.bufs[worker]) < size {
		s.bufs[worker] = make([]float32, size)
	}
	return s.bufs[worker][:size]
}

// conv2dOp is a 2-D convolution of x (N, C, H, W) with w (F, C, kh, kw),
// plus b (F) when it has one, as one Gorgonia op writing (N, F, oh, ow)
// directly: per image, its patches laid out tap by tap, one matrix product
// W·patches into the output's channel planes, then the bias. Each output
// value is the same FMA chain as gorgonia.Conv2d's (im2col, product,
// bias, transpose), so the results are bit for bit those of that form;
// the gradients (conv2dFilterGradOp, conv2dInputGradOp) are too.
type conv2dOp struct {
	base
	pad, stride, dilation [2]int
	bias                  bool
	inputGrad             bool // false when x is a leaf: a model input needs no gradient
	out                   outputCache
	tmp                   scratch
	cached                *convPlan
}

// Conv2D adds the 2-D cross-correlation of x (N, C, H, W) with w
// (F, C, kh, kw), plus b (F) when b is not nil, as one fused op: what
// gorgonia.Conv2d computes (im2col, one matrix product per image, the
// bias), written straight into the (N, F, oh, ow) output. pad, stride and
// dilation are (height, width) pairs; padding is symmetric. Its gradients
// are fused ops too.
func Conv2D(x, w, b *gorgonia.Node, kernel, pad, stride, dilation [2]int) (*gorgonia.Node, error) {
	if x.Dims() != 4 || w.Dims() != 4 {
		return nil, fmt.Errorf("conv2d: input %v and filters %v must be 4-d", x.Shape(), w.Shape())
	}
	if ws := w.Shape(); ws[2] != kernel[0] || ws[3] != kernel[1] {
		return nil, fmt.Errorf("conv2d: filters %v are not %dx%d", ws, kernel[0], kernel[1])
	}
	if _, err := newConvGeom(x.Shape(), w.Shape(), pad, stride, dilation); err != nil {
		return nil, err
	}
	op := &conv2dOp{pad: pad, stride: stride, dilation: dilation, bias: b != nil, inputGrad: !x.IsVar()}
	op.label = fmt.Sprintf("conv2d pad%v stride%v dilation%v", pad, stride, dilation)
	op.id = "tapenet." + op.label
	if b == nil {
		return gorgonia.ApplyOp(op, x, w)
	}
	return gorgonia.ApplyOp(op, x, w, b)
}

func (op *conv2dOp) Arity() int {
	if op.bias {
		return 3
	}
	return 2
}

func tensor4() gorgonia.TensorType { return gorgonia.TensorType{Dims: 4, Of: hm.TypeVariable('a')} }

func (op *conv2dOp) Type() hm.Type {
	if op.bias {
		return hm.NewFnType(tensor4(), tensor4(), gorgonia.TensorType{Dims: 1, Of: hm.TypeVariable('a')}, tensor4())
	}
	return hm.NewFnType(tensor4(), tensor4(), tensor4())
}

func shapesOf(in []gorgonia.DimSizer) ([]tensor.Shape, error) {
	out := make([]tensor.Shape, len(in))
	for i, d := range in {
		s, ok := d.(tensor.Shape)
		if !ok {
			return nil, fmt.Errorf("input %d has no shape (%T)", i, d)
		}
		out[i] = s
	}
	return out, nil
}

func (op *conv2dOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != op.Arity() {
		return nil, fmt.Errorf("conv2d: %d inputs, want %d", len(in), op.Arity())
	}
	s, err := shapesOf(in)
	if err != nil {
		return nil, fmt.Errorf("conv2d: %w", err)
	}
	g, err := newConvGeom(s[0], s[1], op.pad, op.stride, op.dilation)
	if err != nil {
		return nil, err
	}
	if op.bias && (len(s[2]) != 1 || s[2][0] != g.f) {
		return nil, fmt.Errorf("conv2d: bias %v for %d filters", s[2], g.f)
	}
	return g.outShape(), nil
}

func (op *conv2dOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	g, xs, ws, bs, err := op.operands(op, in)
	if err != nil {
		return nil, err
	}
	out := op.out.get(g.outShape())
	ys := out.Float32s()
	p := op.plan(g)
	forImages(g.n, 2*g.n*g.f*g.kernel*g.cell, &op.tmp, 1, func(from, to, worker int) {
		tmp := op.tmp.get(worker, p.size)
		for i := from; i < to; i++ {
			op.image(p, ys[i*g.f*g.cell:(i+1)*g.f*g.cell], tmp, xs[i*g.c*g.h*g.w:(i+1)*g.c*g.h*g.w], ws, bs)
		}
	})
	return out, nil
}

// operands checks the inputs of a convolution (x, w and, with a bias, b)
// and returns its geometry and their values in row-major order; errors
// name op (the convolution or a block built on it).
func (op *conv2dOp) operands(name fmt.Stringer, in []gorgonia.Value) (g convGeom, xs, ws, bs []float32, err error) {
	if len(in) != op.Arity() {
		return g, nil, nil, nil, fmt.Errorf("%v: %d inputs, want %d", name, len(in), op.Arity())
	}
	x, xs, err := rowMajor32(in[0])
	if err != nil {
		return g, nil, nil, nil, fmt.Errorf("%v: input: %w", name, err)
	}
	w, ws, err := rowMajor32(in[1])
	if err != nil {
		return g, nil, nil, nil, fmt.Errorf("%v: filters: %w", name, err)
	}
	if op.bias {
		if _, bs, err = rowMajor32(in[2]); err != nil {
			return g, nil, nil, nil, fmt.Errorf("%v: bias: %w", name, err)
		}
	}
	if g, err = newConvGeom(x.Shape(), w.Shape(), op.pad, op.stride, op.dilation); err != nil {
		return g, nil, nil, nil, err
	}
	if len(xs) != g.n*g.c*g.h*g.w || len(ws) != g.f*g.kernel || (op.bias && len(bs) != g.f) {
		return g, nil, nil, nil, fmt.Errorf("%v: %d, %d values for shapes %v, %v", name, len(xs), len(ws), x.Shape(), w.Shape())
	}
	return g, xs, ws, bs, nil
}

// convPlan is how conv2dOp.image computes one image: with patchesT and
// Sgemm, or (stride 1, 32 taps or more, AVX-512, tapenet's sgemm installed) over a
// zero-padded copy of the image whose taps are shifted views of it
// (sgemm.MultiplyShifted), which writes no patch matrix. The shifted
// form computes oh rows of wp = w + 2·pw outputs, of which the last
// wp - ow per row are thrown away; the ones kept are the same FMA chains
// over the same values (a padded zero is the +0 patchesT writes), so both
// give the same bits.
type convPlan struct {
	g       convGeom
	shifted bool
	hp, wp  int   // padded plane
	offs    []int // per tap, its offset in the padded image
	padded  int   // values of the padded image, with the slack the kernel reads
	size    int   // scratch values per worker
}

// plan returns the plan for geometry g, kept on the op between runs.
// It must run before image's workers start.
func (op *conv2dOp) plan(g convGeom) *convPlan {
	if op.cached != nil && op.cached.g == g {
		return op.cached
	}
	_, ours := gorgonia.WhichBLAS().(sgemm.BLAS)
	p := &convPlan{g: g, size: g.kernel * g.cell}
	if g.sh == 1 && g.sw == 1 && ours && sgemm.Shifted() {
		p.hp, p.wp = g.h+2*g.ph, g.w+2*g.pw
		p.offs = make([]int, 0, g.kernel)
		for ch := 0; ch < g.c; ch++ {
			for i := 0; i < g.kh; i++ {
				for j := 0; j < g.kw; j++ {
					p.offs = append(p.offs, ch*p.hp*p.wp+i*g.dh*p.wp+j*g.dw)
				}
			}
		}
		p.padded = p.offs[len(p.offs)-1] + (g.oh*p.wp+31)/32*32
		// With few taps (one input channel) the patch matrix is cheap to
		// write and the padded columns' extra products cost what it saves
		// (measured on DeepConvNet's first convolution and the convnet's):
		// the shifted form is for many taps.
		if g.kernel >= 32 {
			p.shifted, p.size = true, p.padded+g.f*g.oh*p.wp
		}
	}
	op.cached = p
	return p
}

// image writes the convolution of one image im (C, H, W) into y (F, oh·ow),
// using tmp (plan.size values) as scratch.
func (op *conv2dOp) image(p *convPlan, y, tmp, im, ws, bs []float32) {
	g := p.g
	// The product adds its sum to C once per depth block of 256 (see
	// internal/sgemm). With one block, starting C at the bias gives
	// b + Σ, the bits of (0 + Σ) + b, one pass sooner; a bias of -0 would
	// not (-0 + -0 is -0, (0 + -0) + -0 is +0), so it takes the long way.
	biasFirst := op.bias && g.kernel <= 256 && !slices.ContainsFunc(bs, isNegZero)
	if p.shifted {
		padded, out := tmp[:p.padded], tmp[p.padded:p.size]
		clear(padded)
		for ch := 0; ch < g.c; ch++ {
			for yy := 0; yy < g.h; yy++ {
				at := (ch*p.hp+yy+g.ph)*p.wp + g.pw
				copy(padded[at:at+g.w], im[(ch*g.h+yy)*g.w:(ch*g.h+yy+1)*g.w])
			}
		}
		n := g.oh * p.wp
		if biasFirst {
			for f, bf := range bs {
				fill(out[f*n:(f+1)*n], bf)
			}
		} else {
			clear(out)
		}
		sgemm.MultiplyShifted(g.f, n, g.kernel, ws, g.kernel, padded, p.offs, out, n)
		for f := 0; f < g.f; f++ {
			for oy := 0; oy < g.oh; oy++ {
				copy(y[(f*g.oh+oy)*g.ow:(f*g.oh+oy+1)*g.ow], out[f*n+oy*p.wp:f*n+oy*p.wp+g.ow])
			}
		}
	} else {
		cols := tmp[:g.kernel*g.cell]
		g.patchesT(cols, g.cell, im)
		beta := float32(0)
		if biasFirst {
			for f, bf := range bs {
				fill(y[f*g.cell:(f+1)*g.cell], bf)
			}
			beta = 1
		}
		gorgonia.WhichBLAS().Sgemm(blas.NoTrans, blas.NoTrans, g.f, g.cell, g.kernel, 1, ws, g.kernel, cols, g.cell, beta, y, g.cell)
	}
	if op.bias && !biasFirst {
		for f, bf := range bs {
			plane := y[f*g.cell : (f+1)*g.cell]
			for p := range plane {
				plane[p] += bf
			}
		}
	}
}

// DiffWRT reports that the op is differentiable in the filters and bias,
// and in its input unless that is a leaf of the graph (a model's input
// placeholder, whose gradient nothing reads: the first convolution of a
// network skips the pass that would add its patch gradients back).
func (op *conv2dOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = i > 0 || op.inputGrad
	}
	return d
}

// SymDiff returns dx (conv2dInputGradOp; nil when DiffWRT says none), dW (conv2dFilterGradOp over the
// output gradient with channels last) and db (its column sums), as
// gorgonia.Conv2d's gradient computes them, value for value.
func (op *conv2dOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(in) != op.Arity() {
		return nil, fmt.Errorf("conv2d: %d inputs, want %d", len(in), op.Arity())
	}
	g, err := newConvGeom(in[0].Shape(), in[1].Shape(), op.pad, op.stride, op.dilation)
	if err != nil {
		return nil, err
	}
	var dx *gorgonia.Node
	if op.inputGrad {
		if dx, err = gorgonia.ApplyOp(&conv2dInputGradOp{gradOp: newGradOp("conv2d dx", "tapenet.conv2d.dx."+op.label, 2, tensor.Shape{g.n, g.c, g.h, g.w}), g: g}, in[1], grad); err != nil {
			return nil, err
		}
	}
	dw, err := gorgonia.ApplyOp(&conv2dFilterGradOp{gradOp: newGradOp("conv2d dW", "tapenet.conv2d.dw."+op.label, 2, tensor.Shape{g.f, g.c, g.kh, g.kw}), g: g}, in[0], grad)
	if err != nil {
		return nil, err
	}
	if !op.bias {
		return gorgonia.Nodes{dx, dw}, nil
	}
	db, err := gorgonia.ApplyOp(&conv2dBiasGradOp{gradOp: newGradOp("conv2d db", "tapenet.conv2d.db."+op.label, 1, tensor.Shape{g.f}), g: g}, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dw, db}, nil
}

// conv2dFilterGradOp is dW = Σ over all images and output pixels of
// dy ⊗ patch, computed transposed: dWᵀ = P·D, the product
// (c·kh·kw × N·oh·ow)·(N·oh·ow × F) of every image's patches laid out tap by
// tap and the output gradient with channels last, then moved into dW.
// gorgonia.Conv2d's gradient computes the product the other way round,
// (F × N·oh·ow)·(N·oh·ow × c·kh·kw); tapenet's sgemm sums each element as
// one FMA chain per depth block of 256, in depth order, added to C block
// after block, whatever the orientation and however the product is cut
// into calls along the depth at multiples of 256 (the later calls adding
// to C): so dW has the same bits. The patches are never all in memory:
// each core takes a range of taps (rows of P, as many each as can be)
// and walks the N·oh·ow depth in steps of filterGradChunk, writing that
// part of its rows of P into a cache-sized buffer and multiplying it.
type conv2dFilterGradOp struct {
	gradOp
	g   convGeom
	tmp scratch
}

// filterGradChunk is the depth of one step of conv2dFilterGradOp: a
// multiple of sgemm's depth block (256), small enough that a core's patch
// rows (up to a few hundred taps) stay in L2.
const filterGradChunk = 1024

func (op *conv2dFilterGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	vals, err := op.inputs(in)
	if err != nil {
		return nil, err
	}
	xs, dys := vals[0], vals[1]
	g := op.g
	rows := g.n * g.cell
	if len(xs) != g.n*g.c*g.h*g.w || len(dys) != rows*g.f {
		return nil, fmt.Errorf("%v: %d inputs and %d gradients for %v", op, len(xs), len(dys), g.outShape())
	}
	// 32 values of slack after the output gradient with channels last let
	// the product read its rows in place when F is not a multiple of 32
	// (see internal/sgemm: the kernel reads 32 columns, masks the rest).
	channelsLast := op.tmp.get(0, rows*g.f+32)
	forImages(g.n, rows*g.f*8, nil, 0, func(from, to, _ int) {
		for i := from; i < to; i++ {
			transpose(channelsLast[i*g.cell*g.f:], g.f, dys[i*g.f*g.cell:(i+1)*g.f*g.cell], g.f, g.cell)
		}
	})
	dwT := op.tmp.get(1, g.kernel*g.f)
	sgemm := gorgonia.WhichBLAS().Sgemm
	op.tmp.reserve(2 + runtime.GOMAXPROCS(0)) // buffer 2+w is worker w's
	forImages(g.kernel, 2*g.kernel*g.f*rows, nil, 0, func(k0, k1, worker int) {
		p := op.tmp.get(2+worker, (k1-k0)*filterGradChunk)
		for r0 := 0; r0 < rows; r0 += filterGradChunk {
			depth := min(filterGradChunk, rows-r0)
			for k := k0; k < k1; k++ {
				g.tapRow(p[(k-k0)*depth:(k-k0+1)*depth], k, xs, r0)
			}
			var beta float32
			if r0 > 0 {
				beta = 1
			}
			sgemm(blas.NoTrans, blas.NoTrans, k1-k0, g.f, depth, 1, p, depth, channelsLast[r0*g.f:], g.f, beta, dwT[k0*g.f:], g.f)
		}
	})
	out := op.out.get(op.shape)
	transpose(out.Float32s(), g.kernel, dwT, g.kernel, g.f)
	return out, nil
}

// tapRow writes tap k (channel, kernel row, kernel column) of the patches
// of the batch xs for the output pixels r0 to r0+len(dst) of the whole
// batch (image r/cell, pixel r%cell): row k of the matrix patchesT writes
// for each image, over a range of images side by side.
func (g convGeom) tapRow(dst []float32, k int, xs []float32, r0 int) {
	ch, i, j := k/(g.kh*g.kw), k/g.kw%g.kh, k%g.kw
	y0, x0 := i*g.dh-g.ph, j*g.dw-g.pw
	lo, hi := span(x0, g.sw, g.w, g.ow)
	img, q := r0/g.cell, r0%g.cell
	if g.sh == 1 && g.sw == 1 && g.ow == g.w {
		// Outputs as wide as the input (a padded 3×3 convolution): the
		// tap's values for a run of outputs of one image are one copy of
		// the plane shifted by the tap, as in patchesT, with the rows and
		// columns that fall in the padding zeroed.
		ylo, yhi := span(y0, 1, g.h, g.oh)
		shift := y0*g.w + x0
		for at := 0; at < len(dst); img, q = img+1, 0 {
			plane := xs[(img*g.c+ch)*g.h*g.w : (img*g.c+ch+1)*g.h*g.w]
			end := min(g.cell, q+len(dst)-at) // this image's outputs [q, end)
			out := dst[at : at+end-q]         // output q+i in out[i]
			from, to := max(q, ylo*g.ow, -shift), min(end, yhi*g.ow, len(plane)-shift)
			if from < to {
				zero(out[:from-q])
				copy(out[from-q:to-q], plane[from+shift:to+shift])
				zero(out[to-q:])
			} else {
				zero(out)
			}
			for oy := q / g.ow; oy*g.ow < end; oy++ {
				// this row's columns [a, b) are in out
				a, b := max(q-oy*g.ow, 0), min(end-oy*g.ow, g.ow)
				base := oy*g.ow - q
				if e := min(lo, b); a < e {
					zero(out[base+a : base+e])
				}
				if s := max(hi, a); s < b {
					zero(out[base+s : base+b])
				}
			}
			at += end - q
		}
		return
	}
	// The position (image, output row, column) of r0, then moved along
	// without divisions.
	oy, ox := q/g.ow, q%g.ow
	for at := 0; at < len(dst); {
		plane := xs[(img*g.c+ch)*g.h*g.w : (img*g.c+ch+1)*g.h*g.w]
		n := min(g.ow-ox, len(dst)-at) // outputs of this row in dst
		out := dst[at : at+n]
		at += n
		y := oy*g.sh + y0
		a, b := max(ox, lo), min(ox+n, hi)
		switch {
		case y < 0 || y >= g.h || a >= b:
			zero(out)
		default:
			zero(out[:a-ox])
			zero(out[b-ox:])
			src := plane[y*g.w : (y+1)*g.w]
			if g.sw == 1 {
				copy(out[a-ox:b-ox], src[a+x0:b+x0])
			} else {
				for x := a; x < b; x++ {
					out[x-ox] = src[x*g.sw+x0]
				}
			}
		}
		if ox, oy = 0, oy+1; oy == g.oh {
			oy, img = 0, img+1
		}
	}
}

// conv2dInputGradOp is dx. With stride 1 it is the convolution of the
// output gradient, padded by the kernel's reach less the padding, with the
// filters turned half round and their input and output channels swapped
// (a transposed convolution), computed as the forward pass computes one
// (conv2dOp.image, the shifted form where it runs): no patch gradients are
// written and added back. Each dx element is then one FMA chain over all F·kh·kw
// terms in the order (filter, kernel row, kernel column) turned round,
// where col2im sums kh·kw chains of F terms each: a different rounding,
// within the float32 dot-product bound (k·2⁻²⁴·Σ|terms|, k = F·kh·kw) of
// the exact sum as col2im's is (TestInputGradBound). Otherwise (strides,
// padding beyond the kernel's reach, no AVX-512): per image, the patch
// gradients Wᵀ·dy (c·kh·kw × oh·ow, one FMA chain over the filters per
// element as gorgonia.Conv2d's dyᵀ·W has) added back into the image by
// addPatchesT, in col2im's order: gorgonia.Conv2d's bits.
type conv2dInputGradOp struct {
	gradOp
	g       convGeom
	tmp     scratch
	col2im  bool      // always the patch-gradient path (tests)
	t       *conv2dOp // the transposed convolution, when it pays
	flipped []float32 // its filters (C, F, kh, kw)
}

// transposed returns the stride-1 transposed convolution computing dx and
// its geometry, or nil when the patch-gradient path is to run.
func (op *conv2dInputGradOp) transposed() (*conv2dOp, convGeom) {
	g := op.g
	th, tw := g.dh*(g.kh-1)-g.ph, g.dw*(g.kw-1)-g.pw
	if op.col2im || g.sh != 1 || g.sw != 1 || th < 0 || tw < 0 {
		return nil, convGeom{}
	}
	tg, err := newConvGeom(tensor.Shape{g.n, g.f, g.oh, g.ow}, tensor.Shape{g.c, g.f, g.kh, g.kw}, [2]int{th, tw}, [2]int{1, 1}, [2]int{g.dh, g.dw})
	if err != nil || tg.oh != g.h || tg.ow != g.w {
		return nil, convGeom{}
	}
	if op.t == nil {
		op.t = &conv2dOp{pad: [2]int{th, tw}, stride: [2]int{1, 1}, dilation: [2]int{g.dh, g.dw}}
	}
	if !op.t.plan(tg).shifted {
		return nil, convGeom{}
	}
	return op.t, tg
}

func (op *conv2dInputGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	vals, err := op.inputs(in)
	if err != nil {
		return nil, err
	}
	ws, dys := vals[0], vals[1]
	g := op.g
	if len(ws) != g.f*g.kernel || len(dys) != g.n*g.f*g.cell {
		return nil, fmt.Errorf("%v: %d filters and %d gradients for %v", op, len(ws), len(dys), g.outShape())
	}
	out := op.out.get(op.shape)
	dxs := out.Float32s()
	if t, tg := op.transposed(); t != nil {
		// flipped[c][f][i][j] = w[f][c][kh-1-i][kw-1-j]
		op.flipped = slices.Grow(op.flipped[:0], len(ws))[:len(ws)]
		taps := g.kh * g.kw
		for f := 0; f < g.f; f++ {
			for c := 0; c < g.c; c++ {
				src := ws[(f*g.c+c)*taps : (f*g.c+c+1)*taps]
				dst := op.flipped[(c*g.f+f)*taps : (c*g.f+f+1)*taps]
				for k, v := range src {
					dst[taps-1-k] = v
				}
			}
		}
		p := t.plan(tg)
		forImages(g.n, 2*g.n*g.f*g.kernel*g.cell, &t.tmp, 1, func(from, to, worker int) {
			tmp := t.tmp.get(worker, p.size)
			for i := from; i < to; i++ {
				t.image(p, dxs[i*g.c*g.h*g.w:(i+1)*g.c*g.h*g.w], tmp, dys[i*g.f*g.cell:(i+1)*g.f*g.cell], op.flipped, nil)
			}
		})
		return out, nil
	}
	sgemm := gorgonia.WhichBLAS().Sgemm
	forImages(g.n, 2*g.n*g.f*g.kernel*g.cell, &op.tmp, 1, func(from, to, worker int) {
		cols := op.tmp.get(worker, g.kernel*g.cell)
		for i := from; i < to; i++ {
			dy := dys[i*g.f*g.cell : (i+1)*g.f*g.cell]
			sgemm(blas.Trans, blas.NoTrans, g.kernel, g.cell, g.f, 1, ws, g.kernel, dy, g.cell, 0, cols, g.cell)
			g.addPatchesT(dxs[i*g.c*g.h*g.w:(i+1)*g.c*g.h*g.w], cols, g.cell)
		}
	})
	return out, nil
}

// conv2dBiasGradOp is db: each filter's output gradient summed over images
// and pixels, left to right from the first value, as Gorgonia's column sum
// of the (N·oh·ow, F) gradient adds it.
type conv2dBiasGradOp struct {
	gradOp
	g convGeom
}

func (op *conv2dBiasGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	vals, err := op.inputs(in)
	if err != nil {
		return nil, err
	}
	dys := vals[0]
	g := op.g
	if len(dys) != g.n*g.f*g.cell {
		return nil, fmt.Errorf("%v: %d gradients for %v", op, len(dys), g.outShape())
	}
	out := op.out.get(op.shape)
	db := out.Float32s()
	// Each filter's sum is one chain of dependent adds; filters are
	// independent, so several go at once (four chains per goroutine, the
	// filters split over the cores).
	forImages(g.f, g.n*g.f*g.cell*4, nil, 0, func(from, to, _ int) {
		f := from
		for ; f+4 <= to; f += 4 {
			s0, s1, s2, s3 := dys[f*g.cell], dys[(f+1)*g.cell], dys[(f+2)*g.cell], dys[(f+3)*g.cell]
			for i := 0; i < g.n; i++ {
				p0 := dys[(i*g.f+f)*g.cell : (i*g.f+f+1)*g.cell]
				p1 := dys[(i*g.f+f+1)*g.cell : (i*g.f+f+2)*g.cell]
				p2 := dys[(i*g.f+f+2)*g.cell : (i*g.f+f+3)*g.cell]
				p3 := dys[(i*g.f+f+3)*g.cell : (i*g.f+f+4)*g.cell]
				start := 0
				if i == 0 {
					start = 1
				}
				for p := start; p < len(p0); p++ {
					s0 += p0[p]
					s1 += p1[p]
					s2 += p2[p]
					s3 += p3[p]
				}
			}
			db[f], db[f+1], db[f+2], db[f+3] = s0, s1, s2, s3
		}
		for ; f < to; f++ {
			sum := dys[f*g.cell]
			for i := 0; i < g.n; i++ {
				plane := dys[(i*g.f+f)*g.cell : (i*g.f+f+1)*g.cell]
				if i == 0 {
					plane = plane[1:]
				}
				for _, v := range plane {
					sum += v
				}
			}
			db[f] = sum
		}
	})
	return out, nil
}

// gradOp holds what the gradient ops share: a fixed output shape, a fixed
// number of float32 inputs, and no derivative of their own (tapenet takes
// first derivatives only).
type gradOp struct {
	base
	arity int
	shape tensor.Shape
	dims  []int // the inputs' ranks; nil: all 4
	out   outputCache
}

func newGradOp(label, id string, arity int, shape tensor.Shape) gradOp {
	return gradOp{base: base{label: label, id: id}, arity: arity, shape: shape}
}

func (op *gradOp) Arity() int { return op.arity }

// Type is a function of arity tensors to a tensor of the output's rank.
func (op *gradOp) Type() hm.Type {
	ts := make([]hm.Type, op.arity+1)
	for i := range op.arity {
		d := 4
		if op.dims != nil {
			d = op.dims[i]
		}
		ts[i] = gorgonia.TensorType{Dims: d, Of: hm.TypeVariable('a')}
	}
	ts[op.arity] = gorgonia.TensorType{Dims: len(op.shape), Of: hm.TypeVariable('a')}
	return hm.NewFnType(ts...)
}

func (op *gradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}

// DiffWRT: a gradient is not differentiated again.
func (*gradOp) DiffWRT(n int) []bool { return make([]bool, n) }

// SymDiff is not defined: tapenet takes first derivatives only.
func (op *gradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, fmt.Errorf("%v: no second derivative", op)
}

// inputs returns the values of the op's inputs in row-major order.
func (op *gradOp) inputs(in []gorgonia.Value) ([][]float32, error) {
	if len(in) != op.arity {
		return nil, fmt.Errorf("%v: %d inputs, want %d", op, len(in), op.arity)
	}
	vals := make([][]float32, len(in))
	for i, v := range in {
		_, data, err := rowMajor32(v)
		if err != nil {
			return nil, fmt.Errorf("%v: input %d: %w", op, i, err)
		}
		vals[i] = data
	}
	return vals, nil
}
