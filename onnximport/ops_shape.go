package onnximport

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/graph"
)

// Conversions of the operators that move values around (reshapes,
// transposes, slices, joins) and make constants, folded while importing
// when their inputs are known.

func identity(nc *nodeCtx) error {
	if err := nc.allow(); err != nil {
		return err
	}
	if err := nc.inputs(1, 1); err != nil {
		return err
	}
	return nc.out(0, nc.input(0))
}

func flatten(nc *nodeCtx) error {
	if err := nc.allow("axis"); err != nil {
		return err
	}
	if err := nc.inputs(1, 1); err != nil {
		return err
	}
	axis, err := nc.attrInt("axis", 1)
	if err != nil {
		return err
	}
	v := nc.input(0)
	if v.c != nil {
		r := int64(len(v.c.shape))
		if axis < -r || axis > r {
			return fmt.Errorf("axis %d out of range for rank %d", axis, r)
		}
		a := int(axis)
		if a < 0 {
			a += int(r)
		}
		return nc.outConst(v.c.withShape([]int{shapeSize(v.c.shape[:a]), shapeSize(v.c.shape[a:])}))
	}
	ps := v.t.Shape()
	r := int64(len(ps) + 1)
	if axis < -r || axis > r {
		return fmt.Errorf("axis %d out of range for rank %d", axis, r)
	}
	a := int(axis)
	if a < 0 {
		a += int(r)
	}
	if a == 0 {
		return unsupported("Flatten with axis 0 (it merges the batch into one row)")
	}
	if shapeSize(ps[:a-1]) != 1 {
		return unsupported("Flatten at axis %d of a tensor of sample shape %v (it merges the batch with sample dimensions)", axis, ps)
	}
	var l graph.Layer = graph.Flatten{}
	if a > 1 {
		l = &graph.Reshape{Shape: []int{shapeSize(ps[a-1:])}}
	}
	t, err := nc.apply(l, nil, v.t)
	if err != nil {
		return err
	}
	return nc.outTensor(t)
}

// reshapeTarget resolves Reshape's shape for a constant of shape in: 0
// copies the input's dimension (unless allowzero), -1 is inferred.
func reshapeTarget(in []int, target []int64, allowzero bool) ([]int, error) {
	out := make([]int, len(target))
	free := -1
	for k, v := range target {
		switch {
		case v == 0 && !allowzero:
			if k >= len(in) {
				return nil, fmt.Errorf("shape %v: a 0 at position %d copies a dimension the input %v lacks", target, k, in)
			}
			out[k] = in[k]
		case v == -1:
			if free >= 0 {
				return nil, fmt.Errorf("shape %v has two -1", target)
			}
			free = k
		case v < 0 || v > graph.MaxElements:
			return nil, fmt.Errorf("shape %v: dimension %d out of range", target, v)
		default:
			out[k] = int(v)
		}
	}
	return resolveFree(out, free, shapeSize(in), target)
}

// resolveFree fills out[free] (if free >= 0) so that out holds total
// values, checking the products without overflow.
func resolveFree(out []int, free, total int, target []int64) ([]int, error) {
	known, zero := 1, false
	for k, d := range out {
		if k == free {
			continue
		}
		if d == 0 {
			zero = true
			continue
		}
		known *= d
		if known > graph.MaxElements {
			known = graph.MaxElements + 1 // saturate: more than any tensor holds
		}
	}
	if zero {
		known = 0
	}
	if free >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("%d values cannot take shape %v", total, target)
		}
		out[free] = total / known
		return out, nil
	}
	if known != total {
		return nil, fmt.Errorf("%d values cannot take shape %v", total, target)
	}
	return out, nil
}

