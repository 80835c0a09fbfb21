package ops

import (
	"fmt"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// denseOp is a Dense layer's x·W + b as one Gorgonia op over float32
// matrices: the bias is copied into the output rows, then one Sgemm adds
// x·W into them. Gorgonia's own form (Mul, then BroadcastAdd, which
// materialises a bias matrix per batch and adds it in a second pass) costs
// three ops and two allocations per layer. Its gradient is two matmulOps
// and a column sum, built as nodes, so the tape machine differentiates it.
type denseOp struct {
	base
	inputGrad bool // false when x is a leaf: a model input needs no gradient
	out       outputCache
}

// matmulOp is op(A)·op(B) with either operand transposed: the products of
// denseOp's gradient (dy·Wᵀ and xᵀ·dy) without materialising a transpose.
type matmulOp struct {
	base
	transA, transB bool
	out            outputCache
}

func newMatmul(transA, transB bool) *matmulOp {
	a, b := "A", "B"
	if transA {
		a = "Aᵀ"
	}
	if transB {
		b = "Bᵀ"
	}
	return &matmulOp{base: base{label: a + "·" + b, id: "tapenet." + a + "·" + b}, transA: transA, transB: transB}
}

// Dense adds x·w + b for a (batch, in) x, an (in, out) w and an (out) b as
// one fused op (float32; other types get Gorgonia's Mul and BroadcastAdd).
// Its gradient is built of nodes, so the tape machine differentiates it.
func Dense(x, w, b *gorgonia.Node) (*gorgonia.Node, error) {
	if x.Dtype() != tensor.Float32 || x.Dims() != 2 || w.Dims() != 2 || b.Dims() != 1 {
		xw, err := gorgonia.Mul(x, w)
		if err != nil {
			return nil, err
		}
		return gorgonia.BroadcastAdd(xw, b, nil, []byte{0})
	}
	return gorgonia.ApplyOp(&denseOp{base: base{label: "x·W+b", id: "tapenet.dense"}, inputGrad: !x.IsVar()}, x, w, b)
}

func matrixType() gorgonia.TensorType { return gorgonia.TensorType{Dims: 2, Of: hm.TypeVariable('a')} }

func (*denseOp) Arity() int { return 3 }

func (*denseOp) Type() hm.Type {
	m := matrixType()
	return hm.NewFnType(m, m, gorgonia.TensorType{Dims: 1, Of: hm.TypeVariable('a')}, m)
}

func (*denseOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("dense: %d inputs, want 3", len(in))
	}
	x, ok1 := in[0].(tensor.Shape)
	w, ok2 := in[1].(tensor.Shape)
	b, ok3 := in[2].(tensor.Shape)
	if !ok1 || !ok2 || !ok3 || len(x) != 2 || len(w) != 2 || len(b) != 1 || x[1] != w[0] || b[0] != w[1] {
		return nil, fmt.Errorf("dense: shapes %v · %v + %v do not fit", in[0], in[1], in[2])
	}
	return tensor.Shape{x[0], w[1]}, nil
}

func (op *denseOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("dense: %d inputs, want 3", len(in))
	}
	s, err := op.InferShape(in[0].Shape(), in[1].Shape(), in[2].Shape())
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(op.out.get(s), in...)
}

// UsePreallocDo writes into the tape machine's preallocated output.
func (*denseOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("dense: %d inputs, want 3", len(in))
	}
	x, xs, err := rowMajor32(in[0])
	if err != nil {
		return nil, err
	}
	_, ws, err := rowMajor32(in[1])
	if err != nil {
		return nil, err
	}
	_, bs, err := rowMajor32(in[2])
	if err != nil {
		return nil, err
	}
	out, os, err := rowMajor32(prealloc)
	if err != nil {
		return nil, err
	}
	n, k, m := x.Shape()[0], x.Shape()[1], len(bs)
	if len(xs) != n*k || len(ws) != k*m || len(os) != n*m {
		return nil, fmt.Errorf("dense: sizes %d, %d, %d do not fit (%d×%d)·(%d×%d)", len(xs), len(ws), len(os), n, k, k, m)
	}
	for i := 0; i < n; i++ {
		copy(os[i*m:(i+1)*m], bs)
	}
	gorgonia.WhichBLAS().Sgemm(blas.NoTrans, blas.NoTrans, n, m, k, 1, xs, k, ws, m, 1, os, m)
	return out, nil
}

