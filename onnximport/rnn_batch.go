package onnximport

// Tensors whose batch axis is not the first, in a model of a symbolic
// batch. ONNX's recurrent operators put the sequence first, X (seq, batch,
// in), so a batch-first model exported with dynamic_axes transposes its
// input to the batch at axis 1 before an LSTM and back after it. tapenet's
// tensors keep the batch first: such an ONNX tensor is held as the tensor
// with its batch moved to the front (a movedBatch), and only the operators
// that PyTorch puts around a recurrent one take it (Transpose, Squeeze,
// Unsqueeze, Reshape and Gather that leave the batch whole, LSTM, GRU and
// RNN); any other is refused naming the node that moved the batch. A
// Transpose that brings the batch back to the front gives an ordinary
// tensor again.

import (
	"fmt"
	"slices"

	"github.com/tapenet/tapenet/graph"
)

// movedBatch is an ONNX tensor whose batch is at axis Axis (> 0): t holds it
// with that axis moved to the front (t's sample axes are the ONNX tensor's
// other axes, in order).
type movedBatch struct {
	t    *graph.Tensor
	axis int
	// zero marks a tensor of zeros (ConstantOfShape's initial states).
	zero bool
	// from names the node that moved the batch, for errors.
	from string
}

// onnxShape returns the ONNX tensor's shape, the batch as -1.
func (mb *movedBatch) onnxShape() []int {
	return slices.Insert(slices.Clone(mb.t.Shape()), mb.axis, -1)
}

// movedValue makes the value of an ONNX tensor that is t (batch first)
// with its batch moved to axis: an ordinary tensor when axis is 0.
func movedValue(t *graph.Tensor, axis int, from string) *value {
	if axis == 0 {
		return &value{t: t}
	}
	return &value{moved: &movedBatch{t: t, axis: axis, from: from}}
}

// batchMoves converts the nodes that take or make a tensor whose batch is
// not first (in a model of a symbolic batch), reporting whether it did.
func batchMoves(nc *nodeCtx) (bool, error) {
	if nc.im.fixed {
		return false, nil
	}
	var mb *movedBatch
	for _, v := range nc.in {
		if v != nil && v.moved != nil {
			mb = v.moved
			break
		}
	}
	op := nc.n.OpType
	if mb == nil {
		switch {
		case op == "Transpose" && movesBatch(nc):
			return true, batchTranspose(nc)
		case op == "ConstantOfShape" && batchInside(nc, 0):
			return true, batchFill(nc)
		case op == "Expand" && batchInside(nc, 1) && uniform(nc.input(0)):
			return true, batchExpand(nc)
		}
		return false, nil
	}
	switch op {
	case "LSTM", "GRU", "RNN", "Shape":
		return false, nil // their handlers read them
	case "Transpose":
		return true, batchTranspose(nc)
	case "Squeeze", "Unsqueeze":
		return true, batchSqueeze(nc)
	case "Reshape":
		return true, batchReshape(nc)
	case "Gather":
		return true, batchGather(nc)
	}
	return true, unsupported("%s of a tensor whose batch is at axis %d (%s moved it there; tapenet keeps the batch first, and only Transpose, Squeeze, Unsqueeze, Reshape, Gather, LSTM, GRU and RNN take such a tensor)", op, mb.axis, mb.from)
}

// nodeLabel names the node for errors.
func nodeLabel(nc *nodeCtx) string {
	if nc.n.Name != "" {
		return fmt.Sprintf("%s %q", nc.n.OpType, nc.n.Name)
	}
	return nc.n.OpType
}

// onnxOf returns input k as a batch-first tensor, the axis ONNX has its
// batch at and the ONNX shape (batch -1).
func onnxOf(nc *nodeCtx, k int) (*graph.Tensor, int, []int, error) {
	v := nc.input(k)
	switch {
	case v == nil:
		return nil, 0, nil, fmt.Errorf("input %d is missing", k)
	case v.moved != nil:
		return v.moved.t, v.moved.axis, v.moved.onnxShape(), nil
	case v.t != nil:
		return v.t, 0, fullShape(v.t), nil
	}
	return nil, 0, nil, unsupported("a constant input %d", k)
}

