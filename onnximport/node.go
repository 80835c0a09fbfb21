package onnximport

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/graph"
)

// nodeCtx is one node being converted: its inputs and attributes.
type nodeCtx struct {
	im    *importer
	n     *onnx.NodeProto
	opset int64
	in    []*value // nil for an omitted optional input
	attrs map[string]*onnx.AttributeProto
}

// handler converts one operator.
type handler func(*nodeCtx) error

// handlers maps the operators of the default domain to their conversion.
// It is fixed (no registration): read-only after package initialisation.
var handlers = map[string]handler{
	"Gemm":               gemm,
	"MatMul":             matmul,
	"Add":                binaryOp("add"),
	"Sub":                binaryOp("sub"),
	"Mul":                binaryOp("mul"),
	"Div":                binaryOp("div"),
	"Relu":               unaryLayer(func(*nodeCtx) (graph.Layer, error) { return graph.ReLU{}, nil }),
	"Sigmoid":            unaryLayer(func(*nodeCtx) (graph.Layer, error) { return graph.Sigmoid{}, nil }),
	"Tanh":               unaryLayer(func(*nodeCtx) (graph.Layer, error) { return graph.Tanh{}, nil }),
	"LeakyRelu":          leakyRelu,
	"Softmax":            softmax(false),
	"LogSoftmax":         softmax(true),
	"Conv":               conv,
	"MaxPool":            pool(true),
	"AveragePool":        pool(false),
	"GlobalAveragePool":  globalAvgPool,
	"BatchNormalization": batchNorm,
	"Dropout":            dropout,
	"Identity":           identity,
	"Flatten":            flatten,
	"Reshape":            reshape,
	"Transpose":          transpose,
	"Concat":             concat,
	"Constant":           constantOp,
	"Shape":              shapeOp,
	"Gather":             gather,
	"Unsqueeze":          unsqueeze,
	"Squeeze":            squeeze,
	"Slice":              slice,
	"Cast":               cast,
	"ConstantOfShape":    constantOfShape,
	"Pad":                pad,
	"RNN":                recurrent,
	"GRU":                recurrent,
	"LSTM":               recurrent,
}

// Operators returns the ONNX operators the importer converts, sorted.
func Operators() []string {
	ops := make([]string, 0, len(handlers))
	for op := range handlers {
		ops = append(ops, op)
	}
	for op := range kernels {
		if _, dup := handlers[op]; !dup && op != constKernel {
			ops = append(ops, op)
		}
	}
	sort.Strings(ops)
	return ops
}

// convert converts one node.
func (im *importer) convert(n *onnx.NodeProto) error {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return unsupported("operator domain %q", n.Domain)
	}
	h, ok := handlers[n.OpType]
	if isGeneric(im, n.OpType) {
		h, ok = genericNode, true
	} else if _, kernel := kernels[n.OpType]; ok && kernel {
		h = handlerOrOp(h)
	}
	if _, kernel := kernels[n.OpType]; !ok && kernel {
		// A form the batch-moving conversions may take (rnn_batch.go).
		h, ok = func(*nodeCtx) error { return errNeedsFixed }, true
	}
	if !ok {
		return unsupported("operator %s (the importer converts %s)", n.OpType, strings.Join(Operators(), ", "))
	}
	nc := &nodeCtx{im: im, n: n, opset: im.opset, attrs: map[string]*onnx.AttributeProto{}}
	for _, a := range n.Attribute {
		if a.RefAttrName != "" {
			return unsupported("attribute %s referring to a function attribute", a.Name)
		}
		if _, dup := nc.attrs[a.Name]; dup {
			return fmt.Errorf("attribute %s given twice", a.Name)
		}
		nc.attrs[a.Name] = a
	}
	for _, name := range n.Input {
		if name == "" {
			nc.in = append(nc.in, nil)
			continue
		}
		v, ok := im.values[name]
		if !ok {
			return fmt.Errorf("input %q is not a graph input, an initializer or the output of an earlier node", name)
		}
		if _, kernel := kernels[n.OpType]; v.scalar && !kernel {
			return unsupported("a scalar (rank-0) tensor %q as an input of %s", name, n.OpType)
		}
		nc.in = append(nc.in, v)
	}
	for _, o := range n.Output {
		if _, taken := im.values[o]; taken && o != "" {
			return fmt.Errorf("output %q names a tensor already defined", o)
		}
	}
	if nc.opset < 7 {
		first, ok := oldForms[n.OpType]
		if !ok || first > nc.opset {
			return unsupported("%s in opset %d (an older form than the one tapenet reads; export with opset 7 or later)", n.OpType, nc.opset)
		}
	}
	if err := nc.upgrade(); err != nil {
		return err
	}
	if done, err := batchMoves(nc); done {
		return err
	}
	return h(nc)
}

