package onnximport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/graph"
	"google.golang.org/protobuf/proto"
)

// The operator sets read, and the limits checked before allocating.
const (
	// MinOpset and MaxOpset bound the versions of the default ONNX operator
	// set ("" or "ai.onnx") a model may import; others are an error.
	MinOpset = 1
	MaxOpset = 21
	// MaxBytes caps the size of a serialized model Read accepts (1 GiB).
	MaxBytes = 1 << 30
	// MaxNodes caps the number of nodes of a graph.
	MaxNodes = graph.MaxLayers
	// MaxFoldedBytes caps the memory of all tensors computed while
	// importing (folded shape arithmetic, ConstantOfShape, Pad of
	// constants, and the index arrays that compute them), beyond twice the
	// initializers' own size: bytes, not values, as an int64 value costs
	// twice a float32 one.
	MaxFoldedBytes = 64 << 20
	// MaxPadElements caps the values per sample a Pad of a model tensor
	// makes, unless they are at most 4 times the input sample's.
	MaxPadElements = 1 << 22
)

// ErrUnsupported is wrapped by every error about an operator, attribute,
// input form or opset the importer does not handle (errors.Is).
var ErrUnsupported = errors.New("not supported")

type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string        { return "not supported: " + e.msg }
func (e *unsupportedError) Is(target error) bool { return target == ErrUnsupported }

// unsupported returns an error wrapping ErrUnsupported: "not supported:
// <what>".
func unsupported(format string, args ...any) error {
	return &unsupportedError{msg: fmt.Sprintf(format, args...)}
}

// NodeError reports an ONNX node that could not be imported: an operator
// or attribute not supported, or an input of a form the importer cannot
// give a correct result for. It names the operator, the node and the opset.
type NodeError struct {
	// Index is the node's position in the graph.
	Index int
	// Name is the node's name (may be empty) and Op its operator type.
	Name, Op string
	// Domain is the operator's domain ("" for the default ONNX domain).
	Domain string
	// Opset is the version of the model's default operator set.
	Opset int64
	// Err is what went wrong.
	Err error
}

func (e *NodeError) Error() string {
	name := e.Name
	if name == "" {
		name = fmt.Sprintf("#%d", e.Index)
	}
	op := e.Op
	if e.Domain != "" {
		op = e.Domain + "." + op
	}
	return fmt.Sprintf("onnx: node %s (%s, opset %d): %v", name, op, e.Opset, e.Err)
}

// Unwrap returns Err.
func (e *NodeError) Unwrap() error { return e.Err }

// Read reads a serialized ONNX model (protobuf) of at most MaxBytes from r
// and builds the tapenet model it describes (see FromProto).
func Read(r io.Reader) (*graph.Model, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("onnx: model larger than %d bytes", MaxBytes)
	}
	return Decode(data)
}

// Decode builds the tapenet model of a serialized ONNX model (see
// FromProto).
func Decode(data []byte) (*graph.Model, error) {
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("onnx: model larger than %d bytes", MaxBytes)
	}
	var mp onnx.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return nil, fmt.Errorf("onnx: not an ONNX model: %w", err)
	}
	return FromProto(&mp)
}

// IsONNX reports whether a file starting with head looks like a serialized
// ONNX model: a protobuf message opening with ModelProto's ir_version
// field (as every ONNX writer orders it) followed by another of its fields.
// It tells ONNX from tapenet's other formats (safetensors, numpy, pickle).
func IsONNX(head []byte) bool {
	if len(head) < 3 || head[0] != 0x08 || head[1] < 1 || head[1] > 0x7f {
		return false
	}
	// Safetensors starts with an 8-byte little-endian header length and
	// the header's '{'.
	if len(head) > 8 && head[8] == '{' && bytes.Equal(head[3:8], make([]byte, 5)) {
		return false
	}
	switch head[2] {
	case 0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72: // producer_name .. graph, opset_import, metadata_props
		return true
	}
	return false
}