// movesBatch reports whether a Transpose of a tensor moves its batch.
func movesBatch(nc *nodeCtx) bool {
	v := nc.input(0)
	if v == nil || v.t == nil {
		return false
	}
	perm, ok, err := nc.attrInts("perm")
	if err != nil {
		return false
	}
	return !ok || (len(perm) > 0 && perm[0] != 0)
}

// batchTranspose converts a Transpose of a tensor whose batch is at axis p
// (0 for an ordinary tensor): the batch goes to q, where perm[q] = p, and
// the other axes are a transposition of each sample.
func batchTranspose(nc *nodeCtx) error {
	if err := nc.allow("perm"); err != nil {
		return err
	}
	if err := nc.inputs(1, 1); err != nil {
		return err
	}
	t, p, shape, err := onnxOf(nc, 0)
	if err != nil {
		return err
	}
	r := len(shape)
	perm64, ok, err := nc.attrInts("perm")
	if err != nil {
		return err
	}
	if !ok {
		for k := r - 1; k >= 0; k-- {
			perm64 = append(perm64, int64(k))
		}
	}
	perm, err := checkPerm(perm64, r)
	if err != nil {
		return err
	}
	q := slices.Index(perm, p)
	// sample maps an ONNX axis other than the batch to t's sample axis.
	sample := func(a int) int {
		if a > p {
			return a - 1
		}
		return a
	}
	var sp []int
	identity := true
	for j, a := range perm {
		if j == q {
			continue
		}
		identity = identity && sample(a) == len(sp)
		sp = append(sp, sample(a))
	}
	if !identity {
		if t, err = nc.apply(&Transpose{Perm: sp}, nil, t); err != nil {
			return err
		}
	}
	return nc.out(0, movedValue(t, q, nodeLabel(nc)))
}

// batchSqueeze converts a Squeeze or Unsqueeze of a tensor whose batch is
// not first, on axes other than the batch.
func batchSqueeze(nc *nodeCtx) error {
	axes, ok, err := nc.axesArg(1)
	if err != nil {
		return err
	}
	t, p, in, err := onnxOf(nc, 0)
	if err != nil {
		return err
	}
	if !ok || len(axes) == 0 {
		return unsupported("%s without axes of a tensor with a batch dimension", nc.n.OpType)
	}
	var out []int
	q := p
	if nc.n.OpType == "Squeeze" {
		ax, err := normAxes(axes, len(in))
		if err != nil {
			return err
		}
		for k, d := range in {
			switch {
			case !slices.Contains(ax, k):
				if k == p {
					q = len(out)
				}
				out = append(out, d)
			case k == p:
				return unsupported("Squeeze of the batch axis")
			case d != 1:
				return fmt.Errorf("axis %d of size %d cannot be squeezed", k, d)
			}
		}
	} else {
		ax, err := normAxes(axes, len(in)+len(axes))
		if err != nil {
			return err
		}
		j := 0 // the input's axis
		for k := range len(in) + len(ax) {
			if slices.Contains(ax, k) {
				out = append(out, 1)
				continue
			}
			if j == p {
				q = k
			}
			out = append(out, in[j])
			j++
		}
	}
	sampleShape := slices.Delete(slices.Clone(out), q, q+1)
	if len(sampleShape) == 0 {
		return unsupported("%s leaving no sample dimension", nc.n.OpType)
	}
	if t, err = nc.apply(&graph.Reshape{Shape: sampleShape}, nil, t); err != nil {
		return err
	}
	return nc.out(0, movedValue(t, q, nodeLabel(nc)))
}