// oldForms lists the operators read in models of opsets 1 to 6: those whose
// form then is the one read (the opset it dates from). Others changed at
// opset 7 (broadcasting, consumed_inputs, is_test) and are refused there.
var oldForms = map[string]int64{
	"Softplus": 1, "Softsign": 1, "Not": 1, "GlobalAveragePool": 1, "GlobalMaxPool": 1, "Identity": 1,
	"Transpose": 1, "Flatten": 1, "MatMul": 1, "Elu": 6, "HardSigmoid": 6, "Selu": 6, "LeakyRelu": 6,
	"InstanceNormalization": 6, "Relu": 6, "Sigmoid": 6, "Tanh": 6, "Abs": 6, "Neg": 6, "Exp": 6,
	"Log": 6, "Sqrt": 6, "Reciprocal": 6, "Floor": 6, "Ceil": 6,
}

// isGeneric reports whether an operator becomes an onnx-op layer without
// trying a handler of its own: those with a kernel and no handler.
func isGeneric(_ *importer, op string) bool {
	_, ok := kernels[op]
	_, handled := handlers[op]
	return ok && op != constKernel && !handled
}

// handlerOrOp converts a node with the operator's own handler (onto
// graph's layers and this package's kinds, which train and export), and
// when that refuses the form, having changed nothing, as an Op (in a model
// of fixed shapes, or for an elementwise or per-sample form in any model).
// The handler's refusal is the error when neither takes the node in a
// model whose batch is symbolic.
func handlerOrOp(h handler) handler {
	return func(nc *nodeCtx) error {
		if slices.ContainsFunc(nc.in, func(v *value) bool { return v != nil && v.t != nil && v.scalar }) {
			// Only an Op takes an ONNX scalar.
			return genericNode(nc)
		}
		before := nc.im.mark()
		err := h(nc)
		var le *graph.LayerError
		if err == nil || nc.im.changed(before) || !(errors.Is(err, ErrUnsupported) || errors.As(err, &le)) {
			return err
		}
		nc.im.budget = before.budget
		gerr := genericNode(nc)
		if gerr != nil && !nc.im.fixed {
			return err
		}
		return gerr
	}
}

// importMark is what converting a node may change in the importer.
type importMark struct{ values, pending, names, shared, owner, budget int }

func (im *importer) mark() importMark {
	return importMark{len(im.values), len(im.pending), len(im.names), len(im.shared), len(im.owner), im.budget}
}

// changed reports whether a node's conversion changed more than the
// folding budget since m.
func (im *importer) changed(m importMark) bool {
	now := im.mark()
	now.budget = m.budget
	return now != m
}

// since gives, for operators new within the opsets imported, the first
// opset that has them.
var since = map[string]int64{
	"ConstantOfShape": 9, "Where": 9, "Erf": 9, "Sign": 9, "IsNaN": 9, "Sinh": 9, "Cosh": 9, "Asinh": 9,
	"Acosh": 9, "Atanh": 9, "Expand": 8, "Mod": 10, "IsInf": 10, "ThresholdedRelu": 10, "Celu": 12,
	"GreaterOrEqual": 12, "LessOrEqual": 12, "HardSwish": 14, "Mish": 18,
}

