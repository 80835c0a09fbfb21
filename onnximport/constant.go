package onnximport

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/advancedclimatesystems/gonnx/onnx"
)

// ONNX element types the importer reads.
const (
	tFloat  = int32(onnx.TensorProto_FLOAT)
	tDouble = int32(onnx.TensorProto_DOUBLE)
	tInt64  = int32(onnx.TensorProto_INT64)
	tInt32  = int32(onnx.TensorProto_INT32)
	tInt16  = int32(onnx.TensorProto_INT16)
	tInt8   = int32(onnx.TensorProto_INT8)
	tUint8  = int32(onnx.TensorProto_UINT8)
	tUint16 = int32(onnx.TensorProto_UINT16)
	tUint32 = int32(onnx.TensorProto_UINT32)
	tUint64 = int32(onnx.TensorProto_UINT64)
	tBool   = int32(onnx.TensorProto_BOOL)
	// tFloat16 is read for initializers and constants only, converted.
	tFloat16 = int32(onnx.TensorProto_FLOAT16)
)

// halfToFloat converts an IEEE 754 binary16 value to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac·2^-24
		v := float32(frac) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

func typeName(dt int32) string {
	if s, ok := onnx.TensorProto_DataType_name[dt]; ok {
		return s
	}
	return fmt.Sprintf("type %d", dt)
}

func isFloat(dt int32) bool { return dt == tFloat || dt == tDouble }

func isInt(dt int32) bool {
	switch dt {
	case tInt64, tInt32, tInt16, tInt8, tUint8, tUint16, tUint32, tUint64, tBool:
		return true
	}
	return false
}

// constant is a tensor whose values are known while importing: an
// initializer, the output of a Constant node, or the result of folding
// operators over such tensors (the shape arithmetic exporters emit).
//
// FLOAT tensors keep float32 values in f, DOUBLE tensors float64 values
// in d (folded in float64, never rounded to float32); integer and boolean
// tensors keep int64 values in i. An integer element may instead
// be the batch size, unknown until run time (sym[k] true, i[k] unused): the
// result of Shape on a tensor with a batch dimension.
type constant struct {
	dt    int32
	shape []int
	f     []float32
	d     []float64
	i     []int64
	sym   []bool // nil when no element is the batch size
	// init is the name of the initializer this constant is, unchanged.
	init string
	// learn reports that the values come from initializers: a layer that
	// takes the constant as a parameter learns it.
	learn bool
}

func (c *constant) size() int { return shapeSize(c.shape) }

// storeSize returns the bytes a value of type dt takes in a constant.
func storeSize(dt int32) int {
	switch dt {
	case tFloat:
		return 4
	case tDouble:
		return 8
	}
	return 9 // int64, and its batch-size mark
}

// bytes returns the memory the values of c take.
func (c *constant) bytes() int { return c.size() * storeSize(c.dt) }

func shapeSize(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// hasSym reports whether any element is the batch size.
func (c *constant) hasSym() bool { return slices.Contains(c.sym, true) }

// isSym reports whether element k is the batch size.
func (c *constant) isSym(k int) bool { return c.sym != nil && c.sym[k] }

func (c *constant) String() string {
	return fmt.Sprintf("%s%v", typeName(c.dt), c.shape)
}

// ints returns the values of an integer constant (none the batch size).
func (c *constant) ints() ([]int64, error) {
	if !isInt(c.dt) {
		return nil, fmt.Errorf("want an integer tensor, got %s", c)
	}
	if c.hasSym() {
		return nil, fmt.Errorf("%s depends on the batch size", c)
	}
	return c.i, nil
}

// scalarInt returns the value of a one-element integer constant.
func (c *constant) scalarInt() (int64, error) {
	v, err := c.ints()
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("want one value, got %s", c)
	}
	return v[0], nil
}

// floats32 returns the values of a FLOAT constant, or of an integer one
// converted; a DOUBLE constant is an error (its values are not float32's).
func (c *constant) floats32() ([]float32, error) {
	if c.dt == tFloat {
		return c.f, nil
	}
	if c.dt == tDouble {
		return nil, unsupported("a DOUBLE value where float32 is computed (tapenet computes its layers in float32; a float and a double operand are a type error in ONNX)")
	}
	if c.hasSym() {
		return nil, fmt.Errorf("%s depends on the batch size", c)
	}
	out := make([]float32, len(c.i))
	for k, v := range c.i {
		out[k] = float32(v)
	}
	return out, nil
}

