package export

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/graph"
	"google.golang.org/protobuf/proto"
)

// ONNX model constants written by WriteONNX.
const (
	// ONNXOpset is the version of the default ONNX operator set used.
	ONNXOpset = 13
	// ONNXIRVersion is the ONNX IR version (8: ONNX 1.10 and later; ONNX
	// Runtime 1.10+ reads it).
	ONNXIRVersion = 8
	// ONNXInput and ONNXOutput name the model's input and output tensors.
	ONNXInput  = "input"
	ONNXOutput = "output"
	// ONNXBatch names the symbolic batch dimension of input and output.
	ONNXBatch = "N"
)

// ONNXLayer is implemented by layers that know their own ONNX form; the
// ONNX writer asks it before its built-in translations of graph's kinds
// (graph's layers cannot implement it: graph cannot import this package).
// A layer of your own implements it to become exportable to ONNX.
type ONNXLayer interface {
	// ONNXNode adds the layer's ONNX nodes computing on the tensor named
	// input (shape (N, b.InputShape()...)) through b and returns the name
	// of the layer's output tensor. A layer applied to several tensors (a
	// graph.Merger) gets the first as input and all of them from
	// b.Inputs().
	ONNXNode(b *ONNXBuilder, input string) (output string, err error)
}

// ONNXFunc translates one layer into ONNX nodes, as ONNXLayer.ONNXNode
// does; the layer is b.Layer().
type ONNXFunc func(b *ONNXBuilder, input string) (output string, err error)

// builtinONNX returns the translation of one of graph's own layer kinds.
// It is a fixed table, not a registry: a kind defined outside graph/ gives
// its ONNX form by implementing ONNXLayer.
func builtinONNX(kind string) (ONNXFunc, bool) {
	switch kind {
	case "dense":
		return denseONNX, true
	case "sigmoid":
		return unaryONNX("Sigmoid"), true
	case "relu":
		return unaryONNX("Relu"), true
	case "tanh":
		return unaryONNX("Tanh"), true
	case "softmax":
		return softmaxONNX, true
	case "identity", "dropout": // dropout passes its input through in inference
		return identityONNX, true
	case "step":
		return stepONNX, true
	case "conv2d":
		return conv2dONNX, true
	case "maxpool2d":
		return maxPool2dONNX, true
	case "flatten":
		return flattenONNX, true
	case "batchnorm":
		return batchNormONNX, true
	case "add":
		return foldONNX("Add"), true
	case "multiply":
		return foldONNX("Mul"), true
	case "concat":
		return concatONNX, true
	case "reshape":
		return reshapeONNX, true
	case "globalavgpool2d":
		return globalAvgPool2dONNX, true
	case "avgpool2d":
		return avgPool2dONNX, true
	}
	return seqONNX(kind)
}

