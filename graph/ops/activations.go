package ops

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"github.com/chewxy/math32"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// sigmoidOp is the logistic function as a Gorgonia op computed in float32,
// eight lanes at a time with AVX2 on amd64 (Gorgonia's own Sigmoid calls
// float64 math.Exp per element: a fifth of the book network's inference
// time). Its gradient, y·(1-y)·dy, is
// built from Gorgonia's ops, so the tape machine differentiates it.
type sigmoidOp struct {
	base
	out outputCache
}

// Sigmoid adds 1/(1+exp(-x)) computed in float32, eight lanes at a time with
// AVX2 on amd64 (other types get gorgonia.Sigmoid).
func Sigmoid(x *gorgonia.Node) (*gorgonia.Node, error) {
	if x.Dtype() != tensor.Float32 {
		return gorgonia.Sigmoid(x)
	}
	return gorgonia.ApplyOp(&sigmoidOp{base: base{label: "sigmoid", id: "tapenet.sigmoid32"}}, x)
}

func (*sigmoidOp) Arity() int { return 1 }

func (*sigmoidOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}

func (*sigmoidOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("sigmoid: input shape is %T", in[0])
	}
	return s.Clone(), nil
}

func (op *sigmoidOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	x, err := float32Input(in)
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(op.out.get(x.Shape()), x)
}

// UsePreallocDo writes into the tape machine's preallocated output, so a
// steady-state batch allocates nothing here.
func (*sigmoidOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	x, err := float32Input(in)
	if err != nil {
		return nil, err
	}
	out, ok := prealloc.(*tensor.Dense)
	if !ok || out.Dtype() != tensor.Float32 || out.Shape().TotalSize() != x.Shape().TotalSize() {
		return nil, fmt.Errorf("sigmoid: output buffer %v does not fit input %v", prealloc.Shape(), x.Shape())
	}
	sigmoidSlice(out.Float32s(), x.Float32s())
	return out, nil
}

// DiffWRT reports that the op is differentiable in its input.
func (*sigmoidOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff returns dy·y·(1-y) as Gorgonia nodes.
func (*sigmoidOp) SymDiff(inputs gorgonia.Nodes, y, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	oneMinus, err := gorgonia.Sub(gorgonia.NewConstant(float32(1)), y)
	if err != nil {
		return nil, err
	}
	dydx, err := gorgonia.HadamardProd(y, oneMinus)
	if err != nil {
		return nil, err
	}
	dx, err := gorgonia.HadamardProd(grad, dydx)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}

// sigmoid32 is 1/(1+e^-x) in float32 arithmetic.
func sigmoid32(x float32) float32 { return 1 / (1 + exp32(-x)) }

// exp32 is e^x for float32, within 2 ulp of the exact value (Cephes expf:
// x = n·ln2 + r with |r| <= ln2/2, e^r by a degree-6 polynomial, then
// scaled by 2^n through the exponent bits).
func exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -103.97208:
		return 0
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	n := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - n*ln2hi - n*ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	e := int32(n)
	if e < -126 { // subnormal result: scale in two steps
		return p * math.Float32frombits(uint32(e+126+127)<<23) * math.Float32frombits(1<<23)
	}
	if e > 127 {
		return p * 2 * math.Float32frombits(uint32(e-1+127)<<23)
	}
	return p * math.Float32frombits(uint32(e+127)<<23)
}

// reluOp is ReLU as one float32 pass. Gorgonia's Rectify is three ops
// (a constant, x >= 0 as a mask, x ⊙ mask) with a mask tensor allocated per
// run. The values and gradient are Rectify's: y = x where x >= 0 (NaN
// passes through, so a diverging model still shows NaN), else 0; the
// gradient is dy ⊙ (x >= 0) (reluGradOp).
type reluOp struct {
	base
	out outputCache
}

// reluGradOp computes dy ⊙ (x >= 0) from x and dy.
type reluGradOp struct {
	base
	out outputCache
}

// ReLU adds max(0, x) as one float32 op with Gorgonia Rectify's values and
// gradient (no mask tensor per run; other types get gorgonia.Rectify).
func ReLU(x *gorgonia.Node) (*gorgonia.Node, error) {
	if x.Dtype() != tensor.Float32 {
		return rectify(x)
	}
	return gorgonia.ApplyOp(&reluOp{base: base{label: "relu", id: "tapenet.relu32"}}, x)
}

func (*reluOp) Arity() int { return 1 }

func (*reluOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}

func (*reluOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("relu: input shape is %T", in[0])
	}
	return s.Clone(), nil
}

func (op *reluOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("relu: %d inputs, want 1", len(in))
	}
	_, xs, err := rowMajor32(in[0])
	if err != nil {
		return nil, err
	}
	out := op.out.get(in[0].Shape())
	reluSlice(out.Float32s(), xs)
	return out, nil
}