// batchReshape converts a Reshape of a tensor whose batch is at axis p to
// a shape with the batch at axis q, where the dimensions before it hold as
// many values as before p: each sample is then reshaped on its own.
func batchReshape(nc *nodeCtx) error {
	if err := nc.allow("allowzero"); err != nil {
		return err
	}
	if err := nc.inputs(2, 2); err != nil {
		return err
	}
	allowzero, err := nc.attrInt("allowzero", 0)
	if err != nil {
		return err
	}
	t, p, in, err := onnxOf(nc, 0)
	if err != nil {
		return err
	}
	sc, err := nc.constIn(1, "shape")
	if err != nil {
		return err
	}
	target, err := sc.ints()
	if err != nil || len(sc.shape) != 1 {
		return fmt.Errorf("shape %v: want a vector of integers", sc)
	}
	q := -1
	out := make([]int64, len(target))
	for k, d := range target {
		batch := sc.isSym(k) || (d == 0 && allowzero == 0 && k == p)
		if batch {
			if q >= 0 {
				return unsupported("Reshape to a shape with the batch size twice")
			}
			q = k
			out[k] = 1
			continue
		}
		out[k] = d
	}
	if q < 0 {
		return unsupported("Reshape of a tensor whose batch is at axis %d to a shape without the batch size (%s moved the batch there)", p, nc.input(0).movedFrom())
	}
	// Resolve 0s and -1 per sample: the input with a batch of 1.
	one := slices.Clone(in)
	one[p] = 1
	shape, err := reshapeTarget(one, out, allowzero != 0)
	if err != nil {
		return err
	}
	if shapeSize(one[:p]) != shapeSize(shape[:q]) {
		return unsupported("Reshape of %v to %v: it mixes the batch (axis %d) with other dimensions", in, target, p)
	}
	sampleShape := slices.Delete(shape, q, q+1)
	if len(sampleShape) == 0 {
		return unsupported("Reshape leaving no sample dimension")
	}
	if t, err = nc.apply(&graph.Reshape{Shape: sampleShape}, nil, t); err != nil {
		return err
	}
	return nc.out(0, movedValue(t, q, nodeLabel(nc)))
}

// movedFrom names the node that moved a value's batch.
func (v *value) movedFrom() string {
	if v.moved != nil {
		return v.moved.from
	}
	return "no node"
}

// batchGather converts a Gather with constant indices (a scalar or a
// vector) along an axis other than the batch.
func batchGather(nc *nodeCtx) error {
	if err := nc.allow("axis"); err != nil {
		return err
	}
	if err := nc.inputs(2, 2); err != nil {
		return err
	}
	t, p, in, err := onnxOf(nc, 0)
	if err != nil {
		return err
	}
	axis64, err := nc.attrInt("axis", 0)
	if err != nil {
		return err
	}
	a, err := normAxis(axis64, len(in))
	if err != nil {
		return err
	}
	if a == p {
		return unsupported("Gather along the batch axis")
	}
	ic, err := nc.constIn(1, "indices")
	if err != nil {
		return err
	}
	idx, err := ic.ints()
	scalar := nc.input(1).scalar || len(ic.shape) == 0
	if err != nil || ic.hasSym() || (!scalar && len(ic.shape) != 1) || len(idx) == 0 {
		return unsupported("Gather with indices %v (a scalar or a vector of constants)", ic)
	}
	ind := make([]int, len(idx))
	for k, i := range idx {
		if i < 0 {
			i += int64(in[a])
		}
		if i < 0 || i >= int64(in[a]) {
			return fmt.Errorf("index %d out of range for axis %d of %v", idx[k], a, in)
		}
		ind[k] = int(i)
	}
	sa := a
	if a > p {
		sa--
	}
	q := p
	if scalar && a < p {
		q--
	}
	if scalar && len(t.Shape()) < 2 {
		return unsupported("Gather leaving no sample dimension")
	}
	if t, err = nc.apply(&Gather{Axis: sa, Indices: ind, Scalar: scalar}, nil, t); err != nil {
		return err
	}
	return nc.out(0, movedValue(t, q, nodeLabel(nc)))
}

