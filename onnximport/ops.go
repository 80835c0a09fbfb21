package onnximport

import (
	"fmt"
	"slices"

	"github.com/tapenet/tapenet/graph"
)

// The conversion of each operator. A tensor computed from the model's
// inputs (value.t) has the batch as its first, symbolic dimension; ONNX
// axes count it, so axis a of ONNX is per-sample axis a-1 of tapenet.
// This file: matrix products, element-wise arithmetic and activations;
// ops_nn.go: convolution, pooling, normalisation; ops_shape.go: shapes,
// constants and the shape arithmetic folded while importing.

// room takes n values from the budget of values computed while importing
// (MaxFolded), before they are allocated. Results that share their
// input's values (a reshape of a constant, Identity) take nothing.
//
// n values of type dt cost their bytes as held (8 for an integer, kept as
// int64, plus one for its batch-size mark; 4 for FLOAT, 8 for DOUBLE), and
// 8 more each when indexed, for the source index array computing them.
func (nc *nodeCtx) room(dt int32, n int, indexed bool) error {
	if n < 0 || n > graph.MaxElements {
		return fmt.Errorf("a constant of %d values computed while importing (at most %d)", n, graph.MaxElements)
	}
	per := storeSize(dt)
	if indexed {
		per += 8
	}
	return nc.im.spend(n * per)
}

func unaryLayer(mk func(*nodeCtx) (graph.Layer, error)) handler {
	return func(nc *nodeCtx) error {
		if err := nc.allow(); err != nil {
			return err
		}
		return nc.applyUnary(mk)
	}
}

func (nc *nodeCtx) applyUnary(mk func(*nodeCtx) (graph.Layer, error)) error {
	if err := nc.inputs(1, 1); err != nil {
		return err
	}
	x, err := nc.tensorIn(0)
	if err != nil {
		return err
	}
	l, err := mk(nc)
	if err != nil {
		return err
	}
	t, err := nc.apply(l, nil, x)
	if err != nil {
		return err
	}
	return nc.outTensor(t)
}

func leakyRelu(nc *nodeCtx) error {
	if err := nc.allow("alpha"); err != nil {
		return err
	}
	return nc.applyUnary(func(nc *nodeCtx) (graph.Layer, error) {
		alpha, err := nc.attrFloat("alpha", 0.01)
		if err != nil {
			return nil, err
		}
		return &LeakyReLU{Alpha: alpha}, nil
	})
}

func gemm(nc *nodeCtx) error {
	if err := nc.allow("alpha", "beta", "transA", "transB"); err != nil {
		return err
	}
	if err := nc.inputs(2, 3); err != nil {
		return err
	}
	alpha, err := nc.attrFloat("alpha", 1)
	if err != nil {
		return err
	}
	beta, err := nc.attrFloat("beta", 1)
	if err != nil {
		return err
	}
	transA, err := nc.attrInt("transA", 0)
	if err != nil {
		return err
	}
	transB, err := nc.attrInt("transB", 0)
	if err != nil {
		return err
	}
	x, err := nc.tensorIn(0)
	if err != nil {
		return err
	}
	if transA != 0 {
		return unsupported("transA=1 (it transposes the batch axis)")
	}
	if len(x.Shape()) != 1 {
		return fmt.Errorf("input A has sample shape %v: Gemm takes (batch, features)", x.Shape())
	}
	w, err := nc.constIn(1, "B")
	if err != nil {
		return err
	}
	if len(w.shape) != 2 {
		return fmt.Errorf("input B has shape %v: want a matrix", w.shape)
	}
	k := x.Shape()[0]
	units, inner := w.shape[1], w.shape[0]
	if transB != 0 {
		units, inner = w.shape[0], w.shape[1]
	}
	if inner != k {
		return fmt.Errorf("input B of shape %v (transB=%d) for %d input features", w.shape, transB, k)
	}
	var c *constant
	if nc.input(2) != nil {
		if c, err = nc.constIn(2, "C"); err != nil {
			return err
		}
	}
	if alpha == 1 && beta == 1 && c != nil && c.size() == units && (slices.Equal(c.shape, []int{units}) || slices.Equal(c.shape, []int{1, units})) {
		// graph.Dense exactly: x·W + b with W stored (in, out).
		if w.dt != tFloat || c.dt != tFloat {
			return unsupported("Gemm of element types %s and %s (tapenet's layers compute in float32)", typeName(w.dt), typeName(c.dt))
		}
		wv := w.f
		if transB != 0 {
			_, idx := transposeIndex(w.shape, []int{1, 0})
			wv = w.pick([]int{k, units}, idx).f
		}
		wp := param{local: "weight", shape: []int{k, units}, values: wv, source: w.init}
		bp, err := paramOf("bias", c, []int{units})
		if err != nil {
			return err
		}
		t, err := nc.apply(&graph.Dense{Units: units}, []param{wp, bp}, x)
		if err != nil {
			return err
		}
		return nc.outTensor(t)
	}
	l := &Gemm{Units: units, Alpha: alpha, Beta: beta, TransB: transB != 0}
	wp, err := paramOf("weight", w, w.shape)
	if err != nil {
		return err
	}
	ps := []param{wp}
	if c != nil {
		l.Bias = c.shape
		if len(l.Bias) == 0 {
			l.Bias = []int{1}
		}
		if _, err := biasPattern(l.Bias, units); err != nil {
			return unsupported("C of shape %v (it must broadcast to (batch, %d) without depending on the batch)", c.shape, units)
		}
		bp, err := paramOf("bias", c, l.Bias)
		if err != nil {
			return err
		}
		ps = append(ps, bp)
	}
	t, err := nc.apply(l, ps, x)
	if err != nil {
		return err
	}
	return nc.outTensor(t)
}

