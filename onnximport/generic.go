package onnximport

import (
	"encoding/json"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"slices"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/chewxy/hm"
	"github.com/tapenet/tapenet/graph"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Op is an ONNX operator computed on whole tensors, the batch axis
// included, of any of the element types its kernel takes (float32,
// float64, int64, int32, bool): the importer's form for operators that
// graph's layers and this package's other kinds do not express, in models
// whose inputs all have fixed shapes (the batch then is an axis like the
// others) and, for elementwise operators and forms that treat each index
// of the first axis on its own, in any model. Constant operands are part
// of the layer's configuration; operands from FLOAT initializers that the
// operator's gradient reaches are its parameters (Learned). It trains
// where its operator has a gradient (see the package documentation);
// training through another is an error naming the operator and node.
type Op struct {
	// Op is the ONNX operator; Opset the model's version of its set.
	Op    string `json:"op"`
	Opset int64  `json:"opset"`
	// Ints, Floats and Strings are the node's attributes of those types.
	Ints    map[string][]int64   `json:"ints,omitempty"`
	Floats  map[string][]float64 `json:"floats,omitempty"`
	Strings map[string]string    `json:"strings,omitempty"`
	// Inputs gives, per ONNX input, "" for a tensor input (the layer's
	// inputs, in order) or "const" for Consts[k] (k counting constants),
	// or "absent" for an omitted optional input.
	Inputs []string `json:"inputs"`
	// Consts are the constant operands.
	Consts []OpConst `json:"consts,omitempty"`
	// Scalars marks the tensor inputs that are ONNX scalars (rank 0),
	// held as tensors of one element of shape (1): tapenet's tensors keep
	// at least one axis. An output that ONNX makes a scalar is likewise
	// (1).
	Scalars []bool `json:"scalars,omitempty"`
	// Output is which of the operator's Outputs outputs the layer
	// computes (an operator of several outputs is one layer per output).
	Output  int `json:"output,omitempty"`
	Outputs int `json:"outputs,omitempty"`
	// Runtime lists the ONNX inputs whose values the operator reads as
	// constants (a shape, axes, scales, a count) but which the model
	// computes or takes at run time: at each run their values are bound
	// as constants, and the output must then have the type and shape
	// the model declares for it (Declared, DType; a different one is an
	// error naming both), which is the output the layer is built with.
	Runtime  []int       `json:"runtime,omitempty"`
	Declared []int       `json:"declared,omitempty"`
	DType    graph.DType `json:"dtype,omitempty"`
	// Learned are the float32 operands that come from the model's
	// initializers and that the operator's gradient reaches (Conv's
	// weights, LayerNormalization's scale, ...): parameters of the layer,
	// marked "param" in Inputs, learned when training.
	Learned []OpParam `json:"learned,omitempty"`
	// Node is the ONNX node's name, for errors.
	Node string `json:"node,omitempty"`
}

// OpParam is a learned operand of an Op: the ONNX input it is, its name
// within the layer and its shape.
type OpParam struct {
	Input int    `json:"input"`
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// Params declares the Learned operands.
func (l *Op) Params([]int) ([]graph.ParamSpec, error) {
	var specs []graph.ParamSpec
	for _, p := range l.Learned {
		specs = append(specs, graph.ParamSpec{Name: p.Name, Shape: slices.Clone(p.Shape)})
	}
	return specs, nil
}

// withParams returns the Op with its Learned operands as tensor inputs
// (their ONNX places) and the types and shapes of every tensor input.
func (l *Op) withParams(types []graph.DType, shapes [][]int) (*Op, []graph.DType, [][]int, error) {
	if len(l.Learned) == 0 {
		return l, types, shapes, nil
	}
	b := *l
	b.Learned, b.Inputs, b.Scalars = nil, slices.Clone(l.Inputs), nil
	var ts []graph.DType
	var ss [][]int
	t, p := 0, 0
	for j, in := range l.Inputs {
		switch in {
		case "param":
			if p >= len(l.Learned) || l.Learned[p].Input != j {
				return nil, nil, nil, fmt.Errorf("onnx-op %s: parameter of input %d not declared", l.Op, j)
			}
			b.Inputs[j] = ""
			b.Scalars = append(b.Scalars, false)
			ts = append(ts, graph.Float32)
			if shapes != nil {
				ss = append(ss, slices.Clone(l.Learned[p].Shape))
			}
			p++
		case "":
			if t >= len(types) {
				return nil, nil, nil, fmt.Errorf("onnx-op %s: %d tensor inputs, want more", l.Op, len(types))
			}
			b.Scalars = append(b.Scalars, l.scalar(t))
			ts = append(ts, types[t])
			if shapes != nil {
				ss = append(ss, shapes[t])
			}
			t++
		}
	}
	if !slices.Contains(b.Scalars, true) {
		b.Scalars = nil
	}
	return &b, ts, ss, nil
}

// inferOut gives the output's type and shape: the kernel's, or for an Op
// with Runtime inputs the declared one.
func (l *Op) inferOut(k kernel, in []*meta) (meta, error) {
	if len(l.Runtime) > 0 {
		return meta{dt: l.DType.Or(), shape: slices.Clone(l.Declared)}, nil
	}
	return k.infer(l, in)
}

// bindRuntime returns the Op with its Runtime inputs bound to the values
// they have in this run (as constants) and the other tensor inputs.
func (l *Op) bindRuntime(xs []*arr) (*Op, []*arr, error) {
	b := *l
	b.Runtime, b.Declared, b.DType = nil, nil, ""
	b.Inputs, b.Consts, b.Scalars = nil, nil, nil
	var rest []*arr
	t, c := 0, 0
	for j, in := range l.Inputs {
		switch {
		case in == "const":
			b.Inputs = append(b.Inputs, "const")
			b.Consts = append(b.Consts, l.Consts[c])
			c++
		case in == "" && slices.Contains(l.Runtime, j):
			if t >= len(xs) {
				return nil, nil, fmt.Errorf("onnx-op %s: %d tensor inputs, want more", l.Op, len(xs))
			}
			x := xs[t]
			k := OpConst{DType: x.dt, Shape: slices.Clone(x.shape), F: x.f, I: x.i}
			if l.scalar(t) {
				k.Shape = []int{}
			}
			if x.dt == graph.Bool {
				return nil, nil, fmt.Errorf("onnx-op %s: input %d is bool", l.Op, j)
			}
			b.Inputs = append(b.Inputs, "const")
			b.Consts = append(b.Consts, k)
			t++
		case in == "":
			if t >= len(xs) {
				return nil, nil, fmt.Errorf("onnx-op %s: %d tensor inputs, want more", l.Op, len(xs))
			}
			b.Inputs = append(b.Inputs, "")
			b.Scalars = append(b.Scalars, l.scalar(t))
			rest = append(rest, xs[t])
			t++
		default:
			b.Inputs = append(b.Inputs, in)
		}
	}
	return &b, rest, nil
}

// scalar reports whether tensor input k is an ONNX scalar.
func (l *Op) scalar(k int) bool { return k < len(l.Scalars) && l.Scalars[k] }

// OpConst is a constant operand of an Op.
type OpConst struct {
	DType graph.DType `json:"dtype"`
	Shape []int       `json:"shape"`
	F     []float64   `json:"f,omitempty"`
	I     []int64     `json:"i,omitempty"`
}

// Kind returns "onnx-op".
func (*Op) Kind() string { return "onnx-op" }

// CheckTypes accepts what the operator's kernel takes.
func (l *Op) CheckTypes(in []graph.DType) error {
	k, ok := kernels[l.Op]
	if !ok {
		return fmt.Errorf("onnx-op: no kernel for %s", l.Op)
	}
	lp, in, _, err := l.withParams(in, nil)
	if err != nil {
		return err
	}
	metas, err := lp.metas(in, nil)
	if err != nil {
		return err
	}
	if k.types != nil {
		return k.types(lp, metas)
	}
	return nil
}

// Forward adds the operator on one tensor input.
func (l *Op) Forward(s *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return l.Merge(s, []*gorgonia.Node{x})
}

// Merge adds the operator on its tensor inputs.
func (l *Op) Merge(s *graph.Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	k, ok := kernels[l.Op]
	if !ok {
		return nil, fmt.Errorf("onnx-op: no kernel for %s", l.Op)
	}
	if len(l.Learned) > 0 {
		var all []*gorgonia.Node
		t, p := 0, 0
		for _, in := range l.Inputs {
			switch in {
			case "param":
				n, err := s.Param(l.Learned[p].Name)
				if err != nil {
					return nil, err
				}
				all = append(all, n)
				p++
			case "":
				if t >= len(xs) {
					return nil, fmt.Errorf("onnx-op %s: %d tensor inputs, want more", l.Op, len(xs))
				}
				all = append(all, xs[t])
				t++
			}
		}
		lp, _, _, err := l.withParams(make([]graph.DType, len(xs)), nil)
		if err != nil {
			return nil, err
		}
		l, xs = lp, all
	}
	types := make([]graph.DType, len(xs))
	shapes := make([][]int, len(xs))
	for i, x := range xs {
		dt, err := graph.DTypeOf(x.Dtype())
		if err != nil {
			return nil, fmt.Errorf("onnx-op %s: %w", l.Op, err)
		}
		types[i], shapes[i] = dt, []int(x.Shape().Clone())
	}
	metas, err := l.metas(types, shapes)
	if err != nil {
		return nil, err
	}
	out, err := l.inferOut(k, metas)
	if err != nil {
		return nil, fmt.Errorf("onnx-op %s: %w", l.Op, err)
	}
	if len(out.shape) == 0 {
		out.shape = []int{1} // an ONNX scalar, held as (1)
	}
	cfg, _ := json.Marshal(l)
	ranks := make([]int, len(xs))
	for i, x := range xs {
		ranks[i] = x.Dims()
	}
	op := &genericOp{layer: l, kern: k, types: types, ranks: ranks, out: out, id: string(cfg)}
	return gorgonia.ApplyOp(op, xs...)
}

// metas lists every ONNX input's type and shape (shapes nil: types only),
// constants included, in ONNX's order; nil for an absent input.
func (l *Op) metas(types []graph.DType, shapes [][]int) ([]*meta, error) {
	var out []*meta
	t, c := 0, 0
	for _, in := range l.Inputs {
		switch in {
		case "":
			if t >= len(types) {
				return nil, fmt.Errorf("onnx-op %s: %d tensor inputs, want more", l.Op, len(types))
			}
			m := &meta{dt: types[t].Or()}
			if shapes != nil && !l.scalar(t) {
				m.shape = shapes[t]
			}
			if shapes != nil && l.scalar(t) {
				if shapeSize(shapes[t]) != 1 {
					return nil, fmt.Errorf("onnx-op %s: scalar input %d of shape %v", l.Op, t, shapes[t])
				}
				m.shape = []int{}
			}
			out = append(out, m)
			t++
		case "const":
			if c >= len(l.Consts) {
				return nil, fmt.Errorf("onnx-op %s: %d constants, want more", l.Op, len(l.Consts))
			}
			out = append(out, &meta{dt: l.Consts[c].DType.Or(), shape: l.Consts[c].Shape})
			c++
		default:
			out = append(out, nil)
		}
	}
	if t != len(types) {
		return nil, fmt.Errorf("onnx-op %s: %d tensor inputs, want %d", l.Op, len(types), t)
	}
	return out, nil
}

// arrays lists every ONNX input's values, constants included.
func (l *Op) arrays(xs []*arr) ([]*arr, error) {
	var out []*arr
	t, c := 0, 0
	for _, in := range l.Inputs {
		switch in {
		case "":
			x := xs[t]
			if l.scalar(t) {
				x.shape = []int{}
			}
			out = append(out, x)
			t++
		case "const":
			k := l.Consts[c]
			a := &arr{meta: meta{dt: k.DType.Or(), shape: k.Shape}, f: k.F, i: k.I}
			if a.dt == graph.Bool {
				a.b = make([]bool, len(k.I))
				for j, v := range k.I {
					a.b[j] = v != 0
				}
				a.i = nil
			}
			if a.size() != a.len() {
				return nil, fmt.Errorf("onnx-op %s: constant of shape %v holds %d values", l.Op, a.shape, a.len())
			}
			out = append(out, a)
			c++
		default:
			out = append(out, nil)
		}
	}
	return out, nil
}

// meta is a tensor's element type and shape.
type meta struct {
	dt    graph.DType
	shape []int
}

func (m meta) size() int { return shapeSize(m.shape) }

// arr is a tensor's values for the kernels: floats (float32 or float64) in
// f as float64, integers in i as int64, booleans in b.
type arr struct {
	meta
	f []float64
	i []int64
	b []bool
}

func (a *arr) len() int { return max(len(a.f), len(a.i), len(a.b)) }

func isFloatType(d graph.DType) bool { return d == graph.Float32 || d == graph.Float64 }
func isIntType(d graph.DType) bool   { return d == graph.Int64 || d == graph.Int32 }

// newArr allocates the values of a tensor of m.
func newArr(m meta) *arr {
	a := &arr{meta: meta{dt: m.dt, shape: slices.Clone(m.shape)}}
	n := m.size()
	switch {
	case isFloatType(m.dt):
		a.f = make([]float64, n)
	case m.dt == graph.Bool:
		a.b = make([]bool, n)
	default:
		a.i = make([]int64, n)
	}
	return a
}

// fromValue reads a tensor's values.
func fromValue(v gorgonia.Value) (*arr, error) {
	t, ok := v.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("input is %T, want a tensor", v)
	}
	if t.RequiresIterator() {
		t = t.Materialize().(*tensor.Dense)
	}
	a := &arr{meta: meta{shape: []int(t.Shape().Clone())}}
	switch d := t.Data().(type) {
	case []float32:
		a.dt, a.f = graph.Float32, make([]float64, len(d))
		for k, x := range d {
			a.f[k] = float64(x)
		}
	case []float64:
		a.dt, a.f = graph.Float64, slices.Clone(d)
	case []int64:
		a.dt, a.i = graph.Int64, slices.Clone(d)
	case []int32:
		a.dt, a.i = graph.Int32, make([]int64, len(d))
		for k, x := range d {
			a.i[k] = int64(x)
		}
	case []bool:
		a.dt, a.b = graph.Bool, slices.Clone(d)
	default:
		return nil, fmt.Errorf("values of type %T", d)
	}
	return a, nil
}

// value makes a tensor of the values (rounding to float32, wrapping to
// int32 as the type says).
func (a *arr) value() *tensor.Dense {
	var backing any
	switch a.dt {
	case graph.Float32:
		v := make([]float32, len(a.f))
		for k, x := range a.f {
			v[k] = float32(x)
		}
		backing = v
	case graph.Float64:
		backing = a.f
	case graph.Int32:
		v := make([]int32, len(a.i))
		for k, x := range a.i {
			v[k] = int32(x)
		}
		backing = v
	case graph.Bool:
		backing = a.b
	default:
		backing = a.i
	}
	return tensor.New(tensor.WithShape(a.shape...), tensor.WithBacking(backing))
}

// kernel computes one operator: types checks the input types (nil: any
// the run accepts), infer gives the output's type and shape, run the
// values. Inputs absent in the node are nil.
type kernel struct {
	types func(l *Op, in []*meta) error
	infer func(l *Op, in []*meta) (meta, error)
	run   func(l *Op, in []*arr, out meta) (*arr, error)
	// elementwise: each output element depends on the input elements at
	// its place only (one input, same shape), so the kernel is right with
	// a symbolic batch too.
	elementwise bool
}

// genericOp is an Op as a Gorgonia op.
type genericOp struct {
	layer *Op
	kern  kernel
	types []graph.DType
	ranks []int
	out   meta
	id    string
}

func (op *genericOp) Arity() int { return len(op.types) }

func (op *genericOp) Type() hm.Type {
	ts := make([]hm.Type, 0, len(op.types)+1)
	for k, d := range op.types {
		ts = append(ts, gorgonia.TensorType{Dims: op.ranks[k], Of: d.Tensor()})
	}
	ts = append(ts, gorgonia.TensorType{Dims: len(op.out.shape), Of: op.out.dt.Tensor()})
	return hm.NewFnType(ts...)
}

func (op *genericOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	shapes := make([][]int, len(in))
	for k, d := range in {
		s, ok := d.(tensor.Shape)
		if !ok {
			return nil, fmt.Errorf("%s: input shape is %T", op, d)
		}
		shapes[k] = []int(s.Clone())
	}
	metas, err := op.layer.metas(op.types, shapes)
	if err != nil {
		return nil, err
	}
	out, err := op.layer.inferOut(op.kern, metas)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if len(out.shape) == 0 {
		return tensor.Shape{1}, nil
	}
	return tensor.Shape(out.shape), nil
}

func (op *genericOp) Do(vs ...gorgonia.Value) (v gorgonia.Value, err error) {
	defer func() {
		// A kernel must not take the program down on values it did not
		// expect: an error naming the operator instead.
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("%s: internal error: %v", op, r)
		}
	}()
	xs := make([]*arr, len(vs))
	for k, v := range vs {
		a, err := fromValue(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		xs[k] = a
	}
	l := op.layer
	if len(l.Runtime) > 0 {
		if l, xs, err = l.bindRuntime(xs); err != nil {
			return nil, err
		}
	}
	ins, err := l.arrays(xs)
	if err != nil {
		return nil, err
	}
	metas := make([]*meta, len(ins))
	for k, a := range ins {
		if a != nil {
			metas[k] = &a.meta
		}
	}
	if len(op.layer.Runtime) > 0 && op.kern.types != nil {
		if err := op.kern.types(l, metas); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	out, err := op.kern.infer(l, metas)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if len(op.layer.Runtime) > 0 {
		got, want := out.shape, op.out.shape
		if len(got) == 0 {
			got = []int{1}
		}
		if !slices.Equal(got, want) || out.dt != op.out.dt {
			return nil, fmt.Errorf("%s: the values of inputs %v give an output %s %v at run time; the model declares %s %v", op, op.layer.Runtime, out.dt.Or(), out.shape, op.out.dt, op.out.shape)
		}
	}
	if shapeSize(out.shape) > graph.MaxElements {
		return nil, fmt.Errorf("%s: an output of shape %v (at most %d values)", op, out.shape, graph.MaxElements)
	}
	y, err := op.kern.run(l, ins, out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if len(y.shape) == 0 {
		y.shape = []int{1}
	}
	return y.value(), nil
}

func (op *genericOp) ReturnsPtr() bool     { return false }
func (op *genericOp) CallsExtern() bool    { return false }
func (op *genericOp) OverwritesInput() int { return -1 }
func (op *genericOp) WriteHash(h hash.Hash) {
	io.WriteString(h, op.id)
	fmt.Fprint(h, op.types)
}
func (op *genericOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
func (op *genericOp) String() string { return "onnx." + op.layer.Op }

// onnxInput returns the ONNX input position of tensor input k.
func (op *genericOp) onnxInput(k int) int {
	t := 0
	for j, in := range op.layer.Inputs {
		if in == "" {
			if t == k {
				return j
			}
			t++
		}
	}
	return -1
}

// DiffWRT marks the float inputs: those the operator's gradient covers,
// and every float input of an operator without one (SymDiff then says
// so, naming it, rather than Gorgonia failing later).
func (op *genericOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	g, ok := grads[op.layer.Op]
	for k := range d {
		if k < len(op.types) && isFloatType(op.types[k].Or()) {
			d[k] = !ok || slices.Contains(g.diff, op.onnxInput(k))
		}
	}
	return d
}

// SymDiff returns the gradient with respect to each differentiable input:
// a genericGradOp of the inputs, the output and its gradient.
func (op *genericOp) SymDiff(inputs gorgonia.Nodes, y, dy *gorgonia.Node) (gorgonia.Nodes, error) {
	g, ok := grads[op.layer.Op]
	if !ok || (g.form != nil && !g.form(op.layer)) {
		return nil, op.noGradient()
	}
	out := make(gorgonia.Nodes, len(inputs))
	diff := op.DiffWRT(len(inputs))
	for k := range inputs {
		if !diff[k] {
			continue
		}
		args := append(append(gorgonia.Nodes{}, inputs...), y, dy)
		n, err := gorgonia.ApplyOp(&genericGradOp{fwd: op, wrt: k}, args...)
		if err != nil {
			return nil, fmt.Errorf("%s: gradient: %w", op, err)
		}
		out[k] = n
	}
	return out, nil
}

// noGradient is the error for training through an operator (or form)
// without a gradient.
func (op *genericOp) noGradient() error {
	node := ""
	if op.layer.Node != "" {
		node = fmt.Sprintf(" (ONNX node %q)", op.layer.Node)
	}
	return fmt.Errorf("onnx-op %s%s has no gradient in this form: it computes inference only, so the model cannot be trained through it", op.layer.Op, node)
}

// genericAttrs lists the attributes each Op operator reads (others are
// refused: an attribute not read could change the result).
var genericAttrs = map[string][]string{
	"Mod": {"fmod"}, "IsInf": {"detect_positive", "detect_negative"}, "Clip": {"min", "max"},
	"ArgMax": {"axis", "keepdims", "select_last_index"}, "ArgMin": {"axis", "keepdims", "select_last_index"},
	"Softmax": {"axis"}, "LogSoftmax": {"axis"}, "Hardmax": {"axis"}, "Cast": {"to"},
	"Transpose": {"perm"}, "Reshape": {"allowzero"}, "Flatten": {"axis"}, "Squeeze": {"axes"}, "Unsqueeze": {"axes"},
	"Concat": {"axis"}, "Gather": {"axis"}, "Gemm": {"alpha", "beta", "transA", "transB"},
}

// constInputs lists the inputs each Op operator needs as constants.
var constInputs = map[string][]int{
	"Reshape": {1}, "Expand": {1}, "Tile": {1}, "Slice": {1, 2, 3, 4}, "Squeeze": {1}, "Unsqueeze": {1},
}

func init() {
	for name := range unaryFloat {
		genericAttrs[name] = unaryAttrs[name]
	}
	for name := range reducers {
		genericAttrs[name] = []string{"axes", "keepdims", "noop_with_empty_axes"}
		constInputs[name] = []int{1}
	}
}

// opConst is a constant as an Op operand.
func opConst(c *constant) (OpConst, error) {
	if c.hasSym() {
		return OpConst{}, unsupported("a value that depends on the batch size")
	}
	dt, err := onnxDType(c.dt)
	if err != nil {
		return OpConst{}, err
	}
	k := OpConst{DType: dt, Shape: slices.Clone(c.shape)}
	switch c.dt {
	case tFloat:
		k.F = make([]float64, len(c.f))
		for j, v := range c.f {
			k.F[j] = float64(v)
		}
	case tDouble:
		k.F = slices.Clone(c.d)
	default:
		k.I = slices.Clone(c.i)
	}
	if k.DType == graph.Float32 {
		k.DType = ""
	}
	return k, nil
}

// constantOf converts kernel values to a constant.
func constantOf(a *arr) *constant {
	c := &constant{dt: onnxType(a.dt), shape: slices.Clone(a.shape)}
	switch {
	case a.dt == graph.Float32:
		c.f = make([]float32, len(a.f))
		for k, v := range a.f {
			c.f[k] = float32(v)
		}
	case a.dt == graph.Float64:
		c.d = slices.Clone(a.f)
	case a.b != nil:
		c.i = make([]int64, len(a.b))
		for k, v := range a.b {
			if v {
				c.i[k] = 1
			}
		}
	default:
		c.i = slices.Clone(a.i)
	}
	c.ensure()
	return c
}

// errNeedsFixed is returned for a node an Op could compute only with every
// shape known (the model's inputs of fixed shapes).
var errNeedsFixed = unsupported("this form with a symbolic batch (it works along or depends on the batch axis; a model whose inputs all have fixed shapes imports it)")

// genericNode converts a node into an Op layer, or folds it when every
// input is a constant.
func genericNode(nc *nodeCtx) error {
	if err := nc.allow(genericAttrs[nc.n.OpType]...); err != nil {
		return err
	}
	multi := slices.Contains([]string{"Split", "TopK", "LayerNormalization", "SoftmaxCrossEntropyLoss", "Dropout", "MaxPool"}, nc.n.OpType)
	if !multi {
		if err := nc.onlyFirstOutput(); err != nil {
			return err
		}
	}
	if err := opsetForm(nc); err != nil {
		return err
	}
	if nc.n.OpType == "Dropout" {
		if tm := nc.input(2); tm != nil {
			if tm.c == nil {
				return unsupported("Dropout with training_mode computed at run time (tapenet imports inference graphs)")
			}
			if r := nc.input(1); len(tm.c.i) == 1 && tm.c.i[0] != 0 && (r == nil || r.c == nil || r.c.dt != tFloat || len(r.c.f) != 1 || r.c.f[0] != 0) {
				return unsupported("Dropout in training mode with a ratio other than 0 (random)")
			}
		}
	}
	l := &Op{Op: nc.n.OpType, Opset: nc.opset, Outputs: len(nc.n.Output), Node: nc.n.Name}
	for name, a := range nc.attrs {
		switch a.Type {
		case 2: // INT
			l.Ints = setAttr(l.Ints, name, []int64{a.I})
		case 7: // INTS
			l.Ints = setAttr(l.Ints, name, slices.Clone(a.Ints))
		case 1: // FLOAT
			l.Floats = setAttr(l.Floats, name, []float64{float64(a.F)})
		case 6: // FLOATS
			f := make([]float64, len(a.Floats))
			for j, v := range a.Floats {
				f[j] = float64(v)
			}
			l.Floats = setAttr(l.Floats, name, f)
		case 3: // STRING
			l.Strings = setAttr(l.Strings, name, string(a.S))
		default:
			return unsupported("attribute %s of type %s", name, a.Type)
		}
	}
	var tensors []*graph.Tensor
	var consts []*arr
	var params []param
	g, differentiable := grads[nc.n.OpType]
	for j, v := range nc.in {
		switch {
		case v == nil:
			l.Inputs = append(l.Inputs, "absent")
		case v.c != nil && v.c.learn && v.c.dt == tFloat && differentiable && slices.Contains(g.diff, j) && !multi:
			// A weight: a parameter of the layer, learned.
			name := paramName(v.c, fmt.Sprintf("p%d", j))
			for _, p := range params {
				if p.local == name {
					name = fmt.Sprintf("p%d", j)
				}
			}
			p, err := paramOf(name, v.c, v.c.shape)
			if err != nil {
				return fmt.Errorf("input %d: %w", j, err)
			}
			if _, taken := nc.im.owner[p.source]; taken {
				// Another layer's parameter already (torch.onnx.export
				// keeps one initializer for parameters of equal values,
				// such as a zero bias and a LayerNorm's): a copy of its own.
				p.source = ""
			}
			params = append(params, p)
			l.Inputs = append(l.Inputs, "param")
			l.Learned = append(l.Learned, OpParam{Input: j, Name: name, Shape: slices.Clone(v.c.shape)})
		case v.c != nil:
			c, err := opConst(v.c)
			if err != nil {
				return fmt.Errorf("input %d: %w", j, err)
			}
			l.Inputs = append(l.Inputs, "const")
			l.Consts = append(l.Consts, c)
		default:
			if slices.Contains(constInputs[nc.n.OpType], j) {
				if !nc.im.fixed {
					return unsupported("input %d computed from the model's inputs (it must be a constant)", j)
				}
				// Read at run time; the output then has the shape the
				// model declares (checked by genericApply, and at every
				// run).
				l.Runtime = append(l.Runtime, j)
			}
			l.Inputs = append(l.Inputs, "")
			l.Scalars = append(l.Scalars, v.scalar)
			tensors = append(tensors, v.t)
		}
	}
	for len(l.Inputs) > 0 && l.Inputs[len(l.Inputs)-1] == "absent" {
		l.Inputs = l.Inputs[:len(l.Inputs)-1]
	}
	if multi {
		for k, name := range nc.n.Output {
			if name == "" {
				continue
			}
			lk := *l
			lk.Output = k
			if err := genericApply(nc, k, &lk, tensors, consts, nil); err != nil {
				return fmt.Errorf("output %d: %w", k, err)
			}
		}
		return nil
	}
	return genericApply(nc, 0, l, tensors, consts, params)
}

// genericApply computes output k of a node as the Op l of the tensors (or
// folds it when there are none).
func genericApply(nc *nodeCtx, outK int, l *Op, tensors []*graph.Tensor, consts []*arr, params []param) error {
	k := kernels[l.Op]
	if len(tensors) == 0 && len(params) > 0 {
		// Every input known: fold, the parameters as constants.
		return genericNodeConst(nc, outK, l)
	}
	if len(tensors) == 0 {
		// Every input known: fold.
		ins, err := l.arrays(consts)
		if err != nil {
			return err
		}
		metas := make([]*meta, len(ins))
		for j, a := range ins {
			if a != nil {
				metas[j] = &a.meta
			}
		}
		if k.types != nil {
			if err := k.types(l, metas); err != nil {
				return err
			}
		}
		out, err := k.infer(l, metas)
		if err != nil {
			return err
		}
		if err := nc.room(onnxType(out.dt), out.size(), true); err != nil {
			return err
		}
		y, err := k.run(l, ins, out)
		if err != nil {
			return err
		}
		return nc.out(outK, &value{c: constantOf(y)})
	}
	lp, types, shapes, err := l.withParams(tensorTypes(tensors), tensorShapes(tensors))
	if err != nil {
		return err
	}

	if !slices.Contains(l.Scalars, true) {
		l.Scalars = nil
	}
	if len(l.Runtime) > 0 {
		name := nc.n.Output[outK]
		dt, shape, ok := nc.im.declared(name)
		if !ok {
			return unsupported("input %d computed from the model's inputs (it must be a constant, or the model must declare the type and fixed shape of output %q)", l.Runtime[0], name)
		}
		l.DType, l.Declared = dt, shape
		if l.DType == graph.Float32 {
			l.DType = ""
		}
	}
	metas, err := lp.metas(types, shapes)
	if err != nil {
		return err
	}
	if k.types != nil {
		if err := k.types(lp, metas); err != nil {
			return err
		}
	}
	if !nc.im.fixed && !k.elementwise {
		ps, ok := perSample[l.Op]
		if !ok || !ps(lp, metas, tensorPositions(l)) {
			return errNeedsFixed
		}
	}
	out, err := lp.inferOut(k, metas)
	if err != nil {
		return err
	}
	t, err := nc.apply(l, params, tensors...)
	if err != nil {
		return err
	}
	return nc.out(outK, &value{t: t, scalar: len(out.shape) == 0})
}

func tensorTypes(ts []*graph.Tensor) []graph.DType {
	out := make([]graph.DType, len(ts))
	for k, t := range ts {
		out[k] = t.DType()
	}
	return out
}

// tensorShapes returns the tensors' whole shapes, the batch first.
func tensorShapes(ts []*graph.Tensor) [][]int {
	out := make([][]int, len(ts))
	for k, t := range ts {
		out[k] = append([]int{max(1, t.Batch())}, t.Shape()...)
	}
	return out
}

func setAttr[T any](m map[string]T, name string, v T) map[string]T {
	if m == nil {
		m = map[string]T{}
	}
	m[name] = v
	return m
}

// constOutput makes a graph output of a constant: an Op of the model
// input x that ignores x's values (an output ONNX computes from constants
// only, Shape of a fixed-shape input, say).
func constOutput(c *constant, x *graph.Tensor) (*graph.Tensor, error) {
	k, err := opConst(c)
	if err != nil {
		return nil, err
	}
	t := graph.Apply(&Op{Op: constKernel, Inputs: []string{"", "const"}, Consts: []OpConst{k}}, x)
	return t, t.Err()
}

func init() {
	kernels[constKernel] = kernel{
		types: func(*Op, []*meta) error { return nil },
		infer: func(_ *Op, in []*meta) (meta, error) {
			if len(in) != 2 || in[1] == nil {
				return meta{}, fmt.Errorf("want an input and a constant")
			}
			return meta{dt: in[1].dt, shape: slices.Clone(in[1].shape)}, nil
		},
		run: func(_ *Op, in []*arr, out meta) (*arr, error) { return copyArr(in[1], out), nil },
	}
}

// constKernel names the kernel of constOutput (no ONNX operator).
const constKernel = "tapenet.Constant"

// attrsUntil gives attributes that later opsets turned into inputs: the
// last opset that has each.
var attrsUntil = map[string]map[string]int64{
	"Clip":      {"min": 10, "max": 10},
	"ReduceSum": {"axes": 12},
	"Squeeze":   {"axes": 12},
	"Unsqueeze": {"axes": 12},
}

// inputsFrom gives inputs that earlier opsets took as attributes: the
// first opset that has each (by position).
var inputsFrom = map[string]map[int]int64{
	"Clip":      {1: 11, 2: 11},
	"ReduceSum": {1: 13},
	"Squeeze":   {1: 13},
	"Unsqueeze": {1: 13},
}

func init() {
	for name := range reducers {
		if name != "ReduceSum" {
			attrsUntil[name] = map[string]int64{"axes": 17}
			inputsFrom[name] = map[int]int64{1: 18}
		}
	}
}

// opsetForm refuses attributes and inputs of forms the model's opset does
// not have (their meaning there is not ONNX's).
func opsetForm(nc *nodeCtx) error {
	for name, last := range attrsUntil[nc.n.OpType] {
		if _, ok := nc.attrs[name]; ok && nc.opset > last {
			return unsupported("attribute %s in opset %d (%s takes it as an input from opset %d)", name, nc.opset, nc.n.OpType, last+1)
		}
	}
	for k, first := range inputsFrom[nc.n.OpType] {
		if nc.input(k) != nil && nc.opset < first {
			return unsupported("input %d in opset %d (%s takes it as an attribute before opset %d)", k, nc.opset, nc.n.OpType, first)
		}
	}
	return nil
}

// declared returns the element type and shape the model declares for a
// tensor (a graph output or value_info), when it declares a fixed one.
func (im *importer) declared(name string) (graph.DType, []int, bool) {
	var vis []*onnx.ValueInfoProto
	vis = append(vis, im.g.GetOutput()...)
	vis = append(vis, im.g.GetValueInfo()...)
	for _, vi := range vis {
		if vi.GetName() != name {
			continue
		}
		tt := vi.GetType().GetTensorType()
		if tt == nil || tt.GetShape() == nil {
			return "", nil, false
		}
		dt, err := onnxDType(tt.ElemType)
		if err != nil {
			return "", nil, false
		}
		shape := []int{}
		for _, d := range tt.GetShape().GetDim() {
			v, ok := d.Value.(*onnx.TensorShapeProto_Dimension_DimValue)
			if !ok || v.DimValue < 1 || v.DimValue > graph.MaxElements {
				return "", nil, false
			}
			shape = append(shape, int(v.DimValue))
		}
		if shapeSize(shape) > graph.MaxElements {
			return "", nil, false
		}
		return dt, shape, true
	}
	return "", nil, false
}

// tensorPositions returns the ONNX positions of the Op's tensor inputs.
func tensorPositions(l *Op) []int {
	var out []int
	for j, in := range l.Inputs {
		if in == "" {
			out = append(out, j)
		}
	}
	return out
}

// genericNodeConst folds a node whose learned operands have no tensor
// to act on: the Op again with them as constants.
func genericNodeConst(nc *nodeCtx, outK int, l *Op) error {
	b := *l
	b.Learned, b.Inputs, b.Consts = nil, nil, nil
	c := 0
	var consts []*arr
	for j, in := range l.Inputs {
		switch in {
		case "param":
			k, err := opConst(nc.in[j].c)
			if err != nil {
				return err
			}
			b.Inputs = append(b.Inputs, "const")
			b.Consts = append(b.Consts, k)
		case "const":
			b.Inputs = append(b.Inputs, "const")
			b.Consts = append(b.Consts, l.Consts[c])
			c++
		default:
			b.Inputs = append(b.Inputs, in)
		}
	}
	return genericApply(nc, outK, &b, nil, consts, nil)
}