// batchedReshape resolves Reshape's shape for a tensor of sample shape ps:
// its first dimension must be the batch (the batch size from Shape, a 0
// copying it, or a -1 when the others hold exactly one sample). It returns
// the sample shape.
func batchedReshape(ps []int, target *constant, allowzero bool) ([]int, error) {
	n := len(target.i)
	if n < 2 {
		return nil, unsupported("Reshape of a tensor with a batch dimension to %d dimensions (the batch and at least one per sample)", n)
	}
	out := make([]int, n)
	free, batch := -1, false
	show := func() string {
		s := make([]string, n)
		for k, v := range target.i {
			s[k] = strconv.FormatInt(v, 10)
			if target.isSym(k) {
				s[k] = "N"
			}
		}
		return fmt.Sprint(s)
	}
	for k := range n {
		v := target.i[k]
		switch {
		case target.isSym(k):
			if k != 0 {
				return nil, unsupported("Reshape to %s, with the batch size at position %d", show(), k)
			}
			batch = true
		case v == 0 && !allowzero:
			if k == 0 {
				batch = true
				continue
			}
			if k > len(ps) {
				return nil, fmt.Errorf("shape %s: a 0 at position %d copies a dimension the input lacks", show(), k)
			}
			out[k] = ps[k-1]
		case v == -1:
			if free >= 0 {
				return nil, fmt.Errorf("shape %s has two -1", show())
			}
			free = k
		case v < 1 || v > graph.MaxElements:
			return nil, unsupported("Reshape to %s (dimension %d)", show(), v)
		default:
			out[k] = int(v)
		}
	}
	total := shapeSize(ps)
	if !batch {
		if free != 0 {
			return nil, unsupported("Reshape to %s: its first dimension is not the batch (keep the batch first: x.view(x.size(0), -1) or -1 first)", show())
		}
		// -1 first stands for the batch when the rest is one sample.
		rest, err := resolveFree(out[1:], -1, total, target.i)
		if err != nil {
			return nil, unsupported("Reshape to %s, which mixes the batch with sample dimensions (%v)", show(), err)
		}
		return rest, nil
	}
	rest, err := resolveFree(out[1:], free-1, total, target.i)
	if err != nil {
		return nil, err
	}
	return rest, nil
}

func reshape(nc *nodeCtx) error {
	if err := nc.allow("allowzero"); err != nil {
		return err
	}
	if err := nc.inputs(2, 2); err != nil {
		return err
	}
	az, err := nc.attrInt("allowzero", 0)
	if err != nil {
		return err
	}
	sh, err := nc.constIn(1, "shape")
	if err != nil {
		return err
	}
	if !isInt(sh.dt) || len(sh.shape) != 1 {
		return fmt.Errorf("shape %s: want a vector of integers", sh)
	}
	v := nc.input(0)
	if v.c != nil {
		target, err := sh.ints()
		if err != nil {
			return unsupported("Reshape of a constant to a shape that %v", err)
		}
		out, err := reshapeTarget(v.c.shape, target, az != 0)
		if err != nil {
			return err
		}
		return nc.outConst(v.c.withShape(out))
	}
	out, err := batchedReshape(v.t.Shape(), sh, az != 0)
	if err != nil {
		return err
	}
	if slices.Equal(out, v.t.Shape()) {
		return nc.outTensor(v.t)
	}
	t, err := nc.apply(&graph.Reshape{Shape: out}, nil, v.t)
	if err != nil {
		return err
	}
	return nc.outTensor(t)
}

func transpose(nc *nodeCtx) error {
	if err := nc.allow("perm"); err != nil {
		return err
	}
	if err := nc.inputs(1, 1); err != nil {
		return err
	}
	v := nc.input(0)
	var r int
	if v.c != nil {
		r = len(v.c.shape)
	} else {
		r = len(v.t.Shape()) + 1
	}
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
	if v.c != nil {
		if err := nc.room(v.c.dt, v.c.size(), true); err != nil {
			return err
		}
		shape, idx := transposeIndex(v.c.shape, perm)
		return nc.outConst(v.c.pick(shape, idx))
	}
	if perm[0] != 0 {
		return unsupported("Transpose with perm %v (it moves the batch axis)", perm64)
	}
	per := make([]int, r-1)
	same := true
	for k := range per {
		per[k] = perm[k+1] - 1
		same = same && per[k] == k
	}
	if same {
		return nc.outTensor(v.t)
	}
	t, err := nc.apply(&Transpose{Perm: per}, nil, v.t)
	if err != nil {
		return err
	}
	return nc.outTensor(t)
}

