package ops

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BatchNorm2D adds training-mode batch normalisation of x (N, C, H, W) as
// one op over the NCHW planes: y = (x - μ)·weight/√(σ² + eps) + bias with
// each channel's batch mean μ and biased variance σ² (sums in float64),
// and at every run the running statistics mean and variance (C values,
// updated in place) folded as BatchStats folds them, bit for bit
// (unbiased variance, momentum). Its gradients are fused ops too: dbias =
// Σ dy, dweight = Σ dy·x̂ and dx = weight/√(σ²+eps)·(dy - (dbias + x̂·dweight)/M)
// over the M = N·H·W values of a channel. It replaces the composed graph
// graph.BatchNorm built (channels moved last and back, broadcasts, means),
// whose values it gives within float32 rounding. name labels the op.
func BatchNorm2D(x, weight, bias *gorgonia.Node, mean, variance *tensor.Dense, momentum, eps float64, name string) (*gorgonia.Node, error) {
	if x.Dims() != 4 || weight.Dims() != 1 || bias.Dims() != 1 {
		return nil, fmt.Errorf("batchnorm %s: input %v, weight %v and bias %v must be (N, C, H, W), (C) and (C)", name, x.Shape(), weight.Shape(), bias.Shape())
	}
	c := x.Shape()[1]
	if weight.Shape()[0] != c || bias.Shape()[0] != c || mean.Shape().TotalSize() != c || variance.Shape().TotalSize() != c {
		return nil, fmt.Errorf("batchnorm %s: %d channels, weight %v, bias %v, running statistics %v and %v", name, c, weight.Shape(), bias.Shape(), mean.Shape(), variance.Shape())
	}
	op := &batchNormOp{mean: mean, variance: variance, momentum: momentum, eps: eps}
	op.base = base{label: "BatchNorm2D(" + name + ")", id: fmt.Sprintf("batchnorm2d(%s)@%p", name, op)}
	return gorgonia.ApplyOp(op, x, weight, bias)
}

// batchNormOp is BatchNorm2D's forward op. It keeps the batch's μ and
// 1/√(σ²+eps) per channel for its gradient ops, which run after it in the
// same run of the graph (they read its output's gradient).
type batchNormOp struct {
	base
	mean, variance *tensor.Dense
	momentum, eps  float64
	out            outputCache
	mu, inv        []float64 // per channel, from the last run
	n, hw          int       // images and pixels per plane of the last run
}

func (op *batchNormOp) Arity() int { return 3 }

func (op *batchNormOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(gorgonia.TensorType{Dims: 4, Of: a}, gorgonia.TensorType{Dims: 1, Of: a}, gorgonia.TensorType{Dims: 1, Of: a}, gorgonia.TensorType{Dims: 4, Of: a})
}

func (op *batchNormOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("%v: %d inputs, want 3", op, len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if !ok || len(s) != 4 {
		return nil, fmt.Errorf("%v: input %v is not (N, C, H, W)", op, in[0])
	}
	return s.Clone(), nil
}

// geometry returns N, C and H·W of x and checks the other values' lengths.
func bnGeometry(name fmt.Stringer, x tensor.Shape, perChannel ...[]float32) (n, c, hw int, err error) {
	if len(x) != 4 {
		return 0, 0, 0, fmt.Errorf("%v: input %v is not (N, C, H, W)", name, x)
	}
	n, c, hw = x[0], x[1], x[2]*x[3]
	for _, v := range perChannel {
		if len(v) != c {
			return 0, 0, 0, fmt.Errorf("%v: %d values for %d channels", name, len(v), c)
		}
	}
	return n, c, hw, nil
}

func (op *batchNormOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("%v: %d inputs, want 3", op, len(in))
	}
	xt, xs, err := rowMajor32(in[0])
	if err != nil {
		return nil, fmt.Errorf("%v: input: %w", op, err)
	}
	_, ws, err := rowMajor32(in[1])
	if err != nil {
		return nil, fmt.Errorf("%v: weight: %w", op, err)
	}
	_, bs, err := rowMajor32(in[2])
	if err != nil {
		return nil, fmt.Errorf("%v: bias: %w", op, err)
	}
	rm, rv := op.mean.Float32s(), op.variance.Float32s()
	n, c, hw, err := bnGeometry(op, xt.Shape(), ws, bs, rm, rv)
	if err != nil {
		return nil, err
	}
	if n*hw == 0 {
		return nil, fmt.Errorf("%v: empty input %v", op, xt.Shape())
	}
	out := op.out.get(xt.Shape())
	ys := out.Float32s()
	op.mu, op.inv = growFloat64(op.mu, c), growFloat64(op.inv, c)
	op.n, op.hw = n, hw
	rows := n * hw
	forImages(c, 4*n*c*hw, nil, 0, func(from, to, _ int) {
		for ch := from; ch < to; ch++ {
			// The sums run over (image, pixel) in order, as BatchStats's
			// over the channels-last rows: the same running statistics.
			var sum, sq float64
			for i := 0; i < n; i++ {
				for _, v := range xs[(i*c+ch)*hw : (i*c+ch+1)*hw] {
					sum += float64(v)
				}
			}
			mu := sum / float64(rows)
			for i := 0; i < n; i++ {
				for _, v := range xs[(i*c+ch)*hw : (i*c+ch+1)*hw] {
					d := float64(v) - mu
					sq += d * d
				}
			}
			m := op.momentum
			rm[ch] = float32((1-m)*float64(rm[ch]) + m*mu)
			rv[ch] = float32((1-m)*float64(rv[ch]) + m*sq/float64(max(rows-1, 1)))
			inv := 1 / math.Sqrt(sq/float64(rows)+op.eps)
			op.mu[ch], op.inv[ch] = mu, inv
			// (x - μ)·scale + bias, centred first as the composed graph
			// does (no cancellation between x·scale and μ·scale).
			m32, scale, b := float32(mu), float32(float64(ws[ch])*inv), bs[ch]
			for i := 0; i < n; i++ {
				src := xs[(i*c+ch)*hw : (i*c+ch+1)*hw]
				dst := ys[(i*c+ch)*hw : (i*c+ch+1)*hw]
				for p, v := range src {
					dst[p] = (v-m32)*scale + b
				}
			}
		}
	})
	return out, nil
}