// DiffWRT reports that the op is differentiable in W and b, and in x
// unless x is a leaf of the graph (a model's input placeholder, whose
// gradient nothing reads: the first layer skips the dy·Wᵀ product).
func (op *denseOp) DiffWRT(int) []bool { return []bool{op.inputGrad, true, true} }

// SymDiff returns dx = dy·Wᵀ (nil when DiffWRT says none), dW = xᵀ·dy and
// db = Σ_rows dy.
func (op *denseOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("dense: %d inputs, want 3", len(in))
	}
	var dx *gorgonia.Node
	var err error
	if op.inputGrad {
		if dx, err = gorgonia.ApplyOp(newMatmul(false, true), grad, in[1]); err != nil {
			return nil, err
		}
	}
	dw, err := gorgonia.ApplyOp(newMatmul(true, false), in[0], grad)
	if err != nil {
		return nil, err
	}
	db, err := gorgonia.Sum(grad, 0)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dw, db}, nil
}

func (*matmulOp) Arity() int { return 2 }

func (*matmulOp) Type() hm.Type {
	m := matrixType()
	return hm.NewFnType(m, m, m)
}

func (op *matmulOp) dims(a, b tensor.Shape) (m, n, k int, err error) {
	if len(a) != 2 || len(b) != 2 {
		return 0, 0, 0, fmt.Errorf("%v: shapes %v and %v are not matrices", op, a, b)
	}
	m, k = a[0], a[1]
	if op.transA {
		m, k = k, m
	}
	kb, n := b[0], b[1]
	if op.transB {
		kb, n = n, kb
	}
	if k != kb {
		return 0, 0, 0, fmt.Errorf("%v: shapes %v and %v do not fit", op, a, b)
	}
	return m, n, k, nil
}

func (op *matmulOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%v: %d inputs, want 2", op, len(in))
	}
	a, ok1 := in[0].(tensor.Shape)
	b, ok2 := in[1].(tensor.Shape)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%v: shapes %v and %v", op, in[0], in[1])
	}
	m, n, _, err := op.dims(a, b)
	return tensor.Shape{m, n}, err
}

func (op *matmulOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%v: %d inputs, want 2", op, len(in))
	}
	s, err := op.InferShape(in[0].Shape(), in[1].Shape())
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(op.out.get(s), in...)
}

// UsePreallocDo writes into the tape machine's preallocated output.
func (op *matmulOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%v: %d inputs, want 2", op, len(in))
	}
	a, as, err := rowMajor32(in[0])
	if err != nil {
		return nil, err
	}
	b, bs, err := rowMajor32(in[1])
	if err != nil {
		return nil, err
	}
	out, os, err := rowMajor32(prealloc)
	if err != nil {
		return nil, err
	}
	m, n, k, err := op.dims(a.Shape(), b.Shape())
	if err != nil {
		return nil, err
	}
	if len(os) != m*n {
		return nil, fmt.Errorf("%v: output of %d values for (%d×%d)", op, len(os), m, n)
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if op.transA {
		ta = blas.Trans
	}
	if op.transB {
		tb = blas.Trans
	}
	gorgonia.WhichBLAS().Sgemm(ta, tb, m, n, k, 1, as, a.Shape()[1], bs, b.Shape()[1], 0, os, n)
	return out, nil
}

// rowMajor32 returns v as a float32 tensor and its values in row-major
// order, materialising a strided view.
func rowMajor32(v gorgonia.Value) (*tensor.Dense, []float32, error) {
	t, ok := v.(*tensor.Dense)
	if !ok || t.Dtype() != tensor.Float32 {
		return nil, nil, fmt.Errorf("want a float32 tensor, got %T", v)
	}
	if t.RequiresIterator() {
		t = t.Materialize().(*tensor.Dense)
	}
	return t, t.Float32s(), nil
}