// upgrade rewrites the node's older forms into the one its handler reads:
// Pad before opset 11 and Slice before opset 10 take as attributes what
// later opsets take as inputs; BatchNormalization before opset 9 has a
// spatial attribute. Operators newer than the model's opset are refused.
func (nc *nodeCtx) upgrade() error {
	if first, ok := since[nc.n.OpType]; ok && nc.opset < first {
		return unsupported("%s in opset %d (the operator exists from opset %d)", nc.n.OpType, nc.opset, first)
	}
	ints := func(name string) (*value, bool, error) {
		v, ok, err := nc.attrInts(name)
		if err != nil || !ok {
			return nil, ok, err
		}
		delete(nc.attrs, name)
		return &value{c: &constant{dt: tInt64, shape: []int{len(v)}, i: slices.Clone(v)}}, true, nil
	}
	switch {
	case nc.n.OpType == "Pad" && nc.opset < 11:
		if len(nc.in) != 1 {
			return fmt.Errorf("%d inputs; Pad before opset 11 takes one, its pads an attribute", len(nc.in))
		}
		pads, ok, err := ints("pads")
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("pad before opset 11 needs the pads attribute")
		}
		fill, err := nc.attrFloat("value", 0)
		if err != nil {
			return err
		}
		delete(nc.attrs, "value")
		nc.in = append(nc.in, pads, &value{c: &constant{dt: tFloat, shape: []int{}, f: []float32{fill}}})
	case nc.n.OpType == "Slice" && nc.opset < 10:
		if len(nc.in) != 1 {
			return fmt.Errorf("%d inputs; Slice before opset 10 takes one, its starts, ends and axes attributes", len(nc.in))
		}
		for _, name := range []string{"starts", "ends", "axes"} {
			v, ok, err := ints(name)
			if err != nil {
				return err
			}
			if !ok && name != "axes" {
				return fmt.Errorf("slice before opset 10 needs the %s attribute", name)
			}
			nc.in = append(nc.in, v) // nil when absent
		}
	case nc.n.OpType == "BatchNormalization" && nc.opset < 9:
		spatial, err := nc.attrInt("spatial", 1)
		if err != nil {
			return err
		}
		if spatial != 1 {
			return unsupported("spatial=%d (statistics per element, BatchNormalization before opset 9)", spatial)
		}
		delete(nc.attrs, "spatial")
	}
	return nil
}

// inputs checks the number of inputs given (trailing omitted ones count
// as absent).
func (nc *nodeCtx) inputs(least, most int) error {
	n := len(nc.in)
	for n > 0 && nc.in[n-1] == nil {
		n--
	}
	if n < least || n > most {
		if least == most {
			return fmt.Errorf("%d inputs, want %d", n, least)
		}
		return fmt.Errorf("%d inputs, want %d to %d", n, least, most)
	}
	for k := range least {
		if nc.in[k] == nil {
			return fmt.Errorf("input %d is missing", k)
		}
	}
	return nil
}

// input returns input k, or nil when absent.
func (nc *nodeCtx) input(k int) *value {
	if k < len(nc.in) {
		return nc.in[k]
	}
	return nil
}

// allow checks that every attribute is one of names.
func (nc *nodeCtx) allow(names ...string) error {
	for name := range nc.attrs {
		if !slices.Contains(names, name) {
			return unsupported("attribute %s", name)
		}
	}
	return nil
}

func (nc *nodeCtx) attr(name string, t onnx.AttributeProto_AttributeType) (*onnx.AttributeProto, error) {
	a, ok := nc.attrs[name]
	if !ok {
		return nil, nil
	}
	if a.Type != t {
		return nil, fmt.Errorf("attribute %s is of type %s, want %s", name, a.Type, t)
	}
	return a, nil
}