// FromProto builds a tapenet model from an ONNX model, as a functional
// graph.Model: one model input per graph input that is not an
// initializer, one output per graph output, and for every node the
// layers computing it. Initializers that a layer takes as weights become
// its trainable parameters, with the initializer's values; tensors known
// while importing (initializers feeding shape arithmetic, Constant, Shape
// of a tensor whose sample shape is known, and what is computed from them)
// are folded away, and the batch size stays symbolic.
//
// Every graph input must be a float32 tensor whose first dimension is the
// batch, symbolic (a dim_param, as torch.onnx.export writes with
// dynamic_axes), and whose other dimensions are fixed. The model must use
// the default ONNX operator set, version MinOpset to MaxOpset. A node of
// an operator, attribute or form that is not supported is a *NodeError
// wrapping ErrUnsupported; the importer never builds a model it cannot
// run exactly.
func FromProto(mp *onnx.ModelProto) (*graph.Model, error) {
	m, err := fromProto(mp, false)
	if err == nil || !allFixed(mp) {
		return m, err
	}
	// Every input has a fixed shape: import again with the batch as an
	// axis like the others, which operators may work along.
	return fromProto(mp, true)
}

// allFixed reports whether every graph input that is not an initializer
// has a fixed shape of at least one dimension.
func allFixed(mp *onnx.ModelProto) bool {
	g := mp.GetGraph()
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	n := 0
	for _, vi := range g.GetInput() {
		if inits[vi.GetName()] {
			continue
		}
		n++
		tt := vi.GetType().GetTensorType()
		if tt == nil || tt.GetShape() == nil {
			return false
		}
		for _, d := range tt.GetShape().GetDim() {
			if v, ok := d.Value.(*onnx.TensorShapeProto_Dimension_DimValue); !ok || v.DimValue < 1 {
				return false
			}
		}
	}
	return n > 0
}

// fromProto imports the model, with every input's first axis a symbolic
// batch, or (fixed) every input of its fixed shape.
func fromProto(mp *onnx.ModelProto, fixed bool) (m *graph.Model, err error) {
	im := &importer{
		fixed:  fixed,
		values: map[string]*value{},
		names:  map[string]bool{},
		shared: map[string]graph.Layer{},
		owner:  map[string]string{},
		node:   -1,
	}
	defer func() {
		// Gorgonia's shape code panics on some shapes it does not expect;
		// an input file must never crash the program reading it.
		if r := recover(); r != nil {
			m, err = nil, im.wrap(fmt.Errorf("internal error: %v", r))
		}
	}()
	if err := im.opsets(mp); err != nil {
		return nil, err
	}
	g := mp.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("onnx: the model has no graph")
	}
	im.g = g
	if len(g.Node) > MaxNodes {
		return nil, fmt.Errorf("onnx: %d nodes (at most %d)", len(g.Node), MaxNodes)
	}
	if len(g.SparseInitializer) > 0 {
		return nil, fmt.Errorf("onnx: %w", unsupported("sparse initializers"))
	}
	im.budget = MaxFoldedBytes
	for _, t := range g.Initializer {
		c, err := tensorFromProto(t, graph.MaxElements)
		if err != nil {
			return nil, fmt.Errorf("onnx: initializer: %w", err)
		}
		if t.Name == "" {
			return nil, fmt.Errorf("onnx: an initializer has no name")
		}
		im.values[t.Name] = &value{c: c}
		im.budget += 2 * c.bytes()
	}
	var inputs []*graph.Tensor
	for _, vi := range g.Input {
		if _, isInit := im.values[vi.GetName()]; isInit {
			continue // an input with a default value: the initializer
		}
		t, err := modelInput(vi, fixed)
		if err != nil {
			return nil, fmt.Errorf("onnx: %w", err)
		}
		if im.names[vi.Name] {
			return nil, fmt.Errorf("onnx: input %q is listed twice", vi.Name)
		}
		im.names[vi.Name] = true
		im.values[vi.Name] = &value{t: t, scalar: len(vi.GetType().GetTensorType().GetShape().GetDim()) == 0}
		inputs = append(inputs, t)
	}
	if len(inputs) == 0 {
		return nil, fmt.Errorf("onnx: the graph has no input that is not an initializer")
	}
	im.first = inputs[0]
	needed, used, err := im.prune()
	if err != nil {
		return nil, err
	}
	im.used = used
	for k, n := range g.Node {
		if !needed[k] {
			continue
		}
		im.node = k
		if err := im.convert(n); err != nil {
			return nil, im.wrap(err)
		}
	}
	im.node = -1
	var outputs []*graph.Tensor
	for _, vi := range g.Output {
		v := im.values[vi.GetName()]
		switch {
		case v == nil:
			return nil, fmt.Errorf("onnx: output %q is not computed by any node", vi.GetName())
		case v.c != nil && !fixed:
			return nil, fmt.Errorf("onnx: output %q: %w", vi.GetName(), unsupported("an output that is a constant, not computed from the inputs"))
		case v.moved != nil:
			return nil, fmt.Errorf("onnx: output %q: %w", vi.GetName(), unsupported("an output whose batch is at axis %d (%s moved it there; tapenet's outputs keep the batch first)", v.moved.axis, v.moved.from))
		}
		t := v.t
		if v.c != nil {
			if t, err = constOutput(v.c, inputs[0]); err != nil {
				return nil, fmt.Errorf("onnx: output %q: %w", vi.GetName(), err)
			}
		}
		if slices.Contains(inputs, t) {
			if t.DType().Or() == graph.Float32 {
				t = graph.Apply(graph.Identity{}, t)
			} else {
				t = graph.Apply(&Op{Op: "Identity", Inputs: []string{""}}, t)
			}
		}
		outputs = append(outputs, t)
	}
	if len(outputs) == 0 {
		return nil, fmt.Errorf("onnx: the graph has no output")
	}
	m, err = graph.NewModel(inputs, outputs)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	if err := im.setParams(m); err != nil {
		return nil, err
	}
	return m, nil
}

