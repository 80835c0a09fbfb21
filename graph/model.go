package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"

	"gorgonia.org/tensor"
)

// SpecFormat identifies the JSON model spec written by Spec: layers, the
// nodes that apply them (in an order where each node's inputs come first)
// and the model's inputs and outputs.
const SpecFormat = "tapenet.model/v2"

// SequentialSpecFormat identifies the spec of earlier versions, a list of
// layers run in order. FromSpec still reads it.
const SequentialSpecFormat = "tapenet.sequential/v1"

// Model is a network of layers: a directed acyclic graph from named inputs
// to outputs, where each node applies a layer to the outputs of earlier
// nodes or to inputs. A layer applied at several nodes shares its
// parameters. The model owns the parameters: one tensor per declared
// parameter, named "<layer>.<param>", shared by every graph compiled from
// the model.
//
// Declare one with Input, Apply and NewModel, or, for a stack of layers,
// with NewSequential. A Model is safe for concurrent use by Predictors (see
// the package doc, "Concurrency"); changing its parameters while they run
// (Init, SetParam, training) is not.
type Model struct {
	inputs    []InputSpec
	layers    []layerInfo
	nodes     []Node
	nodeLayer []int          // layer index of each node
	index     map[string]int // node index by name
	byLayer   map[string]int // layer index by name
	outputs   []string       // node names
	params    map[string]*tensor.Dense
	buffers   map[string]bool // names of parameters that are buffers
	order     []string        // parameter names in model order
}

type layerInfo struct {
	name  string
	layer Layer
	in    []int // per-sample shape of its first call's first input
	specs []ParamSpec
}

// InputSpec names a model input and gives its per-sample shape, element
// type and batch.
type InputSpec struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	// DType is the element type ("" is Float32).
	DType DType `json:"dtype,omitempty"`
	// Batch is the fixed size of the input's first axis, which Shape then
	// follows; 0 (the default) is a symbolic batch, given at Build.
	Batch int `json:"batch,omitempty"`
}

// full returns the input's tensor shape in a graph of the given symbolic
// batch: (batch, Shape...), or (Batch, Shape...) when the batch is fixed.
func (in InputSpec) full(batch int) []int {
	if in.Batch > 0 {
		batch = in.Batch
	}
	return append([]int{batch}, in.Shape...)
}

// Node is one application of a layer in a model.
type Node struct {
	// Name names the node's output: the layer's name at its first node,
	// "<layer>:<k>" at its k-th reuse (k = 1, 2, ...).
	Name string
	// Layer is the name of the layer applied.
	Layer string
	// Inputs names the tensors the layer is applied to: model inputs or
	// earlier nodes.
	Inputs []string
	// Shape is the per-sample output shape (batch dimension excluded) when
	// Batch is 0; otherwise the shape after the first axis.
	Shape []int
	// DType is the output's element type (Float32 for most layers).
	DType DType
	// Batch is 0 when the output's first axis is the symbolic batch given
	// at Build (the tensor is (batch, Shape...)); otherwise the output has
	// a fixed shape (Batch, Shape...). A node computed only from inputs of
	// a fixed batch has a fixed shape; its first axis need not be a batch
	// at all: a sum over axis 0 of a (4, 3) input is recorded as Batch 3,
	// Shape []. A node with any input of a symbolic batch keeps that batch
	// as its first axis.
	Batch int
}

// NamedLayer pairs a layer with its name in a model.
type NamedLayer struct {
	Name  string
	Layer Layer
}

// NewSequential declares a model over samples of the given shape (batch
// dimension excluded, e.g. [784]) from layers applied one after the other.
// Layers are named after their kind and position ("dense" layers are fc1,
// fc2, ...; the others kind1, kind2, ...), the input "input". It is a
// shorthand for Input, Apply and NewModel.
func NewSequential(input []int, layers ...Layer) (*Model, error) {
	named := make([]NamedLayer, len(layers))
	for i, l := range layers {
		if l == nil {
			return nil, fmt.Errorf("model: layer %d is nil", i)
		}
		named[i] = NamedLayer{Layer: l}
	}
	return NewNamed(input, named...)
}

// NewNamed is NewSequential with names chosen by the caller (an empty name
// is chosen automatically). Names must be unique.
func NewNamed(input []int, layers ...NamedLayer) (*Model, error) {
	return newNamed(input, nil, layers)
}