func matmul(nc *nodeCtx) error {
	if err := nc.allow(); err != nil {
		return err
	}
	if err := nc.inputs(2, 2); err != nil {
		return err
	}
	if nc.input(0).c != nil {
		return unsupported("MatMul with a constant first operand")
	}
	if nc.input(1).t != nil {
		return unsupported("MatMul of two computed tensors")
	}
	x, _ := nc.tensorIn(0)
	w, _ := nc.constIn(1, "B")
	if len(w.shape) != 2 {
		return unsupported("MatMul by a constant of %d dimensions (only matrices)", len(w.shape))
	}
	ps := x.Shape()
	if ps[len(ps)-1] != w.shape[0] {
		return fmt.Errorf("input of sample shape %v times a matrix %v", ps, w.shape)
	}
	p, err := paramOf("weight", w, w.shape)
	if err != nil {
		return err
	}
	t, err := nc.apply(&MatMul{Units: w.shape[1]}, []param{p}, x)
	if err != nil {
		return err
	}
	return nc.outTensor(t)
}

func binaryOp(op string) handler {
	return func(nc *nodeCtx) error {
		if err := nc.allow(); err != nil {
			return err
		}
		if err := nc.inputs(2, 2); err != nil {
			return err
		}
		a, b := nc.input(0), nc.input(1)
		switch {
		case a.c != nil && b.c != nil:
			shape, err := broadcastShapes(a.c.shape, b.c.shape)
			if err != nil {
				return err
			}
			if err := nc.room(a.c.dt, shapeSize(shape), false); err != nil {
				return err
			}
			r, err := arith(nc.n.OpType, a.c, b.c)
			if err != nil {
				return err
			}
			return nc.outConst(r)
		case a.t != nil && b.t != nil:
			sa, sb := a.t.Shape(), b.t.Shape()
			var l graph.Layer = &Binary{Op: op}
			if slices.Equal(sa, sb) {
				switch op {
				case "add":
					l = graph.Add{}
				case "mul":
					l = graph.Multiply{}
				}
			} else {
				if len(sa) != len(sb) {
					return unsupported("broadcasting tensors of sample shapes %v and %v (their ranks differ, so their batch axes would not line up)", sa, sb)
				}
				if _, err := broadcastShapes(sa, sb); err != nil {
					return err
				}
			}
			t, err := nc.apply(l, nil, a.t, b.t)
			if err != nil {
				return err
			}
			return nc.outTensor(t)
		}
		x, c, left := a.t, b.c, false
		if x == nil {
			x, c, left = b.t, a.c, true
		}
		if c.dt != tFloat || c.hasSym() {
			return fmt.Errorf("%s of a FLOAT tensor and a %s constant: ONNX wants one type (insert a Cast)", nc.n.OpType, typeName(c.dt))
		}
		full := fullShape(x)
		switch {
		case len(full) > 4:
			return unsupported("%s of a tensor of %d dimensions and a constant (Gorgonia broadcasts at most 4, batch included)", nc.n.OpType, len(full))
		case len(c.shape) > len(full):
			return unsupported("a constant of shape %v broadcast over a tensor of rank %d (it adds dimensions before the batch)", c.shape, len(full))
		case len(c.shape) == len(full) && c.shape[0] != 1:
			return unsupported("a constant of shape %v whose first dimension lines up with the batch", c.shape)
		}
		per := c.shape
		if len(per) == len(full) {
			per = per[1:]
		}
		if _, err := broadcastShapes(x.Shape(), per); err != nil {
			return err
		}
		pshape := c.shape
		if len(pshape) == 0 {
			pshape = []int{1}
		}
		l := &Binary{Op: op, Param: slices.Clone(pshape), Left: left, Fixed: !c.learn}
		if name := paramName(c, "value"); name != "value" {
			l.ParamName = name
		}
		p, err := paramOf(l.paramName(), c, pshape)
		if err != nil {
			return err
		}
		t, err := nc.apply(l, []param{p}, x)
		if err != nil {
			return err
		}
		return nc.outTensor(t)
	}
}

func softmax(log bool) handler {
	return func(nc *nodeCtx) error {
		if err := nc.allow("axis"); err != nil {
			return err
		}
		if err := nc.inputs(1, 1); err != nil {
			return err
		}
		x, err := nc.tensorIn(0)
		if err != nil {
			return err
		}
		ps := x.Shape()
		r := len(ps) + 1
		def := int64(-1)
		if nc.opset < 13 {
			def = 1
		}
		axis, err := nc.attrInt("axis", def)
		if err != nil {
			return err
		}
		a, err := normAxis(axis, r)
		if err != nil {
			return err
		}
		if a == 0 {
			return unsupported("%s along the batch axis", nc.n.OpType)
		}
		layer := func(rank, axis int) graph.Layer {
			if !log && rank == 1 {
				return graph.Softmax{}
			}
			return &Softmax{Axis: axis, Log: log}
		}
		if nc.opset >= 13 || a == r-1 {
			t, err := nc.apply(layer(len(ps), a-1), nil, x)
			if err != nil {
				return err
			}
			return nc.outTensor(t)
		}
		// Before opset 13, the input is a matrix: the dimensions before
		// the axis are its rows, the others its columns.
		shape := []int{shapeSize(ps[a-1:])}
		if a > 1 {
			shape = []int{shapeSize(ps[:a-1]), shape[0]}
		}
		t, err := nc.apply(&graph.Reshape{Shape: shape}, nil, x)
		if err != nil {
			return err
		}
		if t, err = nc.apply(layer(len(shape), len(shape)-1), nil, t); err != nil {
			return err
		}
		if t, err = nc.apply(&graph.Reshape{Shape: slices.Clone(ps)}, nil, t); err != nil {
			return err
		}
		return nc.outTensor(t)
	}
}