func concat(nc *nodeCtx) error {
	if err := nc.allow("axis"); err != nil {
		return err
	}
	if len(nc.in) == 0 || slices.Contains(nc.in, nil) {
		return fmt.Errorf("one or more inputs are needed, none omitted")
	}
	if _, ok := nc.attrs["axis"]; !ok {
		return fmt.Errorf("attribute axis is missing")
	}
	axis, err := nc.attrInt("axis", 0)
	if err != nil {
		return err
	}
	var consts []*constant
	var tensors []*graph.Tensor
	for _, v := range nc.in {
		if v.c != nil {
			consts = append(consts, v.c)
		} else {
			tensors = append(tensors, v.t)
		}
	}
	if len(consts) > 0 && len(tensors) > 0 {
		return unsupported("Concat of constants and computed tensors")
	}
	if len(tensors) > 0 {
		a, err := normAxis(axis, len(tensors[0].Shape())+1)
		if err != nil {
			return err
		}
		if a == 0 {
			return unsupported("Concat along the batch axis")
		}
		if len(tensors) == 1 {
			return nc.outTensor(tensors[0])
		}
		t, err := nc.apply(&graph.Concat{Axis: a - 1}, nil, tensors...)
		if err != nil {
			return err
		}
		return nc.outTensor(t)
	}
	c0 := consts[0]
	a, err := normAxis(axis, len(c0.shape))
	if err != nil {
		return err
	}
	shape := slices.Clone(c0.shape)
	shape[a] = 0
	for _, c := range consts {
		if c.dt != c0.dt || len(c.shape) != len(c0.shape) {
			return fmt.Errorf("inputs %s and %s differ in type or rank", c0, c)
		}
		for d := range c.shape {
			if d != a && c.shape[d] != c0.shape[d] {
				return fmt.Errorf("inputs %s and %s cannot join along axis %d", c0, c, a)
			}
		}
		shape[a] += c.shape[a]
	}
	if err := nc.room(c0.dt, shapeSize(shape), false); err != nil {
		return err
	}
	out := &constant{dt: c0.dt, shape: shape}
	outer := shapeSize(shape[:a])
	anySym := false
	for _, c := range consts {
		anySym = anySym || c.hasSym()
		out.learn = out.learn || c.learn
	}
	for o := range outer {
		for _, c := range consts {
			chunk := shapeSize(c.shape[a:])
			from := o * chunk
			out.appendFrom(c, from, from+chunk)
			if anySym {
				if c.sym != nil {
					out.sym = append(out.sym, c.sym[from:from+chunk]...)
				} else {
					out.sym = append(out.sym, make([]bool, chunk)...)
				}
			}
		}
	}
	out.ensure()
	return nc.outConst(out)
}

func constantOp(nc *nodeCtx) error {
	if err := nc.allow("value", "value_float", "value_floats", "value_int", "value_ints"); err != nil {
		return err
	}
	if err := nc.inputs(0, 0); err != nil {
		return err
	}
	if len(nc.attrs) != 1 {
		return fmt.Errorf("exactly one value attribute is needed, got %d", len(nc.attrs))
	}
	var c *constant
	for name, a := range nc.attrs {
		var err error
		switch name {
		case "value":
			if a.Type != onnx.AttributeProto_TENSOR {
				return fmt.Errorf("attribute value is of type %s", a.Type)
			}
			if c, err = tensorFromProto(a.T, min(graph.MaxElements, nc.im.budget)); err != nil {
				return err
			}
		case "value_float":
			f, err := nc.attrFloat(name, 0)
			if err != nil {
				return err
			}
			c = &constant{dt: tFloat, shape: []int{}, f: []float32{f}}
		case "value_floats":
			if a.Type != onnx.AttributeProto_FLOATS {
				return fmt.Errorf("attribute value_floats is of type %s", a.Type)
			}
			c = &constant{dt: tFloat, shape: []int{len(a.Floats)}, f: slices.Clone(a.Floats)}
		case "value_int":
			v, err := nc.attrInt(name, 0)
			if err != nil {
				return err
			}
			c = &constant{dt: tInt64, shape: []int{}, i: []int64{v}}
		case "value_ints":
			v, _, err := nc.attrInts(name)
			if err != nil {
				return err
			}
			c = &constant{dt: tInt64, shape: []int{len(v)}, i: slices.Clone(v)}
		}
	}
	c.ensure()
	c.init, c.learn = "", false
	if err := nc.room(c.dt, c.size(), false); err != nil {
		return err
	}
	return nc.outConst(c)
}