// batchInside reports whether input k, a shape, holds the batch size at
// one position other than the first.
func batchInside(nc *nodeCtx, k int) bool {
	v := nc.input(k)
	if v == nil || v.c == nil || !v.c.hasSym() || len(v.c.shape) != 1 {
		return false
	}
	n := 0
	for k := range v.c.size() {
		if v.c.isSym(k) {
			n++
		}
	}
	return n == 1 && !v.c.isSym(0)
}

// uniform reports whether v is a float constant of one value throughout.
func uniform(v *value) bool {
	if v == nil || v.c == nil || v.c.dt != tFloat || v.c.size() == 0 {
		return false
	}
	return !slices.ContainsFunc(v.c.f, func(f float32) bool { return f != v.c.f[0] })
}

// batchExpand converts an Expand of a constant of one value to a shape
// with the batch size at a position p > 0: the zero initial states
// PyTorch computes for its recurrent operators in a default export, a
// constant of the export's batch size expanded to the batch. Every other
// dimension of the constant must be 1 or the shape's.
func batchExpand(nc *nodeCtx) error {
	if err := nc.allow(); err != nil {
		return err
	}
	if err := nc.inputs(2, 2); err != nil {
		return err
	}
	c, sh := nc.input(0).c, nc.input(1).c
	if len(c.shape) > len(sh.i) {
		return unsupported("Expand of %v to a shape of rank %d", c, len(sh.i))
	}
	var dims []int
	p := 0
	off := len(sh.i) - len(c.shape)
	for k, d := range sh.i {
		if sh.isSym(k) {
			p = k
			continue
		}
		if k >= off && c.shape[k-off] != 1 && int64(c.shape[k-off]) != d {
			return fmt.Errorf("expand %v to %v: dimension %d of %d", c, sh.i, k, c.shape[k-off])
		}
		if d < 1 || d > graph.MaxElements {
			return fmt.Errorf("shape %v: dimension %d out of range", sh.i, d)
		}
		dims = append(dims, int(d))
	}
	return fillMoved(nc, dims, p, c.f[0])
}

// batchFill converts a ConstantOfShape of a shape with the batch size at a
// position p > 0 (the zero initial states PyTorch computes for its
// recurrent operators): the values for each sample.
func batchFill(nc *nodeCtx) error {
	if err := nc.allow("value"); err != nil {
		return err
	}
	if err := nc.inputs(1, 1); err != nil {
		return err
	}
	sh := nc.input(0).c
	fill := float32(0)
	if a, ok := nc.attrs["value"]; ok {
		c, err := tensorFromProto(a.T, 1)
		if err != nil {
			return err
		}
		if c.dt != tFloat || c.size() != 1 {
			return unsupported("ConstantOfShape of value %v with a batch dimension (tapenet computes in float32)", c)
		}
		fill = c.f[0]
	}
	var dims []int
	p := 0
	for k, d := range sh.i {
		if sh.isSym(k) {
			p = k
			continue
		}
		if d < 1 || d > graph.MaxElements {
			return fmt.Errorf("shape %v: dimension %d out of range", sh.i, d)
		}
		dims = append(dims, int(d))
	}
	return fillMoved(nc, dims, p, fill)
}

// fillMoved sets the output to a tensor of samples of shape dims, every
// value fill, with the batch moved to axis p.
func fillMoved(nc *nodeCtx, dims []int, p int, fill float32) error {
	if len(dims) == 0 {
		return unsupported("%s to a shape with no sample dimension", nc.n.OpType)
	}
	if shapeSize(dims) > graph.MaxElements {
		return fmt.Errorf("shape %v: more than %d values per sample", dims, graph.MaxElements)
	}
	t, err := nc.apply(&Fill{Shape: dims, Value: fill}, nil, nc.im.first)
	if err != nil {
		return err
	}
	v := movedValue(t, p, nodeLabel(nc))
	v.moved.zero = fill == 0
	return nc.out(0, v)
}