// ONNXKinds returns graph's layer kinds that have a built-in ONNX
// translation, sorted.
func ONNXKinds() []string {
	var ks []string
	for _, k := range graph.Builtin().Kinds() {
		if _, ok := builtinONNX(k); ok {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks
}

func onnxFunc(l graph.Layer) (ONNXFunc, bool) {
	if ol, ok := l.(ONNXLayer); ok {
		return ol.ONNXNode, true
	}
	return builtinONNX(l.Kind())
}

// ONNXBuilder adds the ONNX nodes and initializers of one model node (a
// layer applied to its inputs) to a graph. Tensor and node names it makes
// start with the node's name (graph.Node.Name: the layer's name, or
// "<layer>:<k>" at the layer's k-th reuse), parameters excepted: they are
// named after the layer, once for all its nodes.
type ONNXBuilder struct {
	m      *graph.Model
	g      *onnx.GraphProto
	node   graph.Node
	layer  graph.NamedLayer
	inputs []string        // ONNX names of the node's input tensors
	shapes [][]int         // their per-sample shapes
	dtypes []graph.DType   // their element types
	names  map[string]bool // tensor names in use (parameter names reserved)
	inits  map[string]bool // parameters already added as initializers
	count  map[string]int  // nodes per op type, for node names
	first  int             // index in g.Node of the node's first ONNX node
}

// Layer returns the layer being translated.
func (b *ONNXBuilder) Layer() graph.NamedLayer { return b.layer }

// ModelNode returns the model node being translated: the layer's application
// to its inputs, with its name and per-sample output shape.
func (b *ONNXBuilder) ModelNode() graph.Node {
	n := b.node
	n.Inputs = slices.Clone(n.Inputs)
	n.Shape = slices.Clone(n.Shape)
	return n
}

// Inputs returns the ONNX names of all the node's input tensors (a merge
// layer has several; the translation function gets the first).
func (b *ONNXBuilder) Inputs() []string { return slices.Clone(b.inputs) }

// InputShape returns the per-sample shape of the node's first input (batch
// excluded).
func (b *ONNXBuilder) InputShape() []int { return slices.Clone(b.shapes[0]) }

// InputShapes returns the per-sample shapes of all the node's inputs.
func (b *ONNXBuilder) InputShapes() [][]int {
	out := make([][]int, len(b.shapes))
	for i, s := range b.shapes {
		out[i] = slices.Clone(s)
	}
	return out
}

// OutputShape returns the node's per-sample output shape.
func (b *ONNXBuilder) OutputShape() []int { return slices.Clone(b.node.Shape) }

// Param adds the layer's parameter name (e.g. "weight") as an initializer
// named as in the checkpoint ("fc1.weight"), with the model's shape and
// values, and returns its name. A layer applied at several nodes adds it
// once: every node computes with the same initializer.
func (b *ONNXBuilder) Param(name string) (string, error) {
	full := b.layer.Name + "." + name
	t := b.m.Param(full)
	if t == nil {
		return "", fmt.Errorf("layer %s: no parameter %q", b.layer.Name, name)
	}
	if b.inits[full] {
		return full, nil
	}
	b.g.Initializer = append(b.g.Initializer, floatTensor(full, t.Shape(), t.Data().([]float32)))
	b.inits[full] = true
	b.names[full] = true
	return full, nil
}

// Constant adds a float32 initializer named "<node>.<name>" (made unique
// if taken) and returns its name. An empty shape makes a scalar.
func (b *ONNXBuilder) Constant(name string, shape []int, values []float32) (string, error) {
	if err := b.checkSize(name, shape, len(values)); err != nil {
		return "", err
	}
	full := b.unique(b.node.Name + "." + name)
	b.g.Initializer = append(b.g.Initializer, floatTensor(full, shape, values))
	return full, nil
}

// ConstantInt64 adds an int64 initializer named "<node>.<name>" (made
// unique if taken) and returns its name: the shape input of Reshape, the
// axes or indices some operators take as tensors. An empty shape makes a
// scalar.
func (b *ONNXBuilder) ConstantInt64(name string, shape []int, values []int64) (string, error) {
	if err := b.checkSize(name, shape, len(values)); err != nil {
		return "", err
	}
	full := b.unique(b.node.Name + "." + name)
	raw := make([]byte, 0, 8*len(values))
	for _, v := range values {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
	}
	b.g.Initializer = append(b.g.Initializer, &onnx.TensorProto{Name: full, Dims: ints64(shape...), DataType: int32(onnx.TensorProto_INT64), RawData: raw})
	return full, nil
}

func (b *ONNXBuilder) checkSize(name string, shape []int, values int) error {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("layer %s: constant %s: negative dimension in shape %v", b.node.Name, name, shape)
		}
		n *= d
	}
	if n != values {
		return fmt.Errorf("layer %s: constant %s: %d values for shape %v", b.node.Name, name, values, shape)
	}
	return nil
}