func shapeOp(nc *nodeCtx) error {
	if err := nc.allow("start", "end"); err != nil {
		return err
	}
	if err := nc.inputs(1, 1); err != nil {
		return err
	}
	v := nc.input(0)
	var dims []int
	var sym []bool
	switch {
	case v.c != nil:
		dims = slices.Clone(v.c.shape)
		sym = make([]bool, len(dims))
	case v.moved != nil: // the batch elsewhere (rnn_batch.go)
		dims = v.moved.onnxShape()
		sym = make([]bool, len(dims))
		sym[v.moved.axis] = true
	default:
		dims = fullShape(v.t)
		sym = make([]bool, len(dims))
		if b := v.t.Batch(); b > 0 {
			dims[0] = b // a fixed batch: an ordinary dimension
		} else {
			sym[0] = true
		}
	}
	r := int64(len(dims))
	start, err := nc.attrInt("start", 0)
	if err != nil {
		return err
	}
	end, err := nc.attrInt("end", r)
	if err != nil {
		return err
	}
	clamp := func(x int64) int {
		if x < 0 {
			x += r
		}
		return int(min(max(x, 0), r))
	}
	s, e := clamp(start), clamp(end)
	e = max(e, s)
	out := &constant{dt: tInt64, shape: []int{e - s}, i: make([]int64, e-s), sym: sym[s:e]}
	for k := s; k < e; k++ {
		out.i[k-s] = int64(dims[k])
	}
	if !out.hasSym() {
		out.sym = nil
	}
	return nc.outConst(out)
}

func gather(nc *nodeCtx) error {
	if err := nc.allow("axis"); err != nil {
		return err
	}
	if err := nc.inputs(2, 2); err != nil {
		return err
	}
	if done, err := embeddingGather(nc); done || err != nil {
		return err
	}
	ic, err := nc.constIn(1, "indices")
	if err != nil {
		return err
	}
	idx, err := ic.ints()
	if err != nil {
		return fmt.Errorf("indices: %w", err)
	}
	axis, err := nc.attrInt("axis", 0)
	if err != nil {
		return err
	}
	v := nc.input(0)
	if v.c != nil {
		a, err := normAxis(axis, len(v.c.shape))
		if err != nil {
			return err
		}
		dim := v.c.shape[a]
		norm := make([]int, len(idx))
		for k, i := range idx {
			if i < 0 {
				i += int64(dim)
			}
			if i < 0 || i >= int64(dim) {
				return fmt.Errorf("index %d out of range for axis %d of %s", idx[k], a, v.c)
			}
			norm[k] = int(i)
		}
		outer, inner := shapeSize(v.c.shape[:a]), shapeSize(v.c.shape[a+1:])
		if err := nc.room(v.c.dt, outer*len(norm)*inner, true); err != nil {
			return err
		}
		src := make([]int, 0, outer*len(norm)*inner)
		for o := range outer {
			for _, i := range norm {
				for in := range inner {
					src = append(src, (o*dim+i)*inner+in)
				}
			}
		}
		shape := append(append(slices.Clone(v.c.shape[:a]), ic.shape...), v.c.shape[a+1:]...)
		return nc.outConst(v.c.pick(shape, src))
	}
	ps := v.t.Shape()
	a, err := normAxis(axis, len(ps)+1)
	if err != nil {
		return err
	}
	if a == 0 {
		return unsupported("Gather along the batch axis")
	}
	if len(ic.shape) > 1 {
		return unsupported("Gather with indices of %d dimensions from a computed tensor", len(ic.shape))
	}
	scalar := len(ic.shape) == 0
	if scalar && len(ps) == 1 {
		return unsupported("Gather leaving one value per sample (a tensor keeps at least one dimension per sample)")
	}
	if len(idx) == 0 {
		return unsupported("an empty Gather")
	}
	dim := ps[a-1]
	norm := make([]int, len(idx))
	for k, i := range idx {
		if i < 0 {
			i += int64(dim)
		}
		if i < 0 || i >= int64(dim) {
			return fmt.Errorf("index %d out of range for axis %d of sample shape %v", idx[k], a, ps)
		}
		norm[k] = int(i)
	}
	t, err := nc.apply(&Gather{Axis: a - 1, Indices: norm, Scalar: scalar}, nil, v.t)
	if err != nil {
		return err
	}
	return nc.outTensor(t)
}

