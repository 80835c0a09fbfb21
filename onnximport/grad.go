package onnximport

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"
	"slices"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Gradients of the onnx-op kernels, so that imported models train through
// the common differentiable operators: elementwise functions and
// arithmetic, convolution (groups, any rank), LayerNormalization, the
// softmaxes, means and sums, matrix products by a matrix, resampling, and
// the operators that move values without computing (Reshape, Transpose,
// Slice, Gather, Concat, Expand, Tile, Split, Pad, nearest Resize, ...).
// Each is computed in float64 on whole tensors, like the forward kernel,
// and checked against finite differences (TestOpGradients).

// gradForm is an operator's gradient: diff lists the ONNX inputs it
// differentiates; f gives the gradient with respect to input wrt from
// the inputs, the output y and its gradient dy. form, when set, says
// whether the operator's form (its attributes) has one.
type gradForm struct {
	diff []int
	f    func(l *Op, in []*arr, y, dy *arr, wrt int) ([]float64, error)
	form func(l *Op) bool
}

// grads holds the gradient of each operator that has one. It is fixed (no
// registration): read-only after package initialisation.
var grads = map[string]gradForm{}

// perSample says, for operators that are not elementwise, whether a node
// treats every index of the first axis on its own (the batch of a model
// whose batch is symbolic): its only tensor input the first, which keeps
// its first axis. Such a node becomes an Op in any model. Read-only after
// package initialisation.
var perSample = map[string]func(l *Op, in []*meta, tensors []int) bool{}

// unaryDeriv gives dy/dx of the elementwise functions from x and y.
var unaryDeriv = map[string]func(x, y float64, l *Op) float64{
	"Abs":        func(x, _ float64, _ *Op) float64 { return sign(x) },
	"Neg":        func(_, _ float64, _ *Op) float64 { return -1 },
	"Exp":        func(_, y float64, _ *Op) float64 { return y },
	"Log":        func(x, _ float64, _ *Op) float64 { return 1 / x },
	"Sqrt":       func(_, y float64, _ *Op) float64 { return 0.5 / y },
	"Reciprocal": func(_, y float64, _ *Op) float64 { return -y * y },
	"Sin":        func(x, _ float64, _ *Op) float64 { return math.Cos(x) },
	"Cos":        func(x, _ float64, _ *Op) float64 { return -math.Sin(x) },
	"Tan":        func(_, y float64, _ *Op) float64 { return 1 + y*y },
	"Asin":       func(x, _ float64, _ *Op) float64 { return 1 / math.Sqrt(1-x*x) },
	"Acos":       func(x, _ float64, _ *Op) float64 { return -1 / math.Sqrt(1-x*x) },
	"Atan":       func(x, _ float64, _ *Op) float64 { return 1 / (1 + x*x) },
	"Sinh":       func(x, _ float64, _ *Op) float64 { return math.Cosh(x) },
	"Cosh":       func(x, _ float64, _ *Op) float64 { return math.Sinh(x) },
	"Asinh":      func(x, _ float64, _ *Op) float64 { return 1 / math.Sqrt(x*x+1) },
	"Acosh":      func(x, _ float64, _ *Op) float64 { return 1 / math.Sqrt(x*x-1) },
	"Atanh":      func(x, _ float64, _ *Op) float64 { return 1 / (1 - x*x) },
	"Erf":        func(x, _ float64, _ *Op) float64 { return 2 / math.SqrtPi * math.Exp(-x*x) },
	"Relu":       func(x, _ float64, _ *Op) float64 { return step(x > 0) },
	"Sigmoid":    func(_, y float64, _ *Op) float64 { return y * (1 - y) },
	"Tanh":       func(_, y float64, _ *Op) float64 { return 1 - y*y },
	"Softplus":   func(x, _ float64, _ *Op) float64 { return 1 / (1 + math.Exp(-x)) },
	"Softsign":   func(x, _ float64, _ *Op) float64 { return 1 / ((1 + math.Abs(x)) * (1 + math.Abs(x))) },
	"Mish": func(x, _ float64, _ *Op) float64 {
		t := math.Tanh(softplus(x))
		return t + x*(1-t*t)/(1+math.Exp(-x))
	},
	"HardSwish": func(x, _ float64, _ *Op) float64 {
		switch {
		case x < -3:
			return 0
		case x > 3:
			return 1
		}
		return x/3 + 0.5
	},
	"Elu": func(x, _ float64, l *Op) float64 {
		if x >= 0 {
			return 1
		}
		return l.attrFloat("alpha", 1) * math.Exp(x)
	},
	"Celu": func(x, _ float64, l *Op) float64 {
		if x > 0 {
			return 1
		}
		return math.Exp(x / l.attrFloat("alpha", 1))
	},
	"Selu": func(x, _ float64, l *Op) float64 {
		a, g := l.attrFloat("alpha", 1.67326319217681884765625), l.attrFloat("gamma", 1.05070102214813232421875)
		if x > 0 {
			return g
		}
		return g * a * math.Exp(x)
	},
	"LeakyRelu": func(x, _ float64, l *Op) float64 {
		if x >= 0 {
			return 1
		}
		return l.attrFloat("alpha", 0.01)
	},
	"ThresholdedRelu": func(x, _ float64, l *Op) float64 { return step(x > l.attrFloat("alpha", 1)) },
	"HardSigmoid": func(x, _ float64, l *Op) float64 {
		a := l.attrFloat("alpha", 0.2)
		v := a*x + l.attrFloat("beta", 0.5)
		return a * step(v > 0 && v < 1)
	},
	// Piecewise constant: zero almost everywhere.
	"Floor": func(_, _ float64, _ *Op) float64 { return 0 },
	"Ceil":  func(_, _ float64, _ *Op) float64 { return 0 },
	"Round": func(_, _ float64, _ *Op) float64 { return 0 },
	"Sign":  func(_, _ float64, _ *Op) float64 { return 0 },
}