func newNamed(input []int, load ParamLoader, layers []NamedLayer) (*Model, error) {
	if len(layers) == 0 {
		return nil, fmt.Errorf("model: no layers")
	}
	x := Input("input", input...)
	if err := x.Err(); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	in := x
	seen := map[any]bool{}
	for i, nl := range layers {
		if nl.Layer == nil {
			return nil, fmt.Errorf("model: layer %d (%s) is nil", i, nl.Name)
		}
		// A stack applies each layer value once, even if one pointer is
		// listed twice.
		key := any(new(byte))
		if !seen[nl.Layer] && isPointer(nl.Layer) {
			key = nl.Layer
			seen[nl.Layer] = true
		}
		x = apply(nl.Name, key, nl.Layer, []*Tensor{x})
		if err := x.Err(); err != nil {
			return nil, fmt.Errorf("model: layer %d: %w", i, err)
		}
	}
	return newModel([]*Tensor{in}, []*Tensor{x}, load)
}

// Init draws every parameter from its layer's initialiser with a generator
// seeded by seed; parameters without one are set to zero. The same seed
// gives the same values.
func (m *Model) Init(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x7a9e_e7))
	for _, l := range m.layers {
		for _, ps := range l.specs {
			data := m.params[l.name+"."+ps.Name].Data().([]float32)
			clear(data)
			if ps.Init != nil {
				ps.Init(rng, ps.Shape, data)
			}
		}
	}
}

// Inputs returns the model's inputs.
func (m *Model) Inputs() []InputSpec {
	out := make([]InputSpec, len(m.inputs))
	for i, in := range m.inputs {
		out[i] = in
		out[i].Shape = slices.Clone(in.Shape)
	}
	return out
}

// FixedBatch returns the fixed batch of the model's first input when every
// input has a fixed batch (InputSpec.Batch > 0), and 0 when any input has
// a symbolic batch. A model of fixed batch FixedBatch is built and run
// only at that batch (see BuildWith).
func (m *Model) FixedBatch() int {
	for _, in := range m.inputs {
		if in.Batch == 0 {
			return 0
		}
	}
	return m.inputs[0].Batch
}

// Input returns the per-sample shape of the model's first input.
func (m *Model) Input() []int { return slices.Clone(m.inputs[0].Shape) }

// Layers returns the model's distinct layers, in order of first use.
func (m *Model) Layers() []NamedLayer {
	out := make([]NamedLayer, len(m.layers))
	for i, l := range m.layers {
		out[i] = NamedLayer{l.name, l.layer}
	}
	return out
}

// Nodes returns the model's nodes in an order where every node comes after
// the nodes it takes as inputs.
func (m *Model) Nodes() []Node {
	out := make([]Node, len(m.nodes))
	for i, n := range m.nodes {
		out[i] = n
		out[i].Inputs, out[i].Shape = slices.Clone(n.Inputs), slices.Clone(n.Shape)
	}
	return out
}

// Outputs returns the names of the nodes that are the model's outputs.
func (m *Model) Outputs() []string { return slices.Clone(m.outputs) }

// OutputShape returns the per-sample shape of output i.
func (m *Model) OutputShape(i int) []int { return slices.Clone(m.nodes[m.index[m.outputs[i]]].Shape) }

// OutputNode returns the node that computes output i: its name, shape,
// element type (DType) and batch (Batch: 0 for a symbolic batch, else the
// output's fixed first axis; see Node).
func (m *Model) OutputNode(i int) Node {
	n := m.nodes[m.index[m.outputs[i]]]
	n.Inputs, n.Shape = slices.Clone(n.Inputs), slices.Clone(n.Shape)
	return n
}

// OutputLayer returns the layer that computes output i.
func (m *Model) OutputLayer(i int) Layer { return m.layers[m.nodeLayer[m.index[m.outputs[i]]]].layer }

// Layer returns the layer of the given name, or nil.
func (m *Model) Layer(name string) Layer {
	if i, ok := m.byLayer[name]; ok {
		return m.layers[i].layer
	}
	return nil
}

// LayerParams returns the full names of a layer's parameters
// ("fc1.weight", ...), in declaration order.
func (m *Model) LayerParams(layer string) []string {
	i, ok := m.byLayer[layer]
	if !ok {
		return nil
	}
	var out []string
	for _, ps := range m.layers[i].specs {
		out = append(out, layer+"."+ps.Name)
	}
	return out
}

// IsSequential reports whether the model is a plain stack: one input, one
// output, each node applying a different layer to the node before it.
func (m *Model) IsSequential() bool {
	if len(m.inputs) != 1 || len(m.outputs) != 1 || len(m.nodes) != len(m.layers) || m.outputs[0] != m.nodes[len(m.nodes)-1].Name {
		return false
	}
	prev := m.inputs[0].Name
	for _, n := range m.nodes {
		if len(n.Inputs) != 1 || n.Inputs[0] != prev {
			return false
		}
		prev = n.Name
	}
	return true
}