// axesArg reads the axes of Squeeze or Unsqueeze: an attribute before
// opset 13, the input k from it on. ok is false when they are not given.
func (nc *nodeCtx) axesArg(k int) (axes []int64, ok bool, err error) {
	if nc.opset < 13 {
		if err := nc.allow("axes"); err != nil {
			return nil, false, err
		}
		if err := nc.inputs(1, 1); err != nil {
			return nil, false, err
		}
		return nc.attrInts("axes")
	}
	if err := nc.allow(); err != nil {
		return nil, false, err
	}
	if err := nc.inputs(1, 2); err != nil {
		return nil, false, err
	}
	if nc.input(k) == nil {
		return nil, false, nil
	}
	c, err := nc.constIn(k, "axes")
	if err != nil {
		return nil, false, err
	}
	axes, err = c.ints()
	if err != nil || len(c.shape) > 1 {
		return nil, false, fmt.Errorf("axes %v: want a vector of integers", c)
	}
	return axes, true, nil
}

// normAxes resolves axes against a rank, rejecting repeats.
func normAxes(axes []int64, rank int) ([]int, error) {
	out := make([]int, len(axes))
	for k, a := range axes {
		v, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out[:k], v) {
			return nil, fmt.Errorf("axes %v repeat axis %d", axes, v)
		}
		out[k] = v
	}
	slices.Sort(out)
	return out, nil
}

func unsqueeze(nc *nodeCtx) error {
	axes, ok, err := nc.axesArg(1)
	if err != nil {
		return err
	}
	if !ok || len(axes) == 0 {
		return fmt.Errorf("axes are missing")
	}
	v := nc.input(0)
	in := fullShape0(v)
	if len(in)+len(axes) > 8 {
		return unsupported("more than 8 dimensions")
	}
	ax, err := normAxes(axes, len(in)+len(axes))
	if err != nil {
		return err
	}
	out := make([]int, 0, len(in)+len(ax))
	j := 0
	for k := range len(in) + len(ax) {
		if slices.Contains(ax, k) {
			out = append(out, 1)
		} else {
			out = append(out, in[j])
			j++
		}
	}
	if v.c != nil {
		return nc.outConst(v.c.withShape(out))
	}
	if ax[0] == 0 {
		return unsupported("Unsqueeze at axis 0 (before the batch)")
	}
	t, err := nc.apply(&graph.Reshape{Shape: out[1:]}, nil, v.t)
	if err != nil {
		return err
	}
	return nc.outTensor(t)
}

// fullShape0 returns the shape of a value, the batch as -1.
func fullShape0(v *value) []int {
	if v.c != nil {
		return slices.Clone(v.c.shape)
	}
	return fullShape(v.t)
}

func squeeze(nc *nodeCtx) error {
	axes, ok, err := nc.axesArg(1)
	if err != nil {
		return err
	}
	v := nc.input(0)
	in := fullShape0(v)
	var ax []int
	// An empty list of axes is no list, as ONNX Runtime reads it: every
	// dimension of 1 goes.
	if ok && len(axes) > 0 {
		if ax, err = normAxes(axes, len(in)); err != nil {
			return err
		}
	} else {
		if v.t != nil {
			return unsupported("Squeeze without axes of a tensor with a batch dimension (the result would depend on the batch size)")
		}
		for k, d := range in {
			if d == 1 {
				ax = append(ax, k)
			}
		}
	}
	var out []int
	for k, d := range in {
		if !slices.Contains(ax, k) {
			out = append(out, d)
			continue
		}
		if v.t != nil && k == 0 {
			return unsupported("Squeeze of the batch axis")
		}
		if d != 1 {
			return fmt.Errorf("axis %d of size %d cannot be squeezed", k, d)
		}
	}
	if v.c != nil {
		return nc.outConst(v.c.withShape(out))
	}
	if len(out) < 2 {
		return unsupported("Squeeze leaving one value per sample (a tensor keeps at least one dimension per sample)")
	}
	t, err := nc.apply(&graph.Reshape{Shape: out[1:]}, nil, v.t)
	if err != nil {
		return err
	}
	return nc.outTensor(t)
}