// newConstant allocates a constant of the given type and shape, zero.
func newConstant(dt int32, shape []int) *constant {
	c := &constant{dt: dt, shape: slices.Clone(shape)}
	switch dt {
	case tFloat:
		c.f = make([]float32, shapeSize(shape))
	case tDouble:
		c.d = make([]float64, shapeSize(shape))
	default:
		c.i = make([]int64, shapeSize(shape))
	}
	return c
}

// pick returns a constant of the given shape whose element k is element
// src[k] of c.
func (c *constant) pick(shape []int, src []int) *constant {
	out := &constant{dt: c.dt, shape: slices.Clone(shape), learn: c.learn}
	switch c.dt {
	case tFloat:
		out.f = make([]float32, len(src))
		for k, s := range src {
			out.f[k] = c.f[s]
		}
		return out
	case tDouble:
		out.d = make([]float64, len(src))
		for k, s := range src {
			out.d[k] = c.d[s]
		}
		return out
	}
	out.i = make([]int64, len(src))
	for k, s := range src {
		out.i[k] = c.i[s]
	}
	if c.hasSym() {
		out.sym = make([]bool, len(src))
		for k, s := range src {
			out.sym[k] = c.sym[s]
		}
	}
	return out
}

// withShape returns c with another shape of the same size (values shared).
func (c *constant) withShape(shape []int) *constant {
	out := *c
	out.shape = slices.Clone(shape)
	out.init = ""
	return &out
}

// strides returns the row-major strides of shape.
func strides(shape []int) []int {
	st := make([]int, len(shape))
	n := 1
	for k := len(shape) - 1; k >= 0; k-- {
		st[k] = n
		n *= shape[k]
	}
	return st
}

// elemSize returns the bytes per element of raw_data for a type, or 0.
func elemSize(dt int32) int {
	switch dt {
	case tFloat, tInt32, tUint32:
		return 4
	case tDouble, tInt64, tUint64:
		return 8
	case tInt16, tUint16:
		return 2
	case tInt8, tUint8, tBool:
		return 1
	}
	return 0
}