func step(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// num reads element k of a tensor of any numeric type as a float.
func num(a *arr, k int) float64 {
	if a.f != nil {
		return a.f[k]
	}
	return float64(a.i[k])
}

// binaryDeriv gives ∂y/∂a (wrt 0) or ∂y/∂b (wrt 1) of y = op(a, b).
var binaryDeriv = map[string]func(a, b, y float64, wrt int) float64{
	"Add": func(_, _, _ float64, _ int) float64 { return 1 },
	"Sub": func(_, _, _ float64, wrt int) float64 { return 1 - 2*float64(wrt) },
	"Mul": func(a, b, _ float64, wrt int) float64 { return [2]float64{b, a}[wrt] },
	"Div": func(a, b, _ float64, wrt int) float64 {
		if wrt == 0 {
			return 1 / b
		}
		return -a / (b * b)
	},
	"Pow": func(a, b, y float64, wrt int) float64 {
		if wrt == 0 {
			if b == 0 {
				return 0
			}
			return b * math.Pow(a, b-1)
		}
		return y * math.Log(a)
	},
	"PRelu": func(x, s, _ float64, wrt int) float64 {
		if wrt == 0 {
			if x < 0 {
				return s
			}
			return 1
		}
		if x < 0 {
			return x
		}
		return 0
	},
}

func init() {
	for name, d := range unaryDeriv {
		grads[name] = gradForm{diff: []int{0}, f: func(l *Op, in []*arr, y, dy *arr, _ int) ([]float64, error) {
			g := make([]float64, len(dy.f))
			for k, v := range dy.f {
				if v != 0 {
					g[k] = v * d(in[0].f[k], y.f[k], l)
				}
			}
			return g, nil
		}}
	}
	for name, d := range binaryDeriv {
		grads[name] = gradForm{diff: []int{0, 1}, f: func(_ *Op, in []*arr, y, dy *arr, wrt int) ([]float64, error) {
			ia, ib := bcastIndex(in[0].shape, y.shape), bcastIndex(in[1].shape, y.shape)
			idx := [2][]int{ia, ib}[wrt]
			g := make([]float64, in[wrt].size())
			for o, v := range dy.f {
				g[idx[o]] += v * d(num(in[0], ia[o]), num(in[1], ib[o]), y.f[o], wrt)
			}
			return g, nil
		}}
	}
	// Clip: through where the value was not clipped.
	grads["Clip"] = gradForm{diff: []int{0}, f: func(_ *Op, in []*arr, y, dy *arr, _ int) ([]float64, error) {
		g := make([]float64, len(dy.f))
		for k, v := range dy.f {
			if y.f[k] == in[0].f[k] {
				g[k] = v
			}
		}
		return g, nil
	}}
	all := make([]int, 64) // Concat: every input
	for k := range all {
		all[k] = k
	}
	for _, name := range []string{"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Slice", "Expand", "Tile", "Split", "GatherElements", "Gather"} {
		grads[name] = gradForm{diff: []int{0}, f: selectGrad(nil)}
	}
	grads["Dropout"] = gradForm{diff: []int{0}, f: selectGrad(nil), form: func(l *Op) bool { return l.Output == 0 }}
	grads["Concat"] = gradForm{diff: all, f: selectGrad(nil)}
	grads["Resize"] = gradForm{diff: []int{0}, f: resizeGrad}
	grads["Upsample"] = gradForm{diff: []int{0}, f: resizeGrad}
	grads["Conv"] = gradForm{diff: []int{0, 1, 2}, f: convGrad}
	grads["ConvTranspose"] = gradForm{diff: []int{0, 1, 2}, f: convTransposeGrad}
	grads["LayerNormalization"] = gradForm{diff: []int{0, 1, 2}, f: layerNormGrad, form: func(l *Op) bool { return l.Output == 0 }}
	grads["Softmax"] = gradForm{diff: []int{0}, f: softmaxGrad}
	grads["LogSoftmax"] = gradForm{diff: []int{0}, f: softmaxGrad}
	grads["GlobalAveragePool"] = gradForm{diff: []int{0}, f: func(_ *Op, in []*arr, _, dy *arr, _ int) ([]float64, error) {
		inner := shapeSize(in[0].shape[2:])
		g := make([]float64, in[0].size())
		for k := range g {
			g[k] = dy.f[k/inner] / float64(inner)
		}
		return g, nil
	}}
	grads["ReduceMean"] = gradForm{diff: []int{0}, f: reduceGrad}
	grads["ReduceSum"] = gradForm{diff: []int{0}, f: reduceGrad}
	grads["MatMul"] = gradForm{diff: []int{0, 1}, f: matmulGrad}

	only0 := func(tensors []int) bool { return slices.Equal(tensors, []int{0}) }
	// Not the max pools: their kernels keep NaN, where ONNX Runtime's
	// skip it, which only a model of fixed shapes (as before) may meet.
	for _, name := range []string{"Conv", "ConvTranspose", "InstanceNormalization", "GlobalAveragePool", "AveragePool"} {
		perSample[name] = func(_ *Op, _ []*meta, tensors []int) bool { return only0(tensors) }
	}
	perSample["LayerNormalization"] = func(l *Op, in []*meta, tensors []int) bool {
		a, err := normAxis(l.attrInt("axis", -1), len(in[0].shape))
		return only0(tensors) && err == nil && a > 0
	}
	for _, name := range []string{"Softmax", "LogSoftmax", "Hardmax"} {
		perSample[name] = func(l *Op, in []*meta, tensors []int) bool {
			def := int64(-1)
			if l.Opset < 13 {
				def = 1
			}
			a, err := normAxis(l.attrInt("axis", def), len(in[0].shape))
			return only0(tensors) && err == nil && a > 0
		}
	}
	for name := range reducers {
		perSample[name] = func(l *Op, in []*meta, tensors []int) bool {
			axes, noop, err := l.reduceAxes(in)
			return only0(tensors) && err == nil && !noop && !slices.Contains(axes, 0)
		}
	}
	// Broadcasting operators: the tensor operand of the full rank (the
	// batch its first axis), the constants of a lower rank or of size 1
	// along the first.
	for _, name := range []string{"Add", "Sub", "Mul", "Div", "Pow", "PRelu", "Mod", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Where", "Max", "Min", "Sum", "Mean"} {
		perSample[name] = func(_ *Op, in []*meta, tensors []int) bool {
			r := 0
			for _, m := range in {
				if m != nil {
					r = max(r, len(m.shape))
				}
			}
			for j, m := range in {
				switch {
				case m == nil:
				case slices.Contains(tensors, j):
					if len(m.shape) != r {
						return false
					}
				case len(m.shape) == r && m.shape[0] != 1:
					return false
				}
			}
			// One tensor operand only: model inputs of fixed shapes may
			// differ along the first axis, which a symbolic batch would
			// hide.
			return len(tensors) == 1
		}
	}
	for _, name := range []string{"Resize", "Upsample"} {
		perSample[name] = func(l *Op, in []*meta, tensors []int) bool {
			if !only0(tensors) {
				return false
			}
			c := l.constArrs(in)
			var scales []float64
			switch {
			case l.Op == "Upsample" && l.Opset < 9:
				scales = l.Floats["scales"]
			case l.Op == "Upsample" || l.Opset < 11:
				if len(c) > 1 && c[1] != nil {
					scales = c[1].f
				}
			case len(c) > 2 && c[2] != nil:
				scales = c[2].f
			}
			return len(scales) > 0 && scales[0] == 1
		}
	}
}

// selectGrad is the gradient of an operator that only moves values (each
// output element is one input element, or a constant): the operator run
// on the inputs' positions (input j's element e as the value base_j+e+1,
// the inputs listed in zero as zeros, so that 0 marks an output element
// taken from none), and the output gradient added back to where each
// element came from. Exact in float64 up to 2^53 elements.
func selectGrad(zero []int) func(l *Op, in []*arr, y, dy *arr, wrt int) ([]float64, error) {
	return func(l *Op, in []*arr, _, dy *arr, wrt int) ([]float64, error) {
		k := kernels[l.Op]
		diff := grads[l.Op].diff
		enc := make([]*arr, len(in))
		metas := make([]*meta, len(in))
		off, lo, hi := 0, 0, 0
		for j, a := range in {
			if a == nil {
				continue
			}
			switch {
			case slices.Contains(zero, j):
				enc[j] = newArr(a.meta)
			case isFloatType(a.dt) && slices.Contains(diff, j):
				e := newArr(a.meta)
				for i := range e.f {
					e.f[i] = float64(off + i + 1)
				}
				if j == wrt {
					lo, hi = off, off+len(e.f)
				}
				off += len(e.f)
				enc[j] = e
			default:
				enc[j] = a
			}
			metas[j] = &enc[j].meta
		}
		if off > 1<<53 {
			return nil, fmt.Errorf("%d values: too many for the gradient", off)
		}
		out, err := k.infer(l, metas)
		if err != nil {
			return nil, err
		}
		r, err := k.run(l, enc, out)
		if err != nil {
			return nil, err
		}
		if len(r.f) != len(dy.f) {
			return nil, fmt.Errorf("gradient of %d values for an output of %d", len(dy.f), len(r.f))
		}
		g := make([]float64, hi-lo)
		for o, v := range r.f {
			if s := int(v) - 1; s >= lo && s < hi {
				g[s-lo] += dy.f[o]
			}
		}
		return g, nil
	}
}

// convGrad is Conv's gradient with respect to X, W or B, the forward
// kernel's loops with the products turned around.
func convGrad(l *Op, in []*arr, _, dy *arr, wrt int) ([]float64, error) {
	x, w := in[0], in[1]
	g, err := l.convGeom(x.shape, w.shape)
	if err != nil {
		return nil, err
	}
	r := len(g.in)
	inSize, kSize, outSize := shapeSize(g.in), shapeSize(g.k), shapeSize(g.out)
	cg, mg := g.c/g.group, g.m/g.group
	inSt, kSt, outSt := strides(g.in), strides(g.k), strides(g.out)
	out := make([]float64, in[wrt].size())
	if wrt == 2 {
		for b := range g.n {
			for m := range g.m {
				for o := range outSize {
					out[m] += dy.f[(b*g.m+m)*outSize+o]
				}
			}
		}
		return out, nil
	}
	oc, kc := make([]int, r), make([]int, r)
	for b := range g.n {
		for m := range g.m {
			grp := m / mg
			for o := range outSize {
				d := dy.f[(b*g.m+m)*outSize+o]
				if d == 0 {
					continue
				}
				rem := o
				for a := range r {
					oc[a] = rem / outSt[a]
					rem %= outSt[a]
				}
				for ci := range cg {
					xb := (b*g.c + grp*cg + ci) * inSize
					wb := (m*cg + ci) * kSize
					for kk := range kSize {
						rem := kk
						off, inside := 0, true
						for a := range r {
							kc[a] = rem / kSt[a]
							rem %= kSt[a]
							p := oc[a]*g.stride[a] - g.pad[a] + kc[a]*g.dil[a]
							if p < 0 || p >= g.in[a] {
								inside = false
								break
							}
							off += p * inSt[a]
						}
						if !inside {
							continue
						}
						if wrt == 0 {
							out[xb+off] += d * w.f[wb+kk]
						} else {
							out[wb+kk] += d * x.f[xb+off]
						}
					}
				}
			}
		}
	}
	return out, nil
}

// convTransposeGrad is ConvTranspose's gradient with respect to X, W or
// B, the forward kernel's loops turned around.
func convTransposeGrad(l *Op, in []*arr, _, dy *arr, wrt int) ([]float64, error) {
	x, w := in[0], in[1]
	g, err := l.convTGeom(x.shape, w.shape)
	if err != nil {
		return nil, err
	}
	r := len(g.in)
	inSize, kSize, outSize := shapeSize(g.in), shapeSize(g.k), shapeSize(g.out)
	cg, mg := g.c/g.group, g.m/g.group
	inSt, kSt, outSt := strides(g.in), strides(g.k), strides(g.out)
	out := make([]float64, in[wrt].size())
	if wrt == 2 {
		for b := range g.n {
			for m := range g.m {
				for o := range outSize {
					out[m] += dy.f[(b*g.m+m)*outSize+o]
				}
			}
		}
		return out, nil
	}
	ic, kc := make([]int, r), make([]int, r)
	for b := range g.n {
		for c := range g.c {
			grp := c / cg
			for i := range inSize {
				rem := i
				for d := range r {
					ic[d] = rem / inSt[d]
					rem %= inSt[d]
				}
				xi := (b*g.c+c)*inSize + i
				for mi := range mg {
					m := grp*mg + mi
					wb := (c*mg + mi) * kSize
					for kk := range kSize {
						rem := kk
						off, inside := 0, true
						for d := range r {
							kc[d] = rem / kSt[d]
							rem %= kSt[d]
							p := ic[d]*g.stride[d] - g.pad[d] + kc[d]*g.dil[d]
							if p < 0 || p >= g.out[d] {
								inside = false
								break
							}
							off += p * outSt[d]
						}
						if !inside {
							continue
						}
						d := dy.f[(b*g.m+m)*outSize+off]
						if wrt == 0 {
							out[xi] += d * w.f[wb+kk]
						} else {
							out[wb+kk] += d * x.f[xi]
						}
					}
				}
			}
		}
	}
	return out, nil
}

// layerNormGrad is LayerNormalization's gradient (output Y) with respect
// to X, Scale or B.
func layerNormGrad(l *Op, in []*arr, _, dy *arr, wrt int) ([]float64, error) {
	x := in[0]
	a, err := normAxis(l.attrInt("axis", -1), len(x.shape))
	if err != nil {
		return nil, err
	}
	eps := l.attrFloat("epsilon", 1e-5)
	rows, n := shapeSize(x.shape[:a]), shapeSize(x.shape[a:])
	norm := x.shape[a:]
	var is, ib []int
	if len(in) > 1 && in[1] != nil {
		is = bcastIndex(in[1].shape, norm)
	}
	if len(in) > 2 && in[2] != nil {
		ib = bcastIndex(in[2].shape, norm)
	}
	out := make([]float64, in[wrt].size())
	xhat := make([]float64, n)
	for r := range rows {
		row, d := x.f[r*n:(r+1)*n], dy.f[r*n:(r+1)*n]
		mean, vr := 0.0, 0.0
		for _, v := range row {
			mean += v
		}
		mean /= float64(n)
		for _, v := range row {
			vr += (v - mean) * (v - mean)
		}
		inv := 1 / math.Sqrt(vr/float64(n)+eps)
		for j, v := range row {
			xhat[j] = (v - mean) * inv
		}
		switch wrt {
		case 1:
			for j := range row {
				out[is[j]] += d[j] * xhat[j]
			}
		case 2:
			for j := range row {
				out[ib[j]] += d[j]
			}
		default:
			s1, s2 := 0.0, 0.0
			dx := out[r*n : (r+1)*n]
			for j := range row {
				g := d[j]
				if is != nil {
					g *= in[1].f[is[j]]
				}
				dx[j] = g
				s1 += g
				s2 += g * xhat[j]
			}
			for j := range dx {
				dx[j] = inv * (dx[j] - s1/float64(n) - xhat[j]*s2/float64(n))
			}
		}
	}
	return out, nil
}

// softmaxGrad is the gradient of Softmax (y ⊙ (dy - Σ dy ⊙ y)) and
// LogSoftmax (dy - e^y Σ dy) along the operator's axis.
func softmaxGrad(l *Op, in []*arr, y, dy *arr, _ int) ([]float64, error) {
	x := in[0]
	def := int64(-1)
	if l.Opset < 13 {
		def = 1
	}
	a, err := normAxis(l.attrInt("axis", def), len(x.shape))
	if err != nil {
		return nil, err
	}
	outer, n, inner := shapeSize(x.shape[:a]), x.shape[a], shapeSize(x.shape[a+1:])
	if l.Opset < 13 {
		outer, n, inner = shapeSize(x.shape[:a]), shapeSize(x.shape[a:]), 1
	}
	g := make([]float64, len(dy.f))
	for o := range outer {
		for i := range inner {
			at := func(j int) int { return (o*n+j)*inner + i }
			s := 0.0
			for j := range n {
				if l.Op == "Softmax" {
					s += dy.f[at(j)] * y.f[at(j)]
				} else {
					s += dy.f[at(j)]
				}
			}
			for j := range n {
				k := at(j)
				if l.Op == "Softmax" {
					g[k] = y.f[k] * (dy.f[k] - s)
				} else {
					g[k] = dy.f[k] - math.Exp(y.f[k])*s
				}
			}
		}
	}
	return g, nil
}

// reduceGrad is the gradient of ReduceSum and ReduceMean: the output
// gradient spread back over what each output element sums.
func reduceGrad(l *Op, in []*arr, _, dy *arr, _ int) ([]float64, error) {
	metas := make([]*meta, len(in))
	for k, a := range in {
		if a != nil {
			metas[k] = &a.meta
		}
	}
	x := in[0]
	axes, noop, err := l.reduceAxes(metas)
	if err != nil {
		return nil, err
	}
	if noop {
		return slices.Clone(dy.f), nil
	}
	kept := slices.Clone(x.shape)
	count := 1
	for _, a := range axes {
		count *= kept[a]
		kept[a] = 1
	}
	scale := 1.0
	if l.Op == "ReduceMean" {
		scale = 1 / float64(count)
	}
	idx := bcastIndex(kept, x.shape)
	g := make([]float64, x.size())
	for k := range g {
		g[k] = dy.f[idx[k]] * scale
	}
	return g, nil
}

// matmulGrad is MatMul's gradient for A of rank 2 or more times B, a
// matrix: dA = dY·Bᵀ, dB = Σ Aᵀ·dY.
func matmulGrad(_ *Op, in []*arr, _, dy *arr, wrt int) ([]float64, error) {
	a, b := in[0], in[1]
	if len(a.shape) < 2 || len(b.shape) != 2 {
		return nil, unsupported("MatMul's gradient for operands of shapes %v and %v (tapenet's takes a matrix as the second)", a.shape, b.shape)
	}
	k, n := b.shape[0], b.shape[1]
	rows := a.size() / k
	g := make([]float64, in[wrt].size())
	for r := range rows {
		ar, dr := a.f[r*k:(r+1)*k], dy.f[r*n:(r+1)*n]
		for i := range k {
			for j := range n {
				if wrt == 0 {
					g[r*k+i] += dr[j] * b.f[i*n+j]
				} else {
					g[i*n+j] += ar[i] * dr[j]
				}
			}
		}
	}
	return g, nil
}

// resizeGrad is Resize's gradient with respect to X: in nearest mode the
// values only move (selectGrad); in linear and cubic modes the adjoint of
// each axis's interpolation, taken in reverse order.
func resizeGrad(l *Op, in []*arr, y, dy *arr, wrt int) ([]float64, error) {
	if resizeMode(l) == "nearest" {
		return selectGrad(nil)(l, in, y, dy, wrt)
	}
	metas := make([]*meta, len(in))
	for k, a := range in {
		if a != nil {
			metas[k] = &a.meta
		}
	}
	outShape, sc, err := l.resizeScales(metas)
	if err != nil {
		return nil, err
	}
	x := in[0]
	// The shapes before each axis's pass, as the forward makes them.
	type pass struct {
		d     int
		shape []int
	}
	var passes []pass
	shape := slices.Clone(x.shape)
	for d := range shape {
		if outShape[d] == shape[d] && sc[d] == 1 {
			continue
		}
		passes = append(passes, pass{d, slices.Clone(shape)})
		shape[d] = outShape[d]
	}
	g := slices.Clone(dy.f)
	for p := len(passes) - 1; p >= 0; p-- {
		d, before := passes[p].d, passes[p].shape
		n := outShape[d]
		idx, w, taps := resizeTaps(l, n, before[d], sc[d])
		outer, inner := shapeSize(before[:d]), shapeSize(before[d+1:])
		prev := make([]float64, shapeSize(before))
		for o := range outer {
			src := prev[o*before[d]*inner:]
			cur := g[o*n*inner:]
			for j := range n {
				row := cur[j*inner : (j+1)*inner]
				for t := range taps {
					wt, to := w[j*taps+t], src[idx[j*taps+t]*inner:]
					for e := range row {
						to[e] += wt * row[e]
					}
				}
			}
		}
		g = prev
	}
	return g, nil
}

// genericGradOp is the gradient of a genericOp with respect to one of its
// tensor inputs: a Gorgonia op of the forward inputs, output and output
// gradient.
type genericGradOp struct {
	fwd *genericOp
	wrt int
}

func (op *genericGradOp) Arity() int { return len(op.fwd.types) + 2 }

func (op *genericGradOp) Type() hm.Type {
	f := op.fwd
	ts := make([]hm.Type, 0, len(f.types)+3)
	for k, d := range f.types {
		ts = append(ts, gorgonia.TensorType{Dims: f.ranks[k], Of: d.Tensor()})
	}
	out := gorgonia.TensorType{Dims: len(f.out.shape), Of: f.out.dt.Tensor()}
	ts = append(ts, out, out, gorgonia.TensorType{Dims: f.ranks[op.wrt], Of: f.types[op.wrt].Tensor()})
	return hm.NewFnType(ts...)
}

func (op *genericGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, ok := in[op.wrt].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("%s: input shape is %T", op, in[op.wrt])
	}
	return s.Clone(), nil
}