// ParamNames returns the parameter names ("fc1.weight", ...) in model order.
func (m *Model) ParamNames() []string { return slices.Clone(m.order) }

// Param returns the tensor of a parameter, or nil if there is none of that
// name. It is the model's own tensor: writing to it changes the model.
func (m *Model) Param(name string) *tensor.Dense { return m.params[name] }

// ParamCount returns the number of values in all parameters, buffers
// included.
func (m *Model) ParamCount() int {
	n := 0
	for _, t := range m.params {
		n += t.Shape().TotalSize()
	}
	return n
}

// TrainableCount returns the number of values learned by gradient descent
// (ParamCount less the buffers).
func (m *Model) TrainableCount() int {
	n := 0
	for name, t := range m.params {
		if !m.buffers[name] {
			n += t.Shape().TotalSize()
		}
	}
	return n
}

// SampleValues returns the number of values the model's inputs and nodes
// hold for one sample: a batch of B samples keeps at least 4·B·SampleValues
// bytes of activations (ops may need scratch space on top). Inputs and
// nodes of a fixed shape (Batch > 0), whose size does not grow with the
// batch, are not counted.
func (m *Model) SampleValues() int {
	n := 0
	for _, in := range m.inputs {
		if in.Batch == 0 {
			n += shapeSize(in.Shape)
		}
	}
	for _, nd := range m.nodes {
		if nd.Batch == 0 {
			n += shapeSize(nd.Shape)
		}
	}
	return n
}

// IsBuffer reports whether the named parameter is a buffer (saved, not
// learned; see ParamSpec.Buffer).
func (m *Model) IsBuffer(name string) bool { return m.buffers[name] }

// SetParam copies values into a parameter; the shape must match exactly.
func (m *Model) SetParam(name string, shape []int, values []float32) error {
	t, ok := m.params[name]
	if !ok {
		return fmt.Errorf("model has no parameter %q (has %v)", name, m.order)
	}
	if !slices.Equal([]int(t.Shape()), shape) {
		return fmt.Errorf("parameter %s: shape %v, model wants %v", name, shape, []int(t.Shape()))
	}
	data := t.Data().([]float32)
	if len(values) != len(data) {
		return fmt.Errorf("parameter %s: %d values for shape %v", name, len(values), shape)
	}
	copy(data, values)
	return nil
}

// Spec is the JSON form of a model's architecture (not its weights).
//
// Format SpecFormat ("tapenet.model/v2") lists Inputs, Layers (each with
// its kind and configuration), Nodes in an order where each node's inputs
// come first, and Outputs (node names). A node's output is named after its
// layer, "<layer>:<k>" for the layer's k-th reuse. A two-layer example:
//
//	{"format": "tapenet.model/v2",
//	 "inputs": [{"name": "input", "shape": [784]}],
//	 "layers": [{"name": "fc1", "kind": "dense", "config": {"units": 10}},
//	            {"name": "softmax1", "kind": "softmax"}],
//	 "nodes": [{"layer": "fc1", "inputs": ["input"]},
//	           {"layer": "softmax1", "inputs": ["fc1"]}],
//	 "outputs": ["softmax1"]}
//
// Format SequentialSpecFormat ("tapenet.sequential/v1") has Input (the
// per-sample shape) and Layers applied in order.
type Spec struct {
	Format  string      `json:"format"`
	Input   []int       `json:"input,omitempty"`
	Inputs  []InputSpec `json:"inputs,omitempty"`
	Layers  []LayerSpec `json:"layers"`
	Nodes   []NodeSpec  `json:"nodes,omitempty"`
	Outputs []string    `json:"outputs,omitempty"`
}

// LayerSpec is one layer of a Spec.
type LayerSpec struct {
	Name   string          `json:"name"`
	Kind   string          `json:"kind"`
	Config json.RawMessage `json:"config,omitempty"`
}

// NodeSpec is one node of a Spec: a layer applied to named tensors.
type NodeSpec struct {
	Layer  string   `json:"layer"`
	Inputs []string `json:"inputs"`
}