// value is an ONNX tensor while importing: either a tensor of the model
// (with a batch dimension, computed at run time) or a constant.
type value struct {
	t *graph.Tensor
	c *constant
	// scalar marks a tensor that is an ONNX scalar (rank 0), held as a
	// tensor of shape (1): only onnx-op layers take it.
	scalar bool
	// moved is a tensor whose batch is not its first axis (rnn_batch.go);
	// t and c are then nil.
	moved *movedBatch
}

type importer struct {
	fixed  bool // every input of a fixed shape (the batch an ordinary axis)
	g      *onnx.GraphProto
	opset  int64
	values map[string]*value
	used   map[string]bool // tensor names some needed node or the graph output reads
	first  *graph.Tensor   // the first model input
	node   int             // index of the node being converted, -1 outside
	// Layers and the parameter values to give them once the model exists.
	pending []pendingLayer
	names   map[string]bool        // input and layer names taken
	shared  map[string]graph.Layer // layer by key, for layers applied again
	owner   map[string]string      // initializer -> key of the layer holding it
	budget  int                    // bytes left for folded constants
}

type pendingLayer struct {
	layer  graph.Layer
	params []param
}

// param is a parameter value given to a layer: its name within the layer,
// shape and values, and the initializer it comes from ("" if none).
type param struct {
	local  string
	shape  []int
	values []float32
	source string
}

func (im *importer) wrap(err error) error {
	if im.node < 0 || im.node >= len(im.g.GetNode()) {
		return fmt.Errorf("onnx: %w", err)
	}
	var ne *NodeError
	if errors.As(err, &ne) {
		return err
	}
	n := im.g.Node[im.node]
	return &NodeError{Index: im.node, Name: n.Name, Op: n.OpType, Domain: n.Domain, Opset: im.opset, Err: err}
}

// opsets finds the version of the default operator set.
func (im *importer) opsets(mp *onnx.ModelProto) error {
	found := false
	for _, o := range mp.OpsetImport {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			if found && o.Version != im.opset {
				return fmt.Errorf("onnx: the default operator set is imported twice (%d and %d)", im.opset, o.Version)
			}
			im.opset, found = o.Version, true
		}
	}
	if !found {
		return fmt.Errorf("onnx: the model imports no version of the default operator set")
	}
	if im.opset < MinOpset || im.opset > MaxOpset {
		return fmt.Errorf("onnx: %w", unsupported("opset %d (tapenet imports opsets %d to %d; export with opset_version in that range)", im.opset, MinOpset, MaxOpset))
	}
	return nil
}