func slice(nc *nodeCtx) error {
	if err := nc.allow(); err != nil {
		return err
	}
	if err := nc.inputs(3, 5); err != nil {
		return err
	}
	read := func(k int, what string) ([]int64, error) {
		c, err := nc.constIn(k, what)
		if err != nil {
			return nil, err
		}
		v, err := c.ints()
		if err != nil || len(c.shape) != 1 {
			return nil, fmt.Errorf("%s %v: want a vector of integers", what, c)
		}
		return v, nil
	}
	starts, err := read(1, "starts")
	if err != nil {
		return err
	}
	ends, err := read(2, "ends")
	if err != nil {
		return err
	}
	v := nc.input(0)
	in := fullShape0(v)
	axes := make([]int64, len(starts))
	for k := range axes {
		axes[k] = int64(k)
	}
	if nc.input(3) != nil {
		if axes, err = read(3, "axes"); err != nil {
			return err
		}
	}
	steps := make([]int64, len(starts))
	for k := range steps {
		steps[k] = 1
	}
	if nc.input(4) != nil {
		if steps, err = read(4, "steps"); err != nil {
			return err
		}
	}
	if len(ends) != len(starts) || len(axes) != len(starts) || len(steps) != len(starts) {
		return fmt.Errorf("starts %v, ends %v, axes %v and steps %v differ in length", starts, ends, axes, steps)
	}
	seen := map[int]bool{}
	begin, step, size := make([]int, len(in)), make([]int, len(in)), slices.Clone(in)
	for k := range step {
		step[k] = 1
	}
	for k, a64 := range axes {
		a, err := normAxis(a64, len(in))
		if err != nil {
			return err
		}
		if seen[a] {
			return fmt.Errorf("axes %v repeat axis %d", axes, a)
		}
		seen[a] = true
		if v.t != nil && a == 0 {
			if starts[k] != 0 || ends[k] < math.MaxInt32 || steps[k] != 1 {
				return unsupported("Slice of the batch axis (starts %d, ends %d, steps %d)", starts[k], ends[k], steps[k])
			}
			continue
		}
		b, st, n, err := sliceRange(starts[k], ends[k], steps[k], in[a])
		if err != nil {
			return err
		}
		begin[a], step[a], size[a] = b, st, n
	}
	if v.c != nil {
		total := shapeSize(size)
		if err := nc.room(v.c.dt, total, true); err != nil {
			return err
		}
		st := strides(in)
		src := make([]int, total)
		coord := make([]int, len(size))
		for k := range src {
			s := 0
			for d := range coord {
				s += (begin[d] + coord[d]*step[d]) * st[d]
			}
			src[k] = s
			for d := len(size) - 1; d >= 0; d-- {
				coord[d]++
				if coord[d] < size[d] {
					break
				}
				coord[d] = 0
			}
		}
		return nc.outConst(v.c.pick(size, src))
	}
	whole := true
	for d := 1; d < len(in); d++ {
		if step[d] != 1 {
			return unsupported("Slice with step %d of a computed tensor", step[d])
		}
		if size[d] == 0 {
			return unsupported("an empty Slice of a computed tensor")
		}
		whole = whole && begin[d] == 0 && size[d] == in[d]
	}
	if whole {
		return nc.outTensor(v.t)
	}
	t, err := nc.apply(&Slice{Begin: begin[1:], Size: size[1:]}, nil, v.t)
	if err != nil {
		return err
	}
	return nc.outTensor(t)
}