// Spec returns the model's architecture as JSON-ready values.
func (m *Model) Spec() (Spec, error) {
	s := Spec{Format: SpecFormat, Inputs: m.Inputs(), Outputs: m.Outputs()}
	for _, l := range m.layers {
		cfg, err := json.Marshal(l.layer)
		if err != nil {
			return Spec{}, fmt.Errorf("layer %s: encode config: %w", l.name, err)
		}
		if string(cfg) == "{}" || string(cfg) == "null" {
			cfg = nil
		}
		s.Layers = append(s.Layers, LayerSpec{Name: l.name, Kind: l.layer.Kind(), Config: cfg})
	}
	for _, n := range m.nodes {
		s.Nodes = append(s.Nodes, NodeSpec{Layer: n.Layer, Inputs: slices.Clone(n.Inputs)})
	}
	return s, nil
}

// MarshalJSON encodes the model's Spec.
func (m *Model) MarshalJSON() ([]byte, error) {
	s, err := m.Spec()
	if err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

// MaxLayers caps the number of layers and of nodes of a spec read by
// FromSpec.
const MaxLayers = 100_000

// FromSpec builds a model (with zero parameters) from a JSON Spec of either
// format, decoding layers with reg (DefaultRegistry() when nil).
func FromSpec(data []byte, reg *Registry) (*Model, error) {
	return fromSpec(data, reg, nil)
}

// ParamInfo describes a parameter a model declares.
type ParamInfo struct {
	Name   string // full name, "<layer>.<param>"
	Shape  []int
	Buffer bool // saved, not learned (ParamSpec.Buffer)
}

// ParamLoader supplies the values of a model's parameters as it is built:
// it is called once with every parameter in model order (the order of
// Model.ParamNames), after the whole spec is decoded and every shape
// checked, and before any parameter is allocated. It returns one slice per
// parameter, of exactly its shape's size, which the model then owns.
type ParamLoader func(params []ParamInfo) ([][]float32, error)

// FromSpecParams is FromSpec for a reader that holds the parameter values
// (a checkpoint): load sees the names and shapes the spec declares before
// anything of their size is allocated, so it can check them against what
// the file holds first, and then gives the values, which the model uses
// without copying. An error from load is returned unwrapped.
func FromSpecParams(data []byte, reg *Registry, load ParamLoader) (*Model, error) {
	if load == nil {
		return nil, fmt.Errorf("model spec: nil ParamLoader")
	}
	m, err := fromSpec(data, reg, load)
	var le *loadError
	if errors.As(err, &le) {
		return nil, le.err
	}
	return m, err
}

// loadError carries a ParamLoader's error out through the builders'
// wrapping, to be returned as it is.
type loadError struct{ err error }

func (e *loadError) Error() string { return e.err.Error() }
func (e *loadError) Unwrap() error { return e.err }

func fromSpec(data []byte, reg *Registry, load ParamLoader) (*Model, error) {
	if reg == nil {
		reg = DefaultRegistry()
	}
	if err := checkSpecCounts(data); err != nil {
		return nil, err
	}
	var s Spec
	if err := strictUnmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("model spec: %w", err)
	}
	if len(s.Layers) > MaxLayers || len(s.Nodes) > MaxLayers {
		return nil, fmt.Errorf("model spec: %d layers and %d nodes; at most %d each", len(s.Layers), len(s.Nodes), MaxLayers)
	}
	layers := make([]NamedLayer, len(s.Layers))
	for i, ls := range s.Layers {
		l, err := reg.Decode(ls.Kind, ls.Config)
		if err != nil {
			return nil, fmt.Errorf("model spec: layer %d (%s): %w", i, ls.Name, err)
		}
		layers[i] = NamedLayer{Name: ls.Name, Layer: l}
	}
	switch s.Format {
	case SequentialSpecFormat:
		if len(s.Inputs) > 0 || len(s.Nodes) > 0 || len(s.Outputs) > 0 {
			return nil, fmt.Errorf("model spec: format %q has no inputs, nodes or outputs", s.Format)
		}
		for i, l := range layers {
			if l.Name == "" {
				return nil, fmt.Errorf("model spec: layer %d has no name", i)
			}
		}
		m, err := newNamed(s.Input, load, layers)
		if err != nil {
			return nil, fmt.Errorf("model spec: %w", err)
		}
		return m, nil
	case SpecFormat:
	default:
		return nil, fmt.Errorf("model spec: format %q, want %q or %q", s.Format, SpecFormat, SequentialSpecFormat)
	}
	if len(s.Input) > 0 {
		return nil, fmt.Errorf("model spec: format %q has inputs, not input", s.Format)
	}
	tensors := map[string]*Tensor{}
	var inputs []*Tensor
	for _, in := range s.Inputs {
		if _, dup := tensors[in.Name]; dup {
			return nil, fmt.Errorf("model spec: name %q repeated", in.Name)
		}
		t := Input(in.Name, in.Shape...).As(in.DType).WithBatch(in.Batch)
		if err := t.Err(); err != nil {
			return nil, fmt.Errorf("model spec: %w", err)
		}
		tensors[in.Name] = t
		inputs = append(inputs, t)
	}
	byName := map[string]int{}
	for i, l := range layers {
		if l.Name == "" {
			return nil, fmt.Errorf("model spec: layer %d has no name", i)
		}
		if _, dup := byName[l.Name]; dup {
			return nil, fmt.Errorf("model spec: layer name %q repeated", l.Name)
		}
		byName[l.Name] = i
	}
	keys := make([]any, len(layers)) // one identity per layer: reuse shares parameters
	for i := range keys {
		keys[i] = new(byte)
	}
	uses := make([]int, len(layers))
	for i, n := range s.Nodes {
		li, ok := byName[n.Layer]
		if !ok {
			return nil, fmt.Errorf("model spec: node %d: no layer %q", i, n.Layer)
		}
		xs := make([]*Tensor, len(n.Inputs))
		for j, name := range n.Inputs {
			if xs[j] = tensors[name]; xs[j] == nil {
				return nil, fmt.Errorf("model spec: node %d (%s): input %q is not an input or an earlier node", i, n.Layer, name)
			}
		}
		name := n.Layer
		if uses[li] > 0 {
			name = fmt.Sprintf("%s:%d", n.Layer, uses[li])
		}
		uses[li]++
		if _, dup := tensors[name]; dup {
			return nil, fmt.Errorf("model spec: name %q repeated", name)
		}
		t := apply(n.Layer, keys[li], layers[li].Layer, xs)
		if err := t.Err(); err != nil {
			return nil, fmt.Errorf("model spec: node %d: %w", i, err)
		}
		tensors[name] = t
	}
	for i, u := range uses {
		if u == 0 {
			return nil, fmt.Errorf("model spec: layer %s is not used by any node", layers[i].Name)
		}
	}
	var outputs []*Tensor
	for _, name := range s.Outputs {
		t := tensors[name]
		if t == nil {
			return nil, fmt.Errorf("model spec: output %q is not a node", name)
		}
		outputs = append(outputs, t)
	}
	m, err := newModel(inputs, outputs, load)
	if err != nil {
		return nil, fmt.Errorf("model spec: %w", err)
	}
	if len(m.nodes) != len(s.Nodes) {
		return nil, fmt.Errorf("model spec: %d nodes, of which %d lead to an output", len(s.Nodes), len(m.nodes))
	}
	return m, nil
}

