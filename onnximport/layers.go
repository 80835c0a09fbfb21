package onnximport

import (
	"fmt"
	"slices"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/ops"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The layer kinds of this package: ONNX operators, or forms of them, that
// graph's built-in layers do not express exactly. Each is an ordinary
// tapenet layer (it trains, saves and reloads with Registry) and knows its
// ONNX form (export.ONNXLayer, in export.go).

func constructors() []graph.Constructor {
	return []graph.Constructor{
		func() graph.Layer { return &MatMul{} },
		func() graph.Layer { return &Gemm{} },
		func() graph.Layer { return &Binary{} },
		func() graph.Layer { return &Transpose{} },
		func() graph.Layer { return &LeakyReLU{} },
		func() graph.Layer { return &Softmax{} },
		func() graph.Layer { return &Conv{} },
		func() graph.Layer { return &MaxPool{} },
		func() graph.Layer { return &AvgPool{} },
		func() graph.Layer { return &Gather{} },
		func() graph.Layer { return &Slice{} },
		func() graph.Layer { return &Fill{} },
		func() graph.Layer { return &Pad{} },
		func() graph.Layer { return &Op{} },
		func() graph.Layer { return &Recurrent{} },
		func() graph.Layer { return &LSTMState{} },
	}
}

// Register adds this package's layer kinds to reg, so that checkpoints of
// imported models load with checkpoint.Read(r, reg).
func Register(reg *graph.Registry) error {
	for _, c := range constructors() {
		if err := reg.Register(c().Kind(), c); err != nil {
			return err
		}
	}
	return nil
}

// Registry returns graph.Builtin() with this package's layer kinds added:
// the registry to read checkpoints of imported models with.
func Registry() *graph.Registry {
	reg := graph.Builtin()
	for _, c := range constructors() {
		// Register fails only for a kind already registered: this
		// package's kinds ("onnx-...") differ from graph's, as
		// TestRegistry checks.
		_ = reg.Register(c().Kind(), c)
	}
	return reg
}

// Kinds returns the layer kinds this package defines, sorted.
func Kinds() []string {
	var ks []string
	for _, c := range constructors() {
		ks = append(ks, c().Kind())
	}
	slices.Sort(ks)
	return ks
}

// MatMul is ONNX's MatMul of a tensor (batch, ..., K) by a learned matrix
// "weight" (K, Units), giving (batch, ..., Units). Unlike graph.Dense it
// has no bias and keeps the leading dimensions.
type MatMul struct {
	// Units is the number of columns of the weight.
	Units int `json:"units"`
}

// Kind returns "onnx-matmul".
func (*MatMul) Kind() string { return "onnx-matmul" }

// Params declares weight (K, Units), K the last per-sample dimension.
func (l *MatMul) Params(in []int) ([]graph.ParamSpec, error) {
	if l.Units < 1 || len(in) == 0 {
		return nil, fmt.Errorf("onnx-matmul: units %d, input %v", l.Units, in)
	}
	return []graph.ParamSpec{{Name: "weight", Shape: []int{in[len(in)-1], l.Units}}}, nil
}

// Forward adds x·weight over the last axis of x.
func (l *MatMul) Forward(s *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	w, err := s.Param("weight")
	if err != nil {
		return nil, err
	}
	shape := x.Shape().Clone()
	k := shape[len(shape)-1]
	rows := shape.TotalSize() / k
	x2 := x
	if x.Dims() != 2 {
		if x2, err = gorgonia.Reshape(x, tensor.Shape{rows, k}); err != nil {
			return nil, err
		}
	}
	y, err := gorgonia.Mul(x2, w)
	if err != nil {
		return nil, fmt.Errorf("onnx-matmul: %w", err)
	}
	if x.Dims() == 2 {
		return y, nil
	}
	shape[len(shape)-1] = l.Units
	return gorgonia.Reshape(y, shape)
}

// Gemm is ONNX's Gemm in the forms graph.Dense does not cover:
// y = Alpha·x·op(weight) + Beta·bias, with op the transpose when TransB,
// and a bias of any shape that broadcasts to (batch, Units) without
// depending on the batch, or none.
type Gemm struct {
	// Units is the number of outputs.
	Units int `json:"units"`
	// Alpha and Beta scale the product and the bias.
	Alpha float32 `json:"alpha"`
	Beta  float32 `json:"beta"`
	// TransB stores the weight (Units, K), as PyTorch's nn.Linear does;
	// otherwise (K, Units).
	TransB bool `json:"trans_b,omitempty"`
	// Bias is the shape of the bias; nil for none.
	Bias []int `json:"bias,omitempty"`
}

// Kind returns "onnx-gemm".
func (*Gemm) Kind() string { return "onnx-gemm" }

// Params declares weight and, with a Bias shape, bias.
func (l *Gemm) Params(in []int) ([]graph.ParamSpec, error) {
	if l.Units < 1 || len(in) != 1 {
		return nil, fmt.Errorf("onnx-gemm: units %d, input %v (want one dimension per sample)", l.Units, in)
	}
	w := []int{in[0], l.Units}
	if l.TransB {
		w = []int{l.Units, in[0]}
	}
	specs := []graph.ParamSpec{{Name: "weight", Shape: w}}
	if l.Bias != nil {
		if _, err := biasPattern(l.Bias, l.Units); err != nil {
			return nil, err
		}
		specs = append(specs, graph.ParamSpec{Name: "bias", Shape: slices.Clone(l.Bias)})
	}
	return specs, nil
}

// biasPattern checks that a bias shape broadcasts to (batch, units)
// without depending on the batch, and returns it as a 2-D shape.
func biasPattern(shape []int, units int) ([]int, error) {
	s2 := []int{1, 1}
	switch len(shape) {
	case 1:
		s2[1] = shape[0]
	case 2:
		s2 = slices.Clone(shape)
	default:
		return nil, fmt.Errorf("onnx-gemm: bias of shape %v (want 1 or 2 dimensions)", shape)
	}
	if s2[0] != 1 || (s2[1] != 1 && s2[1] != units) {
		return nil, fmt.Errorf("onnx-gemm: bias of shape %v does not broadcast to (batch, %d)", shape, units)
	}
	return s2, nil
}

// Forward adds Alpha·x·op(weight) + Beta·bias.
func (l *Gemm) Forward(s *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	if x.Dims() != 2 {
		return nil, fmt.Errorf("onnx-gemm: input %v is not (batch, features)", x.Shape())
	}
	w, err := s.Param("weight")
	if err != nil {
		return nil, err
	}
	if l.TransB {
		if w, err = gorgonia.Transpose(w); err != nil {
			return nil, err
		}
	}
	y, err := gorgonia.Mul(x, w)
	if err != nil {
		return nil, fmt.Errorf("onnx-gemm: %w", err)
	}
	if l.Alpha != 1 {
		if y, err = gorgonia.Mul(y, gorgonia.NewConstant(l.Alpha)); err != nil {
			return nil, err
		}
	}
	if l.Bias == nil {
		return y, nil
	}
	b, err := s.Param("bias")
	if err != nil {
		return nil, err
	}
	s2, err := biasPattern(l.Bias, l.Units)
	if err != nil {
		return nil, err
	}
	// A copy (ops.Reshape): Beta scales it in place, which must not
	// reach the parameter.
	if b, err = ops.Reshape(b, tensor.Shape(s2)); err != nil {
		return nil, err
	}
	if l.Beta != 1 {
		if b, err = gorgonia.Mul(b, gorgonia.NewConstant(l.Beta)); err != nil {
			return nil, err
		}
	}
	return broadcastOp("add", y, b)
}

// Binary is an ONNX element-wise Add, Sub, Mul or Div with numpy-style
// broadcasting (up to 4 dimensions, batch included): of a tensor and a
// parameter (ONNX's initializer or constant operand), or of two tensors.
type Binary struct {
	// Op is "add", "sub", "mul" or "div".
	Op string `json:"op"`
	// Param is the shape of the parameter operand, as in the ONNX model
	// (it broadcasts against the tensor, batch included); nil when the
	// layer joins two tensors.
	Param []int `json:"param,omitempty"`
	// ParamName names the parameter (default "value").
	ParamName string `json:"param_name,omitempty"`
	// Left puts the parameter on the left: param - x, param / x.
	Left bool `json:"left,omitempty"`
	// Fixed makes the parameter a buffer (saved, not learned): the
	// operand was a Constant node rather than an initializer.
	Fixed bool `json:"fixed,omitempty"`
}

// Kind returns "onnx-binary".
func (*Binary) Kind() string { return "onnx-binary" }

func (l *Binary) paramName() string {
	if l.ParamName == "" {
		return "value"
	}
	return l.ParamName
}

func (l *Binary) check() error {
	switch l.Op {
	case "add", "sub", "mul", "div":
		return nil
	}
	return fmt.Errorf("onnx-binary: op %q (want add, sub, mul or div)", l.Op)
}

// Params declares the parameter operand, if any.
func (l *Binary) Params(in []int) ([]graph.ParamSpec, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	if l.Param == nil {
		return nil, nil
	}
	return []graph.ParamSpec{{Name: l.paramName(), Shape: slices.Clone(l.Param), Buffer: l.Fixed}}, nil
}

// Forward adds x op param (param op x when Left).
func (l *Binary) Forward(s *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	if l.Param == nil {
		return nil, fmt.Errorf("onnx-binary: %s of one tensor needs a parameter", l.Op)
	}
	if x.Dims() > 4 {
		// The parameter is repeated along the batch, and Gorgonia
		// broadcasts at most 4 dimensions.
		return nil, fmt.Errorf("onnx-binary: %s of a tensor of %d dimensions (batch included) and a parameter: at most 4", l.Op, x.Dims())
	}
	p, err := s.Param(l.paramName())
	if err != nil {
		return nil, err
	}
	if l.Left {
		return broadcastOp(l.Op, p, x)
	}
	return broadcastOp(l.Op, x, p)
}

// Merge adds xs[0] op xs[1].
func (l *Binary) Merge(_ *graph.Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	if len(xs) != 2 || l.Param != nil {
		return nil, fmt.Errorf("onnx-binary: %s joins two tensors without a parameter, got %d tensors", l.Op, len(xs))
	}
	return broadcastOp(l.Op, xs[0], xs[1])
}

// broadcastOp applies an element-wise op to a and b with numpy-style
// broadcasting: shapes aligned on the right, dimensions of 1 repeated.
func broadcastOp(op string, a, b *gorgonia.Node) (*gorgonia.Node, error) {
	sa, sb := []int(a.Shape()), []int(b.Shape())
	if a.IsScalar() {
		sa = nil
	}
	if b.IsScalar() {
		sb = nil
	}
	out, err := broadcastShapes(sa, sb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	r := len(out)
	pad := func(n *gorgonia.Node, s []int) (*gorgonia.Node, []int, error) {
		if len(s) == r && !n.IsScalar() {
			return n, s, nil
		}
		full := make([]int, r)
		for k := range full {
			full[k] = 1
		}
		copy(full[r-len(s):], s)
		// A copy, not a view (see ops.Reshape): the op below may run in
		// place on its first operand.
		n2, err := ops.Reshape(n, tensor.Shape(full))
		return n2, full, err
	}
	if a, sa, err = pad(a, sa); err != nil {
		return nil, err
	}
	if b, sb, err = pad(b, sb); err != nil {
		return nil, err
	}
	var left, right []byte
	for k := range r {
		switch {
		case sa[k] == sb[k]:
		case sa[k] == 1:
			left = append(left, byte(k))
		default:
			right = append(right, byte(k))
		}
	}
	if (left != nil || right != nil) && r > 4 {
		return nil, fmt.Errorf("%s: broadcasting %v and %v: at most 4 dimensions", op, a.Shape(), b.Shape())
	}
	if left != nil || right != nil {
		if a, b, err = gorgonia.Broadcast(a, b, gorgonia.NewBroadcastPattern(left, right)); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	switch op {
	case "add":
		return gorgonia.Add(a, b)
	case "sub":
		return gorgonia.Sub(a, b)
	case "mul":
		return gorgonia.HadamardProd(a, b)
	case "div":
		return divide(a, b) // IEEE division (see divOp)
	}
	return nil, fmt.Errorf("unknown op %q", op)
}

// Transpose permutes the per-sample axes of its input (ONNX's Transpose
// with the batch axis left first).
type Transpose struct {
	// Perm is the permutation of the per-sample axes (0 is the first axis
	// after the batch).
	Perm []int `json:"perm"`
}

// Kind returns "onnx-transpose".
func (*Transpose) Kind() string { return "onnx-transpose" }

// Forward adds the transpose.
func (l *Transpose) Forward(_ *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	perm := make([]int64, len(l.Perm))
	for k, p := range l.Perm {
		perm[k] = int64(p)
	}
	if _, err := checkPerm(perm, x.Dims()-1); err != nil {
		return nil, fmt.Errorf("onnx-transpose: %w", err)
	}
	full := []int{0}
	for _, p := range l.Perm {
		full = append(full, p+1)
	}
	return gorgonia.Transpose(x, full...)
}

// LeakyReLU is x for x >= 0 and Alpha·x below (ONNX's LeakyRelu).
type LeakyReLU struct {
	// Alpha is the slope below zero.
	Alpha float32 `json:"alpha"`
}

// Kind returns "onnx-leakyrelu".
func (*LeakyReLU) Kind() string { return "onnx-leakyrelu" }

// Forward adds the leaky rectifier (one op; Gorgonia's LeakyRelu gives NaN
// for infinities).
func (l *LeakyReLU) Forward(_ *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return leakyReLU(x, l.Alpha)
}

// Softmax is a softmax (or log-softmax) along one per-sample axis of a
// tensor of any rank, each slice shifted by its own maximum: ONNX's
// Softmax and LogSoftmax of opset 13. (graph.Softmax covers the softmax of
// (batch, classes) rows.)
type Softmax struct {
	// Axis is the per-sample axis (0 is the first after the batch).
	Axis int `json:"axis"`
	// Log gives the log-softmax.
	Log bool `json:"log,omitempty"`
}

// Kind returns "onnx-softmax".
func (*Softmax) Kind() string { return "onnx-softmax" }

// Forward moves the axis last, normalises rows and moves it back.
func (l *Softmax) Forward(_ *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	r := x.Dims()
	if l.Axis < 0 || l.Axis+1 >= r {
		return nil, fmt.Errorf("onnx-softmax: axis %d out of range for input %v", l.Axis, x.Shape())
	}
	a := l.Axis + 1
	var perm []int
	var err error
	if a != r-1 {
		perm = make([]int, r)
		for k := range perm {
			perm[k] = k
		}
		perm[a], perm[r-1] = r-1, a
		if x, err = gorgonia.Transpose(x, perm...); err != nil {
			return nil, err
		}
	}
	shape := x.Shape().Clone()
	c := shape[r-1]
	if x.Dims() != 2 {
		// A copy (ops.Reshape): the shift below runs in place.
		if x, err = ops.Reshape(x, tensor.Shape{shape.TotalSize() / c, c}); err != nil {
			return nil, err
		}
	}
	e, shifted, err := ops.ShiftedExp(x)
	if err != nil {
		return nil, err
	}
	sum, err := gorgonia.Sum(e, 1)
	if err != nil {
		return nil, err
	}
	var y *gorgonia.Node
	if l.Log {
		lse, err := gorgonia.Log(sum)
		if err != nil {
			return nil, err
		}
		y, err = gorgonia.BroadcastSub(shifted, lse, nil, []byte{1})
		if err != nil {
			return nil, err
		}
	} else if y, err = gorgonia.BroadcastHadamardDiv(e, sum, nil, []byte{1}); err != nil {
		return nil, err
	}
	if y, err = gorgonia.Reshape(y, shape); err != nil {
		return nil, err
	}
	if perm != nil {
		return gorgonia.Transpose(y, perm...)
	}
	return y, nil
}

// Conv is a 2-D convolution in the forms graph.Conv2D does not cover:
// rectangular kernels, strides and paddings that differ between height
// and width, dilations, no bias. Padding is symmetric on each axis.
// Parameters: "weight" (Filters, channels, kh, kw), as in ONNX, and
// "bias" (Filters) when Bias.
type Conv struct {
	// Filters is the number of output channels.
	Filters int `json:"filters"`
	// Kernel, Stride, Pad and Dilation are [height, width].
	Kernel   [2]int `json:"kernel"`
	Stride   [2]int `json:"stride"`
	Pad      [2]int `json:"pad"`
	Dilation [2]int `json:"dilation"`
	// Bias adds a learned bias per filter.
	Bias bool `json:"bias,omitempty"`
}

// Kind returns "onnx-conv".
func (*Conv) Kind() string { return "onnx-conv" }

// outSize returns the output side for an input side along axis k.
func (l *Conv) outSize(in, k int) int {
	ext := l.Dilation[k]*(l.Kernel[k]-1) + 1
	return (in+2*l.Pad[k]-ext)/l.Stride[k] + 1
}

func (l *Conv) check(in []int) error {
	if l.Filters < 1 || len(in) != 3 {
		return fmt.Errorf("onnx-conv: %d filters over input %v (want channels, height, width)", l.Filters, in)
	}
	for k := range 2 {
		if l.Kernel[k] < 1 || l.Stride[k] < 1 || l.Dilation[k] < 1 || l.Pad[k] < 0 {
			return fmt.Errorf("onnx-conv: kernel %v stride %v dilation %v pad %v", l.Kernel, l.Stride, l.Dilation, l.Pad)
		}
		if l.outSize(in[k+1], k) < 1 {
			return fmt.Errorf("onnx-conv: kernel %v (dilation %v) larger than the padded input %v", l.Kernel, l.Dilation, in)
		}
	}
	return nil
}

// Params declares weight and, with Bias, bias.
func (l *Conv) Params(in []int) ([]graph.ParamSpec, error) {
	if err := l.check(in); err != nil {
		return nil, err
	}
	specs := []graph.ParamSpec{{Name: "weight", Shape: []int{l.Filters, in[0], l.Kernel[0], l.Kernel[1]}}}
	if l.Bias {
		specs = append(specs, graph.ParamSpec{Name: "bias", Shape: []int{l.Filters}})
	}
	return specs, nil
}

// Forward adds the convolution: im2col and one matrix product, as
// graph.Conv2D.
func (l *Conv) Forward(s *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	if x.Dims() != 4 {
		return nil, fmt.Errorf("onnx-conv: input %v is not (batch, channels, height, width)", x.Shape())
	}
	if err := l.check([]int(x.Shape()[1:])); err != nil {
		return nil, err
	}
	w, err := s.Param("weight")
	if err != nil {
		return nil, err
	}
	var b *gorgonia.Node
	if l.Bias {
		if b, err = s.Param("bias"); err != nil {
			return nil, err
		}
	}
	y, err := ops.Conv2D(x, w, b, l.Kernel, l.Pad, l.Stride, l.Dilation)
	if err != nil {
		return nil, fmt.Errorf("onnx-conv: %w", err)
	}
	return y, nil
}

// window is a pooling window: [height, width] sizes, symmetric padding.
type window struct {
	Kernel [2]int `json:"kernel"`
	Stride [2]int `json:"stride"`
	Pad    [2]int `json:"pad"`
}

func (w *window) check(kind string, x *gorgonia.Node) error {
	if x.Dims() != 4 {
		return fmt.Errorf("%s: input %v is not (batch, channels, height, width)", kind, x.Shape())
	}
	for k := range 2 {
		if w.Kernel[k] < 1 || w.Stride[k] < 1 || w.Pad[k] < 0 || w.Pad[k] >= w.Kernel[k] {
			return fmt.Errorf("%s: kernel %v stride %v pad %v (padding must be less than the kernel)", kind, w.Kernel, w.Stride, w.Pad)
		}
		if x.Shape()[k+2]+2*w.Pad[k] < w.Kernel[k] {
			return fmt.Errorf("%s: kernel %v larger than the padded input %v", kind, w.Kernel, x.Shape())
		}
	}
	return nil
}

// MaxPool is ONNX's 2-D MaxPool with a rectangular window, per-axis
// strides and symmetric per-axis padding (padding never wins the max).
type MaxPool struct{ window }

// Kind returns "onnx-maxpool".
func (*MaxPool) Kind() string { return "onnx-maxpool" }

// Forward adds the max pooling (ops.MaxPool2D: gorgonia.MaxPool2D's values).
func (l *MaxPool) Forward(_ *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	if err := l.check("onnx-maxpool", x); err != nil {
		return nil, err
	}
	// ops.MaxPool2D takes the lock that Gorgonia's node-group counter
	// needs when graphs are built on several goroutines at once.
	return ops.MaxPool2D(x, tensor.Shape{l.Kernel[0], l.Kernel[1]}, []int{l.Pad[0], l.Pad[1]}, []int{l.Stride[0], l.Stride[1]})
}

// AvgPool is ONNX's 2-D AveragePool with a rectangular window, per-axis
// strides and symmetric per-axis padding. With ExcludePad (ONNX's
// count_include_pad = 0, its default) each window is averaged over the
// input pixels it covers; otherwise over the whole window, padding
// included (as graph.AvgPool2D).
type AvgPool struct {
	window
	// ExcludePad averages over the input pixels of each window only.
	ExcludePad bool `json:"exclude_pad,omitempty"`
}

// Kind returns "onnx-avgpool".
func (*AvgPool) Kind() string { return "onnx-avgpool" }

// Forward adds the average pooling: every channel's windows as columns
// (im2col), summed, divided by the window size or the count of input
// pixels in each window.
func (l *AvgPool) Forward(sc *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	if err := l.check("onnx-avgpool", x); err != nil {
		return nil, err
	}
	s := x.Shape()
	planes, err := gorgonia.Reshape(x, tensor.Shape{s[0] * s[1], 1, s[2], s[3]})
	if err != nil {
		return nil, err
	}
	cols, err := gorgonia.Im2Col(planes, tensor.Shape{l.Kernel[0], l.Kernel[1]}, tensor.Shape{l.Pad[0], l.Pad[1]},
		tensor.Shape{l.Stride[0], l.Stride[1]}, tensor.Shape{1, 1})
	if err != nil {
		return nil, fmt.Errorf("onnx-avgpool: %w", err)
	}
	cs := cols.Shape() // (N·C, oh, ow, kh·kw)
	sum, err := gorgonia.Sum(cols, 3)
	if err != nil {
		return nil, err
	}
	if sum, err = gorgonia.Reshape(sum, tensor.Shape{s[0] * s[1], cs[1], cs[2]}); err != nil {
		return nil, err
	}
	oh, ow := cs[1], cs[2]
	// The divisor of every output value, as a tensor of the output's shape
	// (a constant Gorgonia can only broadcast once it is in the graph).
	div := make([]float32, s[0]*s[1]*oh*ow)
	for i := range oh {
		for j := range ow {
			n := l.Kernel[0] * l.Kernel[1]
			if l.ExcludePad {
				n = covered(i*l.Stride[0]-l.Pad[0], l.Kernel[0], s[2]) * covered(j*l.Stride[1]-l.Pad[1], l.Kernel[1], s[3])
			}
			for p := 0; p < len(div); p += oh * ow {
				div[p+i*ow+j] = float32(n)
			}
		}
	}
	// Named: Gorgonia names an unnamed constant after its printout, and
	// two large ones that print alike would become one node.
	divisor := gorgonia.NewConstant(tensor.New(tensor.WithShape(s[0]*s[1], oh, ow), tensor.WithBacking(div)), gorgonia.WithName(sc.NodeName("divisor")))
	y, err := gorgonia.HadamardDiv(sum, divisor)
	if err != nil {
		return nil, err
	}
	return gorgonia.Reshape(y, tensor.Shape{s[0], s[1], oh, ow})
}

// covered returns how many of the k positions from start lie in [0, n).
func covered(start, k, n int) int {
	return max(0, min(start+k, n)-max(start, 0))
}

// Gather takes entries along one per-sample axis at fixed indices (ONNX's
// Gather with constant indices on a tensor with a batch dimension). A
// scalar index removes the axis; a list keeps it.
type Gather struct {
	// Axis is the per-sample axis (0 is the first after the batch).
	Axis int `json:"axis"`
	// Indices are the entries taken, each in [0, size of the axis).
	Indices []int `json:"indices"`
	// Scalar takes Indices[0] alone and removes the axis.
	Scalar bool `json:"scalar,omitempty"`
}

// Kind returns "onnx-gather".
func (*Gather) Kind() string { return "onnx-gather" }

// Forward slices each index out and joins them.
func (l *Gather) Forward(_ *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	a := l.Axis + 1
	if l.Axis < 0 || a >= x.Dims() || len(l.Indices) == 0 || (l.Scalar && len(l.Indices) != 1) {
		return nil, fmt.Errorf("onnx-gather: axis %d, indices %v for input %v", l.Axis, l.Indices, x.Shape())
	}
	dim := x.Shape()[a]
	parts := make([]*gorgonia.Node, len(l.Indices))
	for k, i := range l.Indices {
		if i < 0 || i >= dim {
			return nil, fmt.Errorf("onnx-gather: index %d out of range for axis %d of %v", i, l.Axis, x.Shape())
		}
		p, err := sliceAxis(x, a, i, i+1)
		if err != nil {
			return nil, err
		}
		parts[k] = p
	}
	if l.Scalar {
		shape := slices.Delete(x.Shape().Clone(), a, a+1)
		return ops.Reshape(parts[0], tensor.Shape(shape))
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return gorgonia.Concat(a, parts...)
}

// sliceAxis returns x[..., from:to, ...] along axis a, keeping the axis,
// as a copy: gorgonia.Slice gives a view of x, which an op running in
// place later would write through.
func sliceAxis(x *gorgonia.Node, a, from, to int) (*gorgonia.Node, error) {
	if from == 0 && to == x.Shape()[a] {
		return x, nil
	}
	sl := make([]tensor.Slice, a+1)
	sl[a] = gorgonia.S(from, to)
	y, err := gorgonia.Slice(x, sl...)
	if err != nil {
		return nil, err
	}
	shape := x.Shape().Clone()
	shape[a] = to - from // Gorgonia drops an axis sliced to one entry: put it back
	return ops.Reshape(y, shape)
}

// Slice takes a contiguous range of every per-sample axis (ONNX's Slice
// with step 1 on a tensor with a batch dimension).
type Slice struct {
	// Begin and Size give, per per-sample axis, the first entry taken and
	// how many.
	Begin []int `json:"begin"`
	Size  []int `json:"size"`
}

// Kind returns "onnx-slice".
func (*Slice) Kind() string { return "onnx-slice" }

// Forward slices each axis that is not taken whole, last axis first.
func (l *Slice) Forward(_ *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	if len(l.Begin) != x.Dims()-1 || len(l.Size) != len(l.Begin) {
		return nil, fmt.Errorf("onnx-slice: begin %v size %v for input %v", l.Begin, l.Size, x.Shape())
	}
	for k := len(l.Begin) - 1; k >= 0; k-- {
		b, n, dim := l.Begin[k], l.Size[k], x.Shape()[k+1]
		if b < 0 || n < 1 || b+n > dim {
			return nil, fmt.Errorf("onnx-slice: entries %d..%d of axis %d of %v", b, b+n, k, x.Shape())
		}
		var err error
		if x, err = sliceAxis(x, k+1, b, b+n); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// Fill makes a tensor of per-sample shape Shape with every value Value, for
// as many samples as its input has (ONNX's ConstantOfShape of a shape that
// starts with the batch size). The input's values are not read.
type Fill struct {
	// Shape is the per-sample shape (batch excluded).
	Shape []int `json:"shape"`
	// Value is every element's value.
	Value float32 `json:"value"`
}

// Kind returns "onnx-fill".
func (*Fill) Kind() string { return "onnx-fill" }

// Forward adds a node of shape (batch, Shape...) holding the values.
func (l *Fill) Forward(s *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	shape := append([]int{x.Shape()[0]}, l.Shape...)
	n := 1
	for _, d := range shape {
		if d < 1 || d > graph.MaxElements {
			return nil, fmt.Errorf("onnx-fill: shape %v", shape)
		}
		n *= d
		if n > graph.MaxElements {
			return nil, fmt.Errorf("onnx-fill: shape %v has more than %d values", shape, graph.MaxElements)
		}
	}
	v := make([]float32, n)
	for k := range v {
		v[k] = l.Value
	}
	t := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
	return gorgonia.NewTensor(s.Graph(), tensor.Float32, len(shape), gorgonia.WithShape(shape...), gorgonia.WithValue(t), gorgonia.WithName(s.NodeName("fill"))), nil
}

// Pad adds constant values around each per-sample axis (ONNX's Pad in
// constant mode, which PyTorch emits before some poolings).
type Pad struct {
	// Before and After give, per per-sample axis, how many values are
	// added at its start and end.
	Before []int `json:"before"`
	After  []int `json:"after"`
	// Value is the value added.
	Value float32 `json:"value,omitempty"`
}

// Kind returns "onnx-pad".
func (*Pad) Kind() string { return "onnx-pad" }

// Forward adds the padding (an op that makes the padded output when it
// runs; the graph holds nothing of its size).
func (l *Pad) Forward(_ *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	if len(l.Before) != x.Dims()-1 || len(l.After) != len(l.Before) {
		return nil, fmt.Errorf("onnx-pad: before %v after %v for input %v", l.Before, l.After, x.Shape())
	}
	out := x.Shape()[0]
	for k := range l.Before {
		if l.Before[k] < 0 || l.After[k] < 0 || l.Before[k] > graph.MaxElements || l.After[k] > graph.MaxElements {
			return nil, fmt.Errorf("onnx-pad: padding %v %v", l.Before, l.After)
		}
		out *= x.Shape()[k+1] + l.Before[k] + l.After[k]
		if out > graph.MaxElements {
			return nil, fmt.Errorf("onnx-pad: the padded output of %v has more than %d values", x.Shape(), graph.MaxElements)
		}
	}
	y, err := padConstant(x, append([]int{0}, l.Before...), append([]int{0}, l.After...), l.Value)
	if err != nil {
		return nil, fmt.Errorf("onnx-pad: %w", err)
	}
	return y, nil
}