// Node adds a node applying op (an operator of the default ONNX domain,
// opset ONNXOpset) to the named input tensors and returns the name of its
// output tensor.
func (b *ONNXBuilder) Node(op string, inputs []string, attrs ...*onnx.AttributeProto) string {
	k := b.count[op]
	b.count[op]++
	suffix := ""
	if k > 0 {
		suffix = strconv.Itoa(k)
	}
	out := b.unique(b.node.Name + "." + strings.ToLower(op) + suffix)
	b.g.Node = append(b.g.Node, &onnx.NodeProto{
		Name:      b.node.Name + "/" + op + suffix,
		OpType:    op,
		Input:     slices.Clone(inputs),
		Output:    []string{out},
		Attribute: attrs,
	})
	return out
}

func (b *ONNXBuilder) unique(name string) string {
	base := name
	for i := 1; b.names[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	b.names[name] = true
	return name
}

// AttrInt returns an INT attribute.
func AttrInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INT, I: v}
}

// AttrFloat returns a FLOAT attribute.
func AttrFloat(name string, v float32) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_FLOAT, F: v}
}

// AttrInts returns an INTS attribute.
func AttrInts(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INTS, Ints: v}
}

func floatTensor(name string, shape []int, values []float32) *onnx.TensorProto {
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	raw := make([]byte, 0, 4*len(values))
	for _, v := range values {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	return &onnx.TensorProto{Name: name, Dims: dims, DataType: int32(onnx.TensorProto_FLOAT), RawData: raw}
}

// onnxElemType returns the ONNX element type of d.
func onnxElemType(d graph.DType) (onnx.TensorProto_DataType, error) {
	switch d.Or() {
	case graph.Float32:
		return onnx.TensorProto_FLOAT, nil
	case graph.Float64:
		return onnx.TensorProto_DOUBLE, nil
	case graph.Int64:
		return onnx.TensorProto_INT64, nil
	case graph.Int32:
		return onnx.TensorProto_INT32, nil
	case graph.Bool:
		return onnx.TensorProto_BOOL, nil
	}
	return 0, fmt.Errorf("no ONNX element type for %s", d)
}

func valueInfo(name string, sample []int, elem onnx.TensorProto_DataType) *onnx.ValueInfoProto {
	dims := []*onnx.TensorShapeProto_Dimension{{Value: &onnx.TensorShapeProto_Dimension_DimParam{DimParam: ONNXBatch}}}
	for _, d := range sample {
		dims = append(dims, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &onnx.ValueInfoProto{
		Name: name,
		Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: &onnx.TypeProto_Tensor{
			ElemType: int32(elem),
			Shape:    &onnx.TensorShapeProto{Dim: dims},
		}}},
	}
}

// ONNXModel translates m into an ONNX model: opset ONNXOpset, IR version
// ONNXIRVersion, one graph input per model input (of the input's element
// type: float32, or int64 ids for an Embedding) and one output per
// model output, each of shape (N, sample shape...) with N a symbolic batch
// dimension. A model of one input and one output names them "input" and
// "output" (ONNXInput, ONNXOutput); otherwise inputs keep the model's input
// names and outputs are named after their nodes. Parameters become
// initializers named as in the checkpoint ("fc1.weight", ...); a layer
// applied at several nodes shares its initializers. Each node is
// translated by its layer's ONNXLayer method or the built-in translation
// of its kind; a layer with neither is an error naming it. So is a graph
// input named like a parameter, and a model output that is a model input
// rather than a node.
func ONNXModel(m *graph.Model) (*onnx.ModelProto, error) {
	spec, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	g := &onnx.GraphProto{
		Name:      "tapenet",
		DocString: "Exported by tapenet. Dense weights are stored (in, out), as x·W; Gemm runs with transB=0.",
	}
	inputs, outputs := m.Inputs(), m.Outputs()
	single := len(inputs) == 1 && len(outputs) == 1
	// Parameter names are reserved for their initializers: no other tensor
	// may take one.
	names := map[string]bool{}
	for _, p := range m.ParamNames() {
		names[p] = true
	}
	tensors := map[string]string{} // model tensor name -> ONNX tensor name
	shapes := map[string][]int{}   // model tensor name -> per-sample shape
	dtypes := map[string]graph.DType{}
	for _, in := range inputs {
		name := in.Name
		if single {
			name = ONNXInput
		}
		if names[name] {
			return nil, fmt.Errorf("onnx: input %q has the name of a parameter", name)
		}
		elem, err := onnxElemType(in.DType)
		if err != nil {
			return nil, fmt.Errorf("onnx: input %q: %w", in.Name, err)
		}
		g.Input = append(g.Input, valueInfo(name, in.Shape, elem))
		names[name] = true
		tensors[in.Name] = name
		shapes[in.Name] = in.Shape
		dtypes[in.Name] = in.DType.Or()
	}
	nodes := m.Nodes()
	isNode := map[string]bool{}
	for _, n := range nodes {
		isNode[n.Name] = true
	}
	outName := map[string]string{}
	for _, o := range outputs {
		if !isNode[o] {
			// graph.NewModel accepts a model input as an output; it has no
			// node (nor a reliable OutputShape).
			return nil, fmt.Errorf("onnx: output %q is not computed by a layer (a model input given as an output is not supported)", o)
		}
		name := o
		if single {
			name = ONNXOutput
		}
		if _, dup := outName[o]; dup {
			continue
		}
		if names[name] {
			return nil, fmt.Errorf("onnx: output %q has the name of an input or a parameter", name)
		}
		outName[o] = name
		names[name] = true
	}
	inits := map[string]bool{}
	layers := map[string]graph.Layer{}
	for _, nl := range m.Layers() {
		layers[nl.Name] = nl.Layer
	}
	for _, n := range nodes {
		l := layers[n.Layer]
		fn, ok := onnxFunc(l)
		if !ok {
			return nil, fmt.Errorf("onnx: layer %s: kind %q has no ONNX translation (have %s)", n.Layer, l.Kind(), strings.Join(ONNXKinds(), ", "))
		}
		b := &ONNXBuilder{m: m, g: g, node: n, layer: graph.NamedLayer{Name: n.Layer, Layer: l}, names: names, inits: inits, count: map[string]int{}, first: len(g.Node)}
		for _, in := range n.Inputs {
			b.inputs = append(b.inputs, tensors[in])
			b.shapes = append(b.shapes, shapes[in])
			b.dtypes = append(b.dtypes, dtypes[in])
		}
		out, err := fn(b, b.inputs[0])
		if err != nil {
			return nil, fmt.Errorf("onnx: layer %s (%s): %w", n.Name, l.Kind(), err)
		}
		if out == "" || !names[out] {
			return nil, fmt.Errorf("onnx: layer %s (%s): output %q is not a tensor of the graph", n.Name, l.Kind(), out)
		}
		// Name the node's output after the model's output it is, or
		// "<node>.out", when the node made it.
		want := n.Name + ".out"
		if o, ok := outName[n.Name]; ok {
			want = o
		}
		if out != want && producedSince(g, b.first, out) && (outName[n.Name] == want || !names[want]) {
			renameTensor(g.Node[b.first:], out, want)
			delete(names, out)
			names[want] = true
			out = want
		}
		tensors[n.Name] = out
		shapes[n.Name] = n.Shape
		dtypes[n.Name] = n.DType.Or()
	}
	for i, o := range outputs {
		name := outName[o]
		if tensors[o] != name || slices.Index(outputs, o) != i {
			// The output was not made by its node (an identity layer) or is
			// listed twice: copy it.
			name = outName[o]
			if slices.Index(outputs, o) != i {
				name = fmt.Sprintf("%s_%d", name, i)
			}
			g.Node = append(g.Node, &onnx.NodeProto{Name: name + "/Identity", OpType: "Identity", Input: []string{tensors[o]}, Output: []string{name}})
		}
		elem, err := onnxElemType(dtypes[o])
		if err != nil {
			return nil, fmt.Errorf("onnx: output %q: %w", o, err)
		}
		g.Output = append(g.Output, valueInfo(name, m.OutputShape(i), elem))
	}
	var doc []string
	for _, vi := range g.Input {
		in := inputOf(inputs, vi.Name, single)
		doc = append(doc, fmt.Sprintf("input %q: %s %s", vi.Name, dtypes[in], batchShape(shapes[in])))
	}
	for i, vi := range g.Output {
		doc = append(doc, fmt.Sprintf("output %q: %s %s", vi.Name, dtypes[outputs[i]], batchShape(m.OutputShape(i))))
	}
	return &onnx.ModelProto{
		IrVersion:       ONNXIRVersion,
		OpsetImport:     []*onnx.OperatorSetIdProto{{Domain: "", Version: ONNXOpset}},
		ProducerName:    "tapenet",
		ProducerVersion: "1",
		DocString:       "A tapenet model. " + strings.Join(doc, "; ") + "; N is the batch size.",
		Graph:           g,
		MetadataProps: []*onnx.StringStringEntryProto{
			{Key: "tapenet.spec", Value: string(spec)},
			{Key: "tapenet.weight_layout", Value: "dense weights are (in, out): the transpose of PyTorch nn.Linear.weight"},
		},
	}, nil
}

// inputOf returns the model input name behind an ONNX graph input name.
func inputOf(inputs []graph.InputSpec, onnxName string, single bool) string {
	if single {
		return inputs[0].Name
	}
	return onnxName
}

// producedSince reports whether a node from index from on outputs name.
func producedSince(g *onnx.GraphProto, from int, name string) bool {
	for _, n := range g.Node[from:] {
		if slices.Contains(n.Output, name) {
			return true
		}
	}
	return false
}

func renameTensor(nodes []*onnx.NodeProto, from, to string) {
	for _, n := range nodes {
		for i, s := range n.Input {
			if s == from {
				n.Input[i] = to
			}
		}
		for i, s := range n.Output {
			if s == from {
				n.Output[i] = to
			}
		}
	}
}

// WriteONNX writes m as a serialized ONNX model (see ONNXModel), which ONNX
// Runtime and other ONNX tools load. A model of one input and one output
// takes a float32 tensor "input" of shape (N, sample shape...), any N, and
// returns "output" (of shape (N, classes) for a classifier); other models
// take one tensor per model input, named after it, and return one per
// output, named after the node computing it.
func WriteONNX(w io.Writer, m *graph.Model) error {
	mp, err := ONNXModel(m)
	if err != nil {
		return err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(mp)
	if err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	_, err = w.Write(b)
	return err
}

// Built-in translations of graph's layer kinds.

func denseONNX(b *ONNXBuilder, x string) (string, error) {
	w, err := b.Param("weight")
	if err != nil {
		return "", err
	}
	bias, err := b.Param("bias")
	if err != nil {
		return "", err
	}
	if len(b.InputShape()) != 1 {
		x = b.Node("Flatten", []string{x}, AttrInt("axis", 1))
	}
	return b.Node("Gemm", []string{x, w, bias}, AttrFloat("alpha", 1), AttrFloat("beta", 1), AttrInt("transA", 0), AttrInt("transB", 0)), nil
}

func unaryONNX(op string) ONNXFunc {
	return func(b *ONNXBuilder, x string) (string, error) { return b.Node(op, []string{x}), nil }
}

func softmaxONNX(b *ONNXBuilder, x string) (string, error) {
	if len(b.InputShape()) != 1 {
		return "", fmt.Errorf("softmax needs (batch, classes) input, got per-sample shape %v", b.InputShape())
	}
	return b.Node("Softmax", []string{x}, AttrInt("axis", 1)), nil
}

func identityONNX(_ *ONNXBuilder, x string) (string, error) { return x, nil }

func stepONNX(b *ONNXBuilder, x string) (string, error) {
	zero, err := b.Constant("zero", nil, []float32{0})
	if err != nil {
		return "", err
	}
	gt := b.Node("Greater", []string{x, zero})
	return b.Node("Cast", []string{gt}, AttrInt("to", int64(onnx.TensorProto_FLOAT))), nil
}

// batchShape formats a per-sample shape with the symbolic batch: "(N, 784)".
func batchShape(sample []int) string {
	return "(" + ONNXBatch + strings.TrimPrefix(ShapeString(sample), "(None")
}