// tensorFromProto decodes an ONNX TensorProto, checking its dimensions and
// the length of its data before allocating anything.
func tensorFromProto(t *onnx.TensorProto, maxElements int) (*constant, error) {
	if t == nil {
		return nil, fmt.Errorf("missing tensor")
	}
	if t.DataLocation == onnx.TensorProto_EXTERNAL || len(t.ExternalData) > 0 {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, unsupported("data stored in an external file"))
	}
	if t.Segment != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, unsupported("a segmented tensor"))
	}
	dt := t.DataType
	if !isFloat(dt) && !isInt(dt) && dt != tFloat16 {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, unsupported("element type %s", typeName(dt)))
	}
	if len(t.Dims) > 8 {
		return nil, fmt.Errorf("tensor %q: %d dimensions (at most 8)", t.Name, len(t.Dims))
	}
	shape := make([]int, len(t.Dims))
	n := 1
	for k, d := range t.Dims {
		if d < 0 || d > int64(maxElements) {
			return nil, fmt.Errorf("tensor %q: dimension %d out of range in %v", t.Name, d, t.Dims)
		}
		shape[k] = int(d)
		n *= int(d)
		if n > maxElements {
			return nil, fmt.Errorf("tensor %q: more than %d elements in %v", t.Name, maxElements, t.Dims)
		}
	}
	c := &constant{dt: dt, shape: shape, init: t.Name, learn: true}
	if dt == tFloat16 {
		// Half-precision weights become float32 on load (exactly: every
		// float16 value is a float32 one).
		c.dt, c.f = tFloat, make([]float32, n)
		switch {
		case t.RawData != nil && len(t.RawData) == 2*n:
			for k := range c.f {
				c.f[k] = halfToFloat(binary.LittleEndian.Uint16(t.RawData[2*k:]))
			}
		case t.RawData == nil && len(t.Int32Data) == n:
			for k, v := range t.Int32Data {
				c.f[k] = halfToFloat(uint16(v))
			}
		default:
			return nil, fmt.Errorf("tensor %q: %d bytes of raw data and %d int32 values for %d FLOAT16 values", t.Name, len(t.RawData), len(t.Int32Data), n)
		}
		return c, nil
	}
	if t.RawData != nil {
		es := elemSize(dt)
		if len(t.RawData) != n*es {
			return nil, fmt.Errorf("tensor %q: %d bytes of raw data for %d %s values", t.Name, len(t.RawData), n, typeName(dt))
		}
		raw := t.RawData
		switch dt {
		case tFloat:
			c.f = make([]float32, n)
			for k := range c.f {
				c.f[k] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*k:]))
			}
			return c, nil
		case tDouble:
			c.d = make([]float64, n)
			for k := range c.d {
				c.d[k] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*k:]))
			}
			return c, nil
		}
		c.i = make([]int64, n)
		for k := range c.i {
			switch dt {
			case tInt64, tUint64:
				c.i[k] = int64(binary.LittleEndian.Uint64(raw[8*k:]))
			case tInt32:
				c.i[k] = int64(int32(binary.LittleEndian.Uint32(raw[4*k:])))
			case tUint32:
				c.i[k] = int64(binary.LittleEndian.Uint32(raw[4*k:]))
			case tInt16:
				c.i[k] = int64(int16(binary.LittleEndian.Uint16(raw[2*k:])))
			case tUint16:
				c.i[k] = int64(binary.LittleEndian.Uint16(raw[2*k:]))
			case tInt8:
				c.i[k] = int64(int8(raw[k]))
			case tUint8:
				c.i[k] = int64(raw[k])
			case tBool:
				c.i[k] = int64(min(raw[k], 1))
			}
		}
		return c, nil
	}
	count := func(have int) error {
		if have != n {
			return fmt.Errorf("tensor %q: %d values for shape %v", t.Name, have, shape)
		}
		return nil
	}
	switch dt {
	case tFloat:
		if err := count(len(t.FloatData)); err != nil {
			return nil, err
		}
		c.f = slices.Clone(t.FloatData)
	case tDouble:
		if err := count(len(t.DoubleData)); err != nil {
			return nil, err
		}
		c.d = slices.Clone(t.DoubleData)
	case tInt64:
		if err := count(len(t.Int64Data)); err != nil {
			return nil, err
		}
		c.i = slices.Clone(t.Int64Data)
	case tUint32, tUint64:
		if err := count(len(t.Uint64Data)); err != nil {
			return nil, err
		}
		c.i = make([]int64, n)
		for k, v := range t.Uint64Data {
			c.i[k] = int64(v)
		}
	default: // int32, int16, int8, uint16, uint8, bool: int32_data
		if err := count(len(t.Int32Data)); err != nil {
			return nil, err
		}
		c.i = make([]int64, n)
		for k, v := range t.Int32Data {
			if dt == tBool {
				v = min(max(v, 0), 1)
			}
			c.i[k] = int64(v)
		}
	}
	c.ensure()
	return c, nil
}

// ensure gives a constant of zero elements its (empty) value slice.
func (c *constant) ensure() {
	switch {
	case c.dt == tFloat && c.f == nil:
		c.f = []float32{}
	case c.dt == tDouble && c.d == nil:
		c.d = []float64{}
	case isInt(c.dt) && c.i == nil:
		c.i = []int64{}
	}
}

// setFrom sets element dst of c to element k of src, of the same type.
func (c *constant) setFrom(dst int, src *constant, k int) {
	switch c.dt {
	case tFloat:
		c.f[dst] = src.f[k]
	case tDouble:
		c.d[dst] = src.d[k]
	default:
		c.i[dst] = src.i[k]
	}
}

// appendFrom appends elements [from, to) of src to c, of the same type.
func (c *constant) appendFrom(src *constant, from, to int) {
	switch c.dt {
	case tFloat:
		c.f = append(c.f, src.f[from:to]...)
	case tDouble:
		c.d = append(c.d, src.d[from:to]...)
	default:
		c.i = append(c.i, src.i[from:to]...)
	}
}

// float64s returns the values of any constant as float64 (none the batch
// size).
func (c *constant) float64s() ([]float64, error) {
	switch c.dt {
	case tDouble:
		return c.d, nil
	case tFloat:
		out := make([]float64, len(c.f))
		for k, v := range c.f {
			out[k] = float64(v)
		}
		return out, nil
	}
	if c.hasSym() {
		return nil, fmt.Errorf("%s depends on the batch size", c)
	}
	out := make([]float64, len(c.i))
	for k, v := range c.i {
		out[k] = float64(v)
	}
	return out, nil
}