func (op *genericGradOp) Do(vs ...gorgonia.Value) (v gorgonia.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("%s: internal error: %v", op, r)
		}
	}()
	n := len(op.fwd.types)
	if len(vs) != n+2 {
		return nil, fmt.Errorf("%s: %d inputs, want %d", op, len(vs), n+2)
	}
	xs := make([]*arr, n)
	for k := range n {
		if xs[k], err = fromValue(vs[k]); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	y, err := fromValue(vs[n])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	dy, err := fromValue(vs[n+1])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	j := op.fwd.onnxInput(op.wrt)
	want := xs[op.wrt].meta
	l := op.fwd.layer
	if len(l.Runtime) > 0 {
		if l, xs, err = l.bindRuntime(xs); err != nil {
			return nil, err
		}
	}
	ins, err := l.arrays(xs)
	if err != nil {
		return nil, err
	}
	g, err := grads[l.Op].f(l, ins, y, dy, j)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if len(g) != shapeSize(want.shape) {
		return nil, fmt.Errorf("%s: a gradient of %d values for an input of shape %v", op, len(g), want.shape)
	}
	return (&arr{meta: want, f: g}).value(), nil
}

func (op *genericGradOp) ReturnsPtr() bool     { return false }
func (op *genericGradOp) CallsExtern() bool    { return false }
func (op *genericGradOp) OverwritesInput() int { return -1 }
func (op *genericGradOp) WriteHash(h hash.Hash) {
	op.fwd.WriteHash(h)
	fmt.Fprintf(h, "grad%d", op.wrt)
}
func (op *genericGradOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
func (op *genericGradOp) String() string { return fmt.Sprintf("onnx.%s'%d", op.fwd.layer.Op, op.wrt) }