func cast(nc *nodeCtx) error {
	if err := nc.allow("to"); err != nil {
		return err
	}
	if err := nc.inputs(1, 1); err != nil {
		return err
	}
	if _, ok := nc.attrs["to"]; !ok {
		return fmt.Errorf("attribute to is missing")
	}
	to, err := nc.attrInt("to", 0)
	if err != nil {
		return err
	}
	if to < 0 || to > math.MaxInt32 {
		return fmt.Errorf("to %d", to)
	}
	v := nc.input(0)
	if v.c != nil {
		if err := nc.room(int32(to), v.c.size(), false); err != nil {
			return err
		}
		c, err := v.c.cast(int32(to))
		if err != nil {
			return err
		}
		return nc.outConst(c)
	}
	if int32(to) != tFloat || v.t.DType().Or() != graph.Float32 {
		return unsupported("Cast of a computed %s tensor to %s (an onnx-op)", v.t.DType().Or(), typeName(int32(to)))
	}
	return nc.outTensor(v.t)
}

func constantOfShape(nc *nodeCtx) error {
	if err := nc.allow("value"); err != nil {
		return err
	}
	if err := nc.inputs(1, 1); err != nil {
		return err
	}
	sh, err := nc.constIn(0, "shape")
	if err != nil {
		return err
	}
	if !isInt(sh.dt) || len(sh.shape) != 1 {
		return fmt.Errorf("shape %s: want a vector of integers", sh)
	}
	fill := &constant{dt: tFloat, shape: []int{1}, f: []float32{0}}
	if a, ok := nc.attrs["value"]; ok {
		if a.Type != onnx.AttributeProto_TENSOR {
			return fmt.Errorf("attribute value is of type %s", a.Type)
		}
		if fill, err = tensorFromProto(a.T, 1); err != nil {
			return err
		}
		if fill.size() != 1 {
			return fmt.Errorf("value %s: want one element", fill)
		}
	}
	dims := make([]int, len(sh.i))
	total := 1
	for k, d := range sh.i {
		if sh.isSym(k) {
			continue
		}
		if d < 0 || d > graph.MaxElements {
			return fmt.Errorf("shape %v: dimension %d out of range", sh.i, d)
		}
		dims[k] = int(d)
		total *= int(d)
		if total > graph.MaxElements {
			return fmt.Errorf("shape %v: more than %d values", sh.i, graph.MaxElements)
		}
	}
	if !sh.hasSym() {
		if err := nc.room(fill.dt, total, false); err != nil {
			return err
		}
		c := newConstant(fill.dt, dims)
		for k := range total {
			c.setFrom(k, fill, 0)
		}
		return nc.outConst(c)
	}
	for k := 1; k < len(dims); k++ {
		if sh.isSym(k) {
			return unsupported("ConstantOfShape with the batch size at position %d", k)
		}
	}
	if !sh.isSym(0) || len(dims) < 2 || total == 0 {
		return unsupported("ConstantOfShape of shape %v with a batch dimension (want the batch first, then at least one non-empty dimension)", sh.i)
	}
	if fill.dt != tFloat {
		return unsupported("ConstantOfShape of element type %s with a batch dimension (tapenet computes in float32)", typeName(fill.dt))
	}
	t, err := nc.apply(&Fill{Shape: dims[1:], Value: fill.f[0]}, nil, nc.im.first)
	if err != nil {
		return err
	}
	return nc.outTensor(t)
}