// cast converts c to element type dt, as ONNX Cast does: floats to
// integers truncate toward zero; anything non-zero is true.
func (c *constant) cast(dt int32) (*constant, error) {
	if !isFloat(dt) && !isInt(dt) {
		return nil, unsupported("Cast to %s", typeName(dt))
	}
	out := &constant{dt: dt, shape: slices.Clone(c.shape), learn: c.learn}
	switch {
	case isFloat(dt):
		src, err := c.float64s()
		if err != nil {
			return nil, unsupported("Cast of a value that depends on the batch size to %s", typeName(dt))
		}
		if dt == tDouble {
			out.d = slices.Clone(src)
		} else {
			out.f = make([]float32, len(src))
			for k, v := range src {
				out.f[k] = float32(v)
			}
			if isInt(c.dt) {
				for k, v := range c.i {
					out.f[k] = float32(v) // one rounding, not two
				}
			}
		}
	case isFloat(c.dt):
		src, _ := c.float64s()
		out.i = make([]int64, len(src))
		for k, v := range src {
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1<<62 {
				return nil, fmt.Errorf("cast of %v to %s is out of range", v, typeName(dt))
			}
			out.i[k] = int64(v)
		}
	default:
		out.i = slices.Clone(c.i)
		out.sym = slices.Clone(c.sym)
	}
	if isInt(dt) {
		for k := range out.i {
			if out.isSym(k) {
				continue
			}
			out.i[k] = wrapInt(out.i[k], dt)
		}
	}
	return out, nil
}

// wrapInt gives v the range of integer type dt.
func wrapInt(v int64, dt int32) int64 {
	switch dt {
	case tInt32:
		return int64(int32(v))
	case tUint32:
		return int64(uint32(v))
	case tInt16:
		return int64(int16(v))
	case tUint16:
		return int64(uint16(v))
	case tInt8:
		return int64(int8(v))
	case tUint8:
		return int64(uint8(v))
	case tBool:
		if v != 0 {
			return 1
		}
		return 0
	}
	return v
}