// checkSpecCounts refuses a spec of more than MaxLayers layers, nodes,
// inputs or outputs after reading at most that many of them: a spec of a
// million layers fails in the time it takes to skim MaxLayers of them, not
// to decode them all. Anything else wrong is left to the full decoding.
func checkSpecCounts(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := t.(string)
		switch key {
		case "layers", "nodes", "inputs", "outputs":
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				return nil
			}
			n := 0
			for dec.More() {
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return nil
				}
				if n++; n > MaxLayers {
					return fmt.Errorf("model spec: more than %d %s (at most %d)", MaxLayers, key, MaxLayers)
				}
			}
			if _, err := dec.Token(); err != nil {
				return nil
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil
			}
		}
	}
	return nil
}

func isPointer(l Layer) bool {
	return l != nil && reflect.ValueOf(l).Kind() == reflect.Pointer
}

// MaxElements caps the size of any one tensor a model declares (input
// sample or parameter), so a hostile spec cannot demand huge allocations.
const MaxElements = 1 << 28

// MaxParams caps the number of parameter values of a model (1 GiB of
// float32), checked before any is allocated.
const MaxParams = 1 << 28

// checkInputShape is checkShape for an input's sample shape, which may
// also be empty (scalar samples).
func checkInputShape(shape []int) error {
	if len(shape) == 0 {
		return nil
	}
	return checkShape(shape)
}

func checkShape(shape []int) error {
	if len(shape) == 0 || len(shape) > 6 {
		return fmt.Errorf("shape %v: want 1 to 6 dimensions", shape)
	}
	n := 1
	for _, d := range shape {
		if d < 1 || d > MaxElements {
			return fmt.Errorf("shape %v: dimension %d out of range", shape, d)
		}
		n *= d
		if n > MaxElements {
			return fmt.Errorf("shape %v: more than %d elements", shape, MaxElements)
		}
	}
	return nil
}