// modelInput declares the model input of a graph input: the batch first
// and symbolic (or, fixed, the first dimension's size), fixed sample
// dimensions, of one of graph's element types.
func modelInput(vi *onnx.ValueInfoProto, fixed bool) (*graph.Tensor, error) {
	name := vi.GetName()
	if name == "" {
		return nil, fmt.Errorf("an input has no name")
	}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return nil, fmt.Errorf("input %q: %w", name, unsupported("an input that is not a tensor"))
	}
	dt, err := onnxDType(tt.ElemType)
	if err != nil {
		return nil, fmt.Errorf("input %q: %w", name, err)
	}
	dims := tt.GetShape().GetDim()
	if tt.GetShape() == nil || (len(dims) < 1 && !fixed) {
		return nil, fmt.Errorf("input %q has shape %s: want (batch, sample dimensions...)", name, dimsString(dims))
	}
	if len(dims) == 0 {
		// A scalar: a tensor of one element, (1).
		t := graph.Input(name)
		if dt != graph.Float32 {
			t = t.As(dt)
		}
		t = t.WithBatch(1)
		return t, t.Err()
	}
	// The batch: a dim_param ("N", "batch_size", "unk__42"), no value, a
	// value below 1 as some converters write for "unknown", or a fixed size
	// (torch.onnx.export without dynamic_axes). The model's batch stays
	// symbolic either way: no layer the importer makes works along it, and
	// Shape's batch element stays the symbolic batch size, so a model
	// exported at one batch size runs at that one and at any other (the
	// graph does not tie the batch into its arithmetic; what would, such as
	// a Reshape to a literal first dimension, is refused).
	shape := make([]int, len(dims)-1)
	for k, d := range dims[1:] {
		v, ok := d.Value.(*onnx.TensorShapeProto_Dimension_DimValue)
		if !ok || v.DimValue < 1 || v.DimValue > graph.MaxElements {
			return nil, fmt.Errorf("input %q has shape %s: %w", name, dimsString(dims), unsupported("a symbolic or empty sample dimension"))
		}
		shape[k] = int(v.DimValue)
	}
	t := graph.Input(name, shape...)
	if dt != graph.Float32 {
		t = t.As(dt)
	}
	if fixed {
		t = t.WithBatch(int(dims[0].GetDimValue()))
	}
	return t, t.Err()
}

func dimsString(dims []*onnx.TensorShapeProto_Dimension) string {
	var s []string
	for _, d := range dims {
		switch v := d.Value.(type) {
		case *onnx.TensorShapeProto_Dimension_DimValue:
			s = append(s, fmt.Sprint(v.DimValue))
		case *onnx.TensorShapeProto_Dimension_DimParam:
			s = append(s, v.DimParam)
		default:
			s = append(s, "?")
		}
	}
	return "(" + strings.Join(s, ", ") + ")"
}

// prune returns the nodes the graph outputs depend on (an unsupported
// operator elsewhere is no error) and the tensor names read.
func (im *importer) prune() (needed []bool, used map[string]bool, err error) {
	producer := map[string]int{}
	for k, n := range im.g.Node {
		for _, o := range n.Output {
			if o == "" {
				continue
			}
			if _, dup := producer[o]; dup {
				return nil, nil, fmt.Errorf("onnx: tensor %q is computed by two nodes", o)
			}
			producer[o] = k
		}
	}
	needed = make([]bool, len(im.g.Node))
	used = map[string]bool{}
	var stack []string
	for _, vi := range im.g.Output {
		stack = append(stack, vi.GetName())
	}
	for len(stack) > 0 {
		name := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if used[name] {
			continue
		}
		used[name] = true
		k, ok := producer[name]
		if !ok || needed[k] {
			continue
		}
		needed[k] = true
		for _, in := range im.g.Node[k].Input {
			if in != "" {
				stack = append(stack, in)
			}
		}
	}
	return needed, used, nil
}

// spend takes n bytes from the folding budget.
func (im *importer) spend(n int) error {
	if n < 0 || n > im.budget {
		return fmt.Errorf("constants computed while importing would take more than %d MiB more (at most %d MiB beyond twice the initializers)", n>>20, MaxFoldedBytes>>20)
	}
	im.budget -= n
	return nil
}