// reluGo is reluSlice in Go.
func reluGo(dst, src []float32) {
	for i, v := range src {
		if v < 0 {
			dst[i] = 0
		} else {
			dst[i] = v
		}
	}
}

// DiffWRT reports that the op is differentiable in its input.
func (*reluOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff returns dy ⊙ (x >= 0).
func (*reluOp) SymDiff(inputs gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("relu: %d inputs, want 1", len(inputs))
	}
	dx, err := gorgonia.ApplyOp(&reluGradOp{base: base{label: "relu'", id: "tapenet.relugrad32"}}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}

func (*reluGradOp) Arity() int { return 2 }

func (*reluGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a, a)
}

func (*reluGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("relu gradient: input shape is %T", in[0])
	}
	return s.Clone(), nil
}

func (op *reluGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("relu gradient: %d inputs, want 2", len(in))
	}
	_, xs, err := rowMajor32(in[0])
	if err != nil {
		return nil, err
	}
	_, gs, err := rowMajor32(in[1])
	if err != nil {
		return nil, err
	}
	if len(xs) != len(gs) {
		return nil, fmt.Errorf("relu gradient: %d inputs but %d gradients", len(xs), len(gs))
	}
	out := op.out.get(in[0].Shape())
	reluGradSlice(out.Float32s(), xs, gs)
	return out, nil
}

// reluGradGo is reluGradSlice in Go.
func reluGradGo(dst, xs, gs []float32) {
	for i, x := range xs {
		if x >= 0 {
			dst[i] = gs[i]
		} else {
			dst[i] = gs[i] * 0 // as Rectify's mask product: NaN and ±0 alike
		}
	}
}

// softmaxOp is the row-wise softmax of a float32 (batch, classes) matrix as
// one op: per row, the maximum m, e = exp(x - m) (math32.Exp), their sum
// from left to right, then e / sum: the values, bit for bit, of the
// Gorgonia graph ShiftedExp, Sum and BroadcastHadamardDiv build (eight
// nodes, each allocating per run). Its gradient is y ⊙ (dy - Σ dy ⊙ y),
// built of Gorgonia nodes.
type softmaxOp struct {
	base
	out outputCache
}

// Softmax adds the row-wise softmax of a (batch, classes) x, each row
// shifted by its own maximum (the book's overflow guard), as one float32 op
// (other types get the same formula from Gorgonia's ops).
func Softmax(x *gorgonia.Node) (*gorgonia.Node, error) {
	if x.Dtype() != tensor.Float32 || x.Dims() != 2 {
		e, _, err := ShiftedExp(x)
		if err != nil {
			return nil, err
		}
		sum, err := gorgonia.Sum(e, 1)
		if err != nil {
			return nil, err
		}
		return gorgonia.BroadcastHadamardDiv(e, sum, nil, []byte{1})
	}
	return gorgonia.ApplyOp(&softmaxOp{base: base{label: "softmax", id: "tapenet.softmax32"}}, x)
}

func (*softmaxOp) Arity() int { return 1 }

func (*softmaxOp) Type() hm.Type {
	m := matrixType()
	return hm.NewFnType(m, m)
}

func (*softmaxOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return unaryShape("softmax", in)
}

func (op *softmaxOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	x, err := float32Input(in)
	if err != nil {
		return nil, fmt.Errorf("softmax: %w", err)
	}
	if x.Dims() != 2 {
		return nil, fmt.Errorf("softmax: input %v is not (batch, classes)", x.Shape())
	}
	out := op.out.get(x.Shape())
	softmaxRows(out.Float32s(), x.Float32s(), x.Shape()[1])
	return out, nil
}

// softmaxRows writes the softmax of each row of cols values of xs to dst.
func softmaxRows(dst, xs []float32, cols int) {
	for r := 0; r+cols <= len(xs) && cols > 0; r += cols {
		row, y := xs[r:r+cols], dst[r:r+cols]
		m := row[0]
		for _, v := range row[1:] {
			if v > m {
				m = v
			}
		}
		var sum float32
		for j, v := range row {
			y[j] = math32.Exp(v - m)
			sum += y[j]
		}
		for j := range y {
			y[j] /= sum
		}
	}
}

// DiffWRT reports that the op is differentiable in its input.
func (*softmaxOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff returns y ⊙ (dy - Σ_row dy ⊙ y).
func (*softmaxOp) SymDiff(_ gorgonia.Nodes, y, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dyy, err := gorgonia.HadamardProd(grad, y)
	if err != nil {
		return nil, err
	}
	s, err := gorgonia.Sum(dyy, 1)
	if err != nil {
		return nil, err
	}
	d, err := gorgonia.BroadcastSub(grad, s, nil, []byte{1})
	if err != nil {
		return nil, err
	}
	dx, err := gorgonia.HadamardProd(y, d)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}
