package ops

// Layer normalisation and GELU, the element-wise pieces of sequence models
// (in rnn_*.go files with the recurrent ops).

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// layerNormOp normalises every vector along the last axis to zero mean and
// unit variance (biased variance, as nn.LayerNorm), then scales by gamma and
// shifts by beta: y = (x - mean) / sqrt(var + eps) · gamma + beta. It keeps
// the normalised values and reciprocal deviations for its gradient op.
type layerNormOp struct {
	base
	eps       float64
	dims      int
	inputGrad bool
	out       outputCache
	xhat      []float32
	rstd      []float32
}

// LayerNorm adds layer normalisation over the last axis of x with the
// per-feature scale gamma and shift beta (float32).
func LayerNorm(x, gamma, beta *gorgonia.Node, eps float64) (*gorgonia.Node, error) {
	d := x.Shape()[x.Dims()-1]
	if x.Dtype() != tensor.Float32 || gamma.Dims() != 1 || beta.Dims() != 1 || gamma.Shape()[0] != d || beta.Shape()[0] != d {
		return nil, fmt.Errorf("layernorm: input %v %v does not fit scale %v and shift %v", x.Dtype(), x.Shape(), gamma.Shape(), beta.Shape())
	}
	op := &layerNormOp{eps: eps, dims: x.Dims(), inputGrad: !x.IsVar()}
	op.base = base{label: "layernorm", id: fmt.Sprintf("tapenet.layernorm.%p", op)}
	return gorgonia.ApplyOp(op, x, gamma, beta)
}

func (*layerNormOp) Arity() int { return 3 }

func (op *layerNormOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := gorgonia.TensorType{Dims: op.dims, Of: a}
	v := gorgonia.TensorType{Dims: 1, Of: a}
	return hm.NewFnType(t, v, v, t)
}

func (op *layerNormOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	shapes, err := shapesOf(in)
	if err != nil || len(shapes) != 3 {
		return nil, fmt.Errorf("layernorm: input shapes %v", in)
	}
	return shapes[0].Clone(), nil
}

func (op *layerNormOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("layernorm: %d inputs, want 3", len(in))
	}
	x, xs, err := rowMajor32(in[0])
	if err != nil {
		return nil, fmt.Errorf("layernorm: %w", err)
	}
	_, gs, err := rowMajor32(in[1])
	if err != nil {
		return nil, fmt.Errorf("layernorm: %w", err)
	}
	_, bs, err := rowMajor32(in[2])
	if err != nil {
		return nil, fmt.Errorf("layernorm: %w", err)
	}
	d := len(gs)
	if d == 0 || len(bs) != d || len(xs)%d != 0 {
		return nil, fmt.Errorf("layernorm: %d values in rows of %d", len(xs), d)
	}
	rows := len(xs) / d
	out := op.out.get(x.Shape())
	ys := out.Float32s()
	op.xhat = grow(op.xhat, len(xs))
	op.rstd = grow(op.rstd, rows)
	for r := 0; r < rows; r++ {
		row := xs[r*d : (r+1)*d]
		var mean float64
		for _, v := range row {
			mean += float64(v)
		}
		mean /= float64(d)
		var vr float64
		for _, v := range row {
			dv := float64(v) - mean
			vr += dv * dv
		}
		rstd := 1 / math.Sqrt(vr/float64(d)+op.eps)
		op.rstd[r] = float32(rstd)
		xh := op.xhat[r*d : (r+1)*d]
		y := ys[r*d : (r+1)*d]
		for k, v := range row {
			xh[k] = float32((float64(v) - mean) * rstd)
			y[k] = xh[k]*gs[k] + bs[k]
		}
	}
	return out, nil
}

func (op *layerNormOp) DiffWRT(int) []bool { return []bool{op.inputGrad, true, true} }

// SymDiff returns dx, dgamma and dbeta from one layerNormGradOp.
func (op *layerNormOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	shapes := []tensor.Shape{in[0].Shape(), in[1].Shape(), in[2].Shape()}
	if !op.inputGrad {
		shapes[0] = nil
	}
	gop := &layerNormGradOp{fwd: op}
	gop.flatGrad = newFlatGrad("layernorm grad", fmt.Sprintf("tapenet.layernorm.grad.%p", op), []int{1, op.dims}, shapes)
	g, err := gorgonia.ApplyOp(gop, in[1], grad)
	if err != nil {
		return nil, err
	}
	return gop.picks(g)
}

// layerNormGradOp: with x̂ the normalised input, dgamma = Σ dy·x̂,
// dbeta = Σ dy, and per row dx = rstd·(dx̂ - mean(dx̂) - x̂·mean(dx̂·x̂)) for
// dx̂ = dy·gamma.
type layerNormGradOp struct {
	flatGrad
	fwd *layerNormOp
}