// apply applies layer l to model tensors, to be given the parameter values
// ps once the model exists. A layer identical to one applied before, with
// the same initializers as parameters, is that layer again (shared
// weights); an initializer cannot be the parameter of two different
// layers.
func (im *importer) apply(nc *nodeCtx, l graph.Layer, ps []param, ins ...*graph.Tensor) (*graph.Tensor, error) {
	key := ""
	if len(ps) > 0 {
		cfg, err := json.Marshal(l)
		if err != nil {
			return nil, err
		}
		key = l.Kind() + string(cfg)
		for _, p := range ps {
			if p.source == "" {
				key = "" // computed values: a layer of its own
				break
			}
			key += "|" + p.local + "=" + p.source
		}
	}
	if prev, ok := im.shared[key]; ok && key != "" {
		t := graph.Apply(prev, ins...)
		return t, t.Err()
	}
	for _, p := range ps {
		if p.source == "" {
			continue
		}
		if _, taken := im.owner[p.source]; taken {
			return nil, unsupported("initializer %q as a parameter of two different layers", p.source)
		}
	}
	name := im.layerName(nc, ps)
	t := graph.ApplyNamed(name, l, ins...)
	if err := t.Err(); err != nil {
		return nil, err
	}
	if name != "" {
		im.names[name] = true
	}
	for _, p := range ps {
		if p.source != "" {
			im.owner[p.source] = key
		}
	}
	if key != "" {
		im.shared[key] = l
	}
	if len(ps) > 0 {
		im.pending = append(im.pending, pendingLayer{layer: l, params: ps})
	}
	return t, nil
}

// layerName names a layer with parameters after them when each comes from
// an initializer "<prefix>.<parameter name>" (so PyTorch's "fc1.weight"
// stays "fc1.weight"), else after the node's scope ("/conv1/Conv" names
// "conv1"); "" lets graph.NewModel choose. Layers without parameters are
// named by graph.NewModel after their kind.
func (im *importer) layerName(nc *nodeCtx, ps []param) string {
	if len(ps) == 0 {
		return ""
	}
	ok := func(name string) bool {
		return name != "" && !im.names[name] && !strings.ContainsAny(name, ":") && validName(name)
	}
	prefix := ""
	for k, p := range ps {
		pre, found := strings.CutSuffix(p.source, "."+p.local)
		if !found || (k > 0 && pre != prefix) {
			prefix = ""
			break
		}
		prefix = pre
	}
	if ok(prefix) {
		return prefix
	}
	// PyTorch names a node after its module path and operator:
	// "/net/fc1/Gemm" is module net.fc1.
	scope := strings.Split(strings.Trim(nc.n.Name, "/"), "/")
	if last := scope[len(scope)-1]; strings.HasPrefix(last, nc.n.OpType) {
		scope = scope[:len(scope)-1]
	}
	if !strings.HasPrefix(nc.n.Name, "/") {
		scope = nil // not PyTorch's form: the node name may be anything
	}
	if name := strings.Join(scope, "."); ok(name) {
		return name
	}
	return ""
}

// validName reports whether a name is plain enough to name a layer:
// letters, digits and _ . - /.
func validName(s string) bool {
	if len(s) > 200 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-', r == '/':
		default:
			return false
		}
	}
	return true
}

// setParams gives every layer applied its parameter values.
func (im *importer) setParams(m *graph.Model) error {
	names := map[graph.Layer]string{}
	for _, nl := range m.Layers() {
		names[nl.Layer] = nl.Name
	}
	set := 0
	for _, pl := range im.pending {
		name, ok := names[pl.layer]
		if !ok {
			continue // not on the way to an output
		}
		for _, p := range pl.params {
			full := name + "." + p.local
			if err := m.SetParam(full, p.shape, p.values); err != nil {
				return fmt.Errorf("onnx: %w", err)
			}
			set++
		}
	}
	if n := len(m.ParamNames()); set != n {
		return fmt.Errorf("onnx: %d of the model's %d parameters were given values", set, n)
	}
	return nil
}