func growFloat64(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

func (op *batchNormOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	return d
}

// SymDiff returns dx, dweight and dbias: the two sums first, then dx from
// them.
func (op *batchNormOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("%v: %d inputs, want 3", op, len(in))
	}
	c := in[0].Shape()[1]
	db, err := gorgonia.ApplyOp(&bnSumOp{gradOp: newBNGrad(op.label+" dbias", "dbias", []int{4, 4}, tensor.Shape{c}), fwd: op}, in[0], grad)
	if err != nil {
		return nil, err
	}
	dw, err := gorgonia.ApplyOp(&bnSumOp{gradOp: newBNGrad(op.label+" dweight", "dweight", []int{4, 4}, tensor.Shape{c}), fwd: op, times: true}, in[0], grad)
	if err != nil {
		return nil, err
	}
	dx, err := gorgonia.ApplyOp(&bnDxOp{gradOp: newBNGrad(op.label+" dx", "dx", []int{4, 1, 4, 1, 1}, in[0].Shape().Clone()), fwd: op}, in[0], in[1], grad, dw, db)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dw, db}, nil
}

// newBNGrad is a gradient op of the forward op's label whose inputs have
// the given ranks.
func newBNGrad(label, what string, dims []int, shape tensor.Shape) gradOp {
	g := newGradOp(label, fmt.Sprintf("tapenet.%s.%s", label, what), len(dims), shape)
	g.dims = dims
	return g
}

// bnSumOp is Σ dy (dbias) or Σ dy·x̂ (dweight, times) per channel, summed
// in float64.
type bnSumOp struct {
	gradOp
	fwd   *batchNormOp
	times bool
}

func (op *bnSumOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	vals, err := op.inputs(in)
	if err != nil {
		return nil, err
	}
	xs, dys := vals[0], vals[1]
	c, n, hw := op.shape[0], op.fwd.n, op.fwd.hw
	if len(op.fwd.mu) != c || len(xs) != n*c*hw || len(dys) != n*c*hw {
		return nil, fmt.Errorf("%v: %d inputs and %d gradients for %d channels (forward pass not run?)", op, len(xs), len(dys), c)
	}
	out := op.out.get(op.shape)
	sums := out.Float32s()
	forImages(c, 2*n*c*hw, nil, 0, func(from, to, _ int) {
		for ch := from; ch < to; ch++ {
			mu, inv := op.fwd.mu[ch], op.fwd.inv[ch]
			var s float64
			for i := 0; i < n; i++ {
				dy := dys[(i*c+ch)*hw : (i*c+ch+1)*hw]
				if !op.times {
					for _, g := range dy {
						s += float64(g)
					}
					continue
				}
				x := xs[(i*c+ch)*hw : (i*c+ch+1)*hw]
				for p, g := range dy {
					s += float64(g) * (float64(x[p]) - mu) * inv
				}
			}
			sums[ch] = float32(s)
		}
	})
	return out, nil
}

// bnDxOp is dx = weight·inv·(dy - (dbias + x̂·dweight)/M) per channel.
type bnDxOp struct {
	gradOp
	fwd *batchNormOp
}

func (op *bnDxOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	vals, err := op.inputs(in)
	if err != nil {
		return nil, err
	}
	xs, ws, dys, dw, db := vals[0], vals[1], vals[2], vals[3], vals[4]
	n, c, hw, err := bnGeometry(op, op.shape, ws, dw, db)
	if err != nil {
		return nil, err
	}
	if len(op.fwd.mu) != c || len(xs) != n*c*hw || len(dys) != n*c*hw {
		return nil, fmt.Errorf("%v: %d inputs and %d gradients for %v (forward pass not run?)", op, len(xs), len(dys), op.shape)
	}
	out := op.out.get(op.shape)
	dxs := out.Float32s()
	m := float64(n * hw)
	forImages(c, 4*n*c*hw, nil, 0, func(from, to, _ int) {
		for ch := from; ch < to; ch++ {
			mu, inv := op.fwd.mu[ch], op.fwd.inv[ch]
			k := float64(ws[ch]) * inv
			// dx = k·dy - k·inv·dw/M·(x - μ) - k·db/M
			a, m32 := float32(k), float32(mu)
			b := float32(-k * inv * float64(dw[ch]) / m)
			c0 := float32(-k * float64(db[ch]) / m)
			for i := 0; i < n; i++ {
				x := xs[(i*c+ch)*hw : (i*c+ch+1)*hw]
				dy := dys[(i*c+ch)*hw : (i*c+ch+1)*hw]
				dx := dxs[(i*c+ch)*hw : (i*c+ch+1)*hw]
				for p := range dx {
					dx[p] = a*dy[p] + b*(x[p]-m32) + c0
				}
			}
		}
	})
	return out, nil
}