func (op *layerNormGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	vals, err := op.inputs(in)
	if err != nil {
		return nil, err
	}
	gs, dy := vals[0], vals[1]
	d := len(gs)
	xh := op.fwd.xhat
	if len(dy) != len(xh) || d == 0 {
		return nil, fmt.Errorf("%v: %d gradients for %d values", op, len(dy), len(xh))
	}
	out := op.out.get(op.shape)
	parts := op.split(out.Float32s())
	dg, db := parts[1], parts[2]
	clear(dg)
	clear(db)
	rows := len(dy) / d
	for r := 0; r < rows; r++ {
		g := dy[r*d : (r+1)*d]
		x := xh[r*d : (r+1)*d]
		var m1, m2 float64
		for k := range g {
			dg[k] += g[k] * x[k]
			db[k] += g[k]
			dxh := float64(g[k] * gs[k])
			m1 += dxh
			m2 += dxh * float64(x[k])
		}
		if parts[0] == nil {
			continue
		}
		m1 /= float64(d)
		m2 /= float64(d)
		rstd := float64(op.fwd.rstd[r])
		dx := parts[0][r*d : (r+1)*d]
		for k := range g {
			dx[k] = float32(rstd * (float64(g[k]*gs[k]) - m1 - float64(x[k])*m2))
		}
	}
	return out, nil
}

// geluOp is x·Φ(x) (exact, with erf) or its tanh approximation
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as nn.GELU's "none" and
// "tanh" approximations.
type geluOp struct {
	base
	approx bool
	out    outputCache
}

// GELU adds the Gaussian error linear unit of x (float32), exact or, with
// approx, in its tanh form.
func GELU(x *gorgonia.Node, approx bool) (*gorgonia.Node, error) {
	if x.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("gelu: want float32, got %v", x.Dtype())
	}
	label := "gelu"
	if approx {
		label = "gelu(tanh)"
	}
	return gorgonia.ApplyOp(&geluOp{base: base{label: label, id: "tapenet." + label}, approx: approx}, x)
}

func (*geluOp) Arity() int { return 1 }

func (*geluOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}

func (op *geluOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return unaryShape("gelu", in)
}

const sqrt2OverPi = 0.7978845608028654

// gelu returns GELU(x) and its derivative.
func gelu(x float64, approx bool) (y, dy float64) {
	if approx {
		u := sqrt2OverPi * (x + 0.044715*x*x*x)
		t := math.Tanh(u)
		du := sqrt2OverPi * (1 + 3*0.044715*x*x)
		return 0.5 * x * (1 + t), 0.5*(1+t) + 0.5*x*(1-t*t)*du
	}
	cdf := 0.5 * (1 + math.Erf(x/math.Sqrt2))
	pdf := math.Exp(-0.5*x*x) / math.Sqrt(2*math.Pi)
	return x * cdf, cdf + x*pdf
}

func (op *geluOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	x, err := float32Input(in)
	if err != nil {
		return nil, fmt.Errorf("gelu: %w", err)
	}
	out := op.out.get(x.Shape())
	ys := out.Float32s()
	for i, v := range x.Float32s() {
		y, _ := gelu(float64(v), op.approx)
		ys[i] = float32(y)
	}
	return out, nil
}

func (*geluOp) DiffWRT(int) []bool { return []bool{true} }

func (op *geluOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	gop := &geluGradOp{base: base{label: op.label + " grad", id: op.id + ".grad"}, approx: op.approx}
	dx, err := gorgonia.ApplyOp(gop, in[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}

// geluGradOp is GELU'(x)·dy.
type geluGradOp struct {
	base
	approx bool
	out    outputCache
}

func (*geluGradOp) Arity() int { return 2 }

func (*geluGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a, a)
}

func (op *geluGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return unaryShape("gelu grad", in[:1])
}

func (op *geluGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%v: %d inputs, want 2", op, len(in))
	}
	x, xs, err := rowMajor32(in[0])
	if err != nil {
		return nil, err
	}
	_, gs, err := rowMajor32(in[1])
	if err != nil || len(gs) != len(xs) {
		return nil, fmt.Errorf("%v: gradient does not match the input", op)
	}
	out := op.out.get(x.Shape())
	ds := out.Float32s()
	for i, v := range xs {
		_, d := gelu(float64(v), op.approx)
		ds[i] = float32(d * float64(gs[i]))
	}
	return out, nil
}

func (*geluGradOp) DiffWRT(int) []bool { return []bool{false, false} }

func (op *geluGradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, fmt.Errorf("%v: no second derivative", op)
}