// broadcastShapes returns the numpy-style broadcast of two shapes.
func broadcastShapes(a, b []int) ([]int, error) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for k := range r {
		da, db := 1, 1
		if j := k - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := k - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[k] = da
		case da == 1:
			out[k] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// broadcastPairs calls f(k, ia, ib) for every element k of the broadcast
// of shapes a and b to out, with the indices of the elements of a and b it
// reads; it allocates nothing per element.
func broadcastPairs(a, b, out []int, f func(k, ia, ib int) error) error {
	r := len(out)
	// Per output axis, the step in a and b (0 where broadcast).
	sa, sb := make([]int, r), make([]int, r)
	for _, x := range []struct {
		shape []int
		step  []int
	}{{a, sa}, {b, sb}} {
		st := strides(x.shape)
		off := r - len(x.shape)
		for d := off; d < r; d++ {
			if x.shape[d-off] != 1 {
				x.step[d] = st[d-off]
			}
		}
	}
	coord := make([]int, r)
	ia, ib := 0, 0
	for k := range shapeSize(out) {
		if err := f(k, ia, ib); err != nil {
			return err
		}
		for d := r - 1; d >= 0; d-- {
			coord[d]++
			ia += sa[d]
			ib += sb[d]
			if coord[d] < out[d] {
				break
			}
			ia -= sa[d] * out[d]
			ib -= sb[d] * out[d]
			coord[d] = 0
		}
	}
	return nil
}

// arith folds Add, Sub, Mul or Div of two constants of one type, with
// broadcasting, in that type: float32 for FLOAT, float64 for DOUBLE,
// wrapping integers. Integer division truncates; a division by zero is an
// error. Operands of two types are an error (as in ONNX, FLOAT and DOUBLE
// included); values that are the batch size cannot take part.
func arith(op string, a, b *constant) (*constant, error) {
	if a.dt != b.dt {
		return nil, fmt.Errorf("%s of operands of types %s and %s (ONNX wants one type)", op, typeName(a.dt), typeName(b.dt))
	}
	if a.hasSym() || b.hasSym() {
		return nil, unsupported("arithmetic on a value that depends on the batch size")
	}
	shape, err := broadcastShapes(a.shape, b.shape)
	if err != nil {
		return nil, err
	}
	out := newConstant(a.dt, shape)
	out.learn = a.learn || b.learn
	var f func(k, ia, ib int) error
	switch a.dt {
	case tFloat:
		f = func(k, ia, ib int) error {
			out.f[k] = float32(floatOp(op, float64(a.f[ia]), float64(b.f[ib])))
			return nil
		}
	case tDouble:
		f = func(k, ia, ib int) error {
			out.d[k] = floatOp(op, a.d[ia], b.d[ib])
			return nil
		}
	default:
		f = func(k, ia, ib int) error {
			x, y := a.i[ia], b.i[ib]
			switch op {
			case "Add":
				out.i[k] = x + y
			case "Sub":
				out.i[k] = x - y
			case "Mul":
				out.i[k] = x * y
			case "Div":
				if y == 0 {
					return fmt.Errorf("integer division by zero")
				}
				out.i[k] = x / y
			}
			out.i[k] = wrapInt(out.i[k], a.dt)
			return nil
		}
	}
	if err := broadcastPairs(a.shape, b.shape, shape, f); err != nil {
		return nil, err
	}
	return out, nil
}

// floatOp is one of Add, Sub, Mul, Div in float64. For float32 operands
// the float64 result rounded to float32 is float32's own result: float64
// has more than twice float32's precision plus two bits, so the double
// rounding of +, -, *, / is innocuous.
func floatOp(op string, x, y float64) float64 {
	switch op {
	case "Add":
		return x + y
	case "Sub":
		return x - y
	case "Mul":
		return x * y
	}
	return x / y
}

// transposeIndex returns, for a tensor of shape in permuted by perm, the
// permuted shape and the source index of every output element.
func transposeIndex(in []int, perm []int) ([]int, []int) {
	out := make([]int, len(in))
	for k, p := range perm {
		out[k] = in[p]
	}
	st := strides(in)
	idx := make([]int, shapeSize(out))
	coord := make([]int, len(out))
	for k := range idx {
		s := 0
		for d, p := range perm {
			s += coord[d] * st[p]
		}
		idx[k] = s
		for d := len(out) - 1; d >= 0; d-- {
			coord[d]++
			if coord[d] < out[d] {
				break
			}
			coord[d] = 0
		}
	}
	return out, idx
}

// checkPerm checks that perm is a permutation of 0..rank-1.
func checkPerm(perm []int64, rank int) ([]int, error) {
	if len(perm) != rank {
		return nil, fmt.Errorf("perm %v for a tensor of rank %d", perm, rank)
	}
	seen := make([]bool, rank)
	out := make([]int, rank)
	for k, p := range perm {
		if p < 0 || p >= int64(rank) || seen[p] {
			return nil, fmt.Errorf("perm %v is not a permutation of 0..%d", perm, rank-1)
		}
		seen[p] = true
		out[k] = int(p)
	}
	return out, nil
}

// normAxis resolves a possibly negative axis against a rank.
func normAxis(axis int64, rank int) (int, error) {
	a := axis
	if a < 0 {
		a += int64(rank)
	}
	if a < 0 || a >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	return int(a), nil
}

// sliceRange resolves one axis of Slice as ONNX does: negative starts and
// ends count from the end, then both are clamped ([0, dim] for a positive
// step; [0, dim-1] for the start and [-1, dim-1] for the end with a
// negative one). It returns the start, step and
// number of elements taken.
func sliceRange(start, end, step int64, dim int) (int, int, int, error) {
	if step == 0 {
		return 0, 0, 0, fmt.Errorf("slice step 0")
	}
	d := int64(dim)
	// A step beyond the dimension takes one element: clamp it so that
	// nothing below overflows.
	step = max(min(step, d+1), -d-1)
	if start < 0 {
		start += d
	}
	if end < 0 {
		end += d
	}
	var n int64
	if step > 0 {
		start = min(max(start, 0), d)
		end = min(max(end, 0), d)
		if end > start {
			n = (end - start + step - 1) / step
		}
	} else {
		start = min(max(start, 0), d-1)
		end = min(max(end, -1), d-1)
		if start > end {
			n = (start - end - step - 1) / -step
		}
	}
	return int(start), int(step), int(n), nil
}