func (nc *nodeCtx) attrInt(name string, def int64) (int64, error) {
	a, err := nc.attr(name, onnx.AttributeProto_INT)
	if err != nil || a == nil {
		return def, err
	}
	return a.I, nil
}

func (nc *nodeCtx) attrFloat(name string, def float32) (float32, error) {
	a, err := nc.attr(name, onnx.AttributeProto_FLOAT)
	if err != nil || a == nil {
		return def, err
	}
	return a.F, nil
}

// attrInts returns an INTS attribute, or nil (and false) when absent.
func (nc *nodeCtx) attrInts(name string) ([]int64, bool, error) {
	a, err := nc.attr(name, onnx.AttributeProto_INTS)
	if err != nil || a == nil {
		return nil, false, err
	}
	return a.Ints, true, nil
}

func (nc *nodeCtx) attrString(name, def string) (string, error) {
	a, err := nc.attr(name, onnx.AttributeProto_STRING)
	if err != nil || a == nil {
		return def, err
	}
	return string(a.S), nil
}

// out sets output k.
func (nc *nodeCtx) out(k int, v *value) error {
	if k >= len(nc.n.Output) || nc.n.Output[k] == "" {
		return nil // not asked for
	}
	nc.im.values[nc.n.Output[k]] = v
	return nil
}

func (nc *nodeCtx) outTensor(t *graph.Tensor) error { return nc.out(0, &value{t: t}) }

func (nc *nodeCtx) outConst(c *constant) error { return nc.out(0, &value{c: c}) }

// onlyFirstOutput checks that no output beyond the first is read.
func (nc *nodeCtx) onlyFirstOutput() error {
	for k, o := range nc.n.Output {
		if k > 0 && o != "" && nc.im.used[o] {
			return unsupported("output %d (%s)", k, o)
		}
	}
	return nil
}

// constIn returns input k, which must be a constant.
func (nc *nodeCtx) constIn(k int, what string) (*constant, error) {
	v := nc.input(k)
	if v == nil {
		return nil, fmt.Errorf("input %d (%s) is missing", k, what)
	}
	if v.c == nil {
		return nil, unsupported("%s computed from the model's inputs (input %d); it must be an initializer or a constant", what, k)
	}
	return v.c, nil
}

// tensorIn returns input k, which must be computed from the model inputs.
func (nc *nodeCtx) tensorIn(k int) (*graph.Tensor, error) {
	v := nc.input(k)
	if v == nil {
		return nil, fmt.Errorf("input %d is missing", k)
	}
	if v.t == nil {
		return nil, unsupported("a constant input %d (only tensors computed from the model's inputs)", k)
	}
	return v.t, nil
}

// apply applies a layer for this node.
func (nc *nodeCtx) apply(l graph.Layer, ps []param, ins ...*graph.Tensor) (*graph.Tensor, error) {
	return nc.im.apply(nc, l, ps, ins...)
}

// fullShape returns the shape of a model tensor with the batch as -1.
func fullShape(t *graph.Tensor) []int { return append([]int{-1}, t.Shape()...) }

// paramOf returns a constant as a layer parameter of the given shape.
func paramOf(local string, c *constant, shape []int) (param, error) {
	if c.dt != tFloat {
		return param{}, unsupported("a parameter of element type %s (tapenet's layers compute in float32)", typeName(c.dt))
	}
	if shapeSize(shape) != c.size() {
		return param{}, fmt.Errorf("parameter %s: %d values for shape %v", local, c.size(), shape)
	}
	return param{local: local, shape: slices.Clone(shape), values: c.f, source: c.init}, nil
}

// paramName returns the parameter name for an initializer: the part after
// its last dot ("scale" for "net.scale"), else def.
func paramName(c *constant, def string) string {
	if i := strings.LastIndexByte(c.init, '.'); i >= 0 && validName(c.init[i+1:]) && c.init[i+1:] != "" && !strings.Contains(c.init[i+1:], "/") {
		return c.init[i+1:]
	}
	return def
}