func pad(nc *nodeCtx) error {
	if err := nc.allow("mode"); err != nil {
		return err
	}
	if nc.input(3) != nil {
		return unsupported("Pad with an axes input (opset 18's form)")
	}
	if err := nc.inputs(2, 3); err != nil {
		return err
	}
	mode, err := nc.attrString("mode", "constant")
	if err != nil {
		return err
	}
	pc, err := nc.constIn(1, "pads")
	if err != nil {
		return err
	}
	pads, err := pc.ints()
	if err != nil || len(pc.shape) != 1 {
		return fmt.Errorf("pads %v: want a vector of integers", pc)
	}
	var fill *constant // the padding value, of the input's type; nil: zero
	if nc.input(2) != nil {
		if fill, err = nc.constIn(2, "constant_value"); err != nil {
			return err
		}
		if fill.size() != 1 || fill.hasSym() {
			return fmt.Errorf("constant_value %v: want one value", fill)
		}
	}
	v := nc.input(0)
	in := fullShape0(v)
	r := len(in)
	if len(pads) != 2*r {
		return fmt.Errorf("pads %v for a tensor of rank %d", pads, r)
	}
	zero := true
	for _, p := range pads {
		if p < 0 {
			return unsupported("negative pads %v (cropping)", pads)
		}
		if p > 1<<20 {
			return fmt.Errorf("pads %v out of range", pads)
		}
		zero = zero && p == 0
	}
	if zero {
		return nc.out(0, v)
	}
	if mode != "constant" {
		return unsupported("Pad mode %q", mode)
	}
	if v.c != nil {
		out := make([]int, r)
		for k := range r {
			out[k] = in[k] + int(pads[k]+pads[r+k])
		}
		total := shapeSize(out)
		if err := nc.room(v.c.dt, total, false); err != nil {
			return err
		}
		if fill != nil && fill.dt != v.c.dt {
			return fmt.Errorf("constant_value of type %s for data of type %s", typeName(fill.dt), typeName(v.c.dt))
		}
		c := newConstant(v.c.dt, out)
		c.learn = v.c.learn
		if v.c.hasSym() {
			return unsupported("Pad of a value that depends on the batch size")
		}
		st := strides(out)
		coord := make([]int, r)
		for k := range v.c.size() {
			dst := 0
			for d := range r {
				dst += (coord[d] + int(pads[d])) * st[d]
			}
			c.setFrom(dst, v.c, k)
			for d := r - 1; d >= 0; d-- {
				coord[d]++
				if coord[d] < in[d] {
					break
				}
				coord[d] = 0
			}
		}
		// The padding values.
		for k := range total {
			inside := true
			rem := k
			for d := range r {
				cd := rem / st[d]
				rem %= st[d]
				inside = inside && cd >= int(pads[d]) && cd < int(pads[d])+in[d]
			}
			if inside {
				continue
			}
			if fill != nil {
				c.setFrom(k, fill, 0)
			}
		}
		return nc.outConst(c)
	}
	if pads[0] != 0 || pads[r] != 0 {
		return unsupported("Pad of the batch axis")
	}
	// Padding that multiplies a sample's size is no model's (it is a way to
	// make a few bytes of file cost gigabytes per run): refused at once.
	sample, padded := shapeSize(in[1:]), 1
	for k := 1; k < r; k++ {
		padded *= in[k] + int(pads[k]+pads[r+k])
		if padded > graph.MaxElements {
			break
		}
	}
	if padded > MaxPadElements && padded > 4*sample {
		return fmt.Errorf("pads %v make samples of %v (%d values) %d values each: at most %d values, or 4 times the input's, per sample", pads, in[1:], sample, padded, MaxPadElements)
	}
	before, after := make([]int, r-1), make([]int, r-1)
	for k := 1; k < r; k++ {
		before[k-1], after[k-1] = int(pads[k]), int(pads[r+k])
	}
	value := float32(0)
	if fill != nil {
		if fill.dt != tFloat {
			return fmt.Errorf("constant_value %v for a FLOAT tensor: want one FLOAT value", fill)
		}
		value = fill.f[0]
	}
	t, err := nc.apply(&Pad{Before: before, After: after, Value: value}, nil, v.t)
	if err != nil {
		return err
	}
	return nc.outTensor(t)
}

// embeddingGather converts Gather of rows (axis 0) of a float matrix
// initializer by integer indices computed from the model's inputs, as
// nn.Embedding exports, onto graph.Embedding (weight: the matrix). It
// reports whether the node had that form. A negative or out-of-range id is
// an error when the model runs (ONNX counts negative ids from the end).
func embeddingGather(nc *nodeCtx) (bool, error) {
	w, ids := nc.input(0), nc.input(1)
	if w.c == nil || !w.c.learn || w.c.dt != tFloat || len(w.c.shape) != 2 || ids.t == nil {
		return false, nil
	}
	if d := ids.t.DType().Or(); d != graph.Int64 && d != graph.Int32 {
		return false, nil
	}
	axis, err := nc.attrInt("axis", 0)
	if err != nil || axis != 0 {
		return false, err
	}
	p, err := paramOf("weight", w.c, w.c.shape)
	if err != nil {
		return true, err
	}
	t, err := nc.apply(&graph.Embedding{Vocab: w.c.shape[0], Dim: w.c.shape[1]}, []param{p}, ids.t)
	if err != nil {
		return true, err
	}
	return true, nc.outTensor(t)
}
