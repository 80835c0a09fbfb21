package graph

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SpecFormat identifies the JSON model spec written by Spec.
const SpecFormat = "tapenet.sequential/v1"

// Sequential is a model whose layers run one after another. It owns the
// parameters: one tensor per declared parameter, named "<layer>.<param>",
// shared by every graph compiled from the model.
type Sequential struct {
	input   []int
	names   []string
	layers  []Layer
	shapes  [][]int // per-sample output shape of each layer
	params  map[string]*tensor.Dense
	buffers map[string]bool // names of parameters that are buffers
	order   []string        // parameter names in model order
}

// NamedLayer pairs a layer with its name in a model.
type NamedLayer struct {
	Name  string
	Layer Layer
}

// NewSequential declares a model over samples of the given shape (batch
// dimension excluded, e.g. [784]) from layers in order. Layers are named
// after their kind and position ("dense" layers are fc1, fc2, ...; the
// others kind1, kind2, ...). Parameters are allocated with zero values:
// call Init for random ones. Shapes are checked through the whole model.
func NewSequential(input []int, layers ...Layer) (*Sequential, error) {
	named := make([]NamedLayer, len(layers))
	count := map[string]int{}
	for i, l := range layers {
		if l == nil {
			return nil, fmt.Errorf("layer %d is nil", i)
		}
		prefix := l.Kind()
		if prefix == "dense" {
			prefix = "fc"
		}
		count[prefix]++
		named[i] = NamedLayer{Name: fmt.Sprintf("%s%d", prefix, count[prefix]), Layer: l}
	}
	return NewNamed(input, named...)
}

// NewNamed is NewSequential with names chosen by the caller. Names must be
// unique and non-empty.
func NewNamed(input []int, layers ...NamedLayer) (*Sequential, error) {
	if err := checkShape(input); err != nil {
		return nil, fmt.Errorf("model: input: %w", err)
	}
	if len(layers) == 0 {
		return nil, fmt.Errorf("model: no layers")
	}
	m := &Sequential{input: slices.Clone(input), params: map[string]*tensor.Dense{}, buffers: map[string]bool{}}
	seen := map[string]bool{}
	for _, nl := range layers {
		if nl.Name == "" || seen[nl.Name] {
			return nil, fmt.Errorf("model: layer name %q is empty or repeated", nl.Name)
		}
		if nl.Layer == nil {
			return nil, fmt.Errorf("model: layer %s is nil", nl.Name)
		}
		seen[nl.Name] = true
		m.names = append(m.names, nl.Name)
		m.layers = append(m.layers, nl.Layer)
	}
	// Declare parameters and infer shapes layer by layer on a batch of one.
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, len(input)+1, gorgonia.WithShape(append([]int{1}, input...)...), gorgonia.WithName("input"))
	for i, l := range m.layers {
		if pl, ok := l.(ParamLayer); ok {
			specs, err := pl.Params(x.Shape()[1:])
			if err != nil {
				return nil, fmt.Errorf("model: layer %s: %w", m.names[i], err)
			}
			for _, ps := range specs {
				full := m.names[i] + "." + ps.Name
				if _, dup := m.params[full]; dup {
					return nil, fmt.Errorf("model: layer %s declares parameter %q twice", m.names[i], ps.Name)
				}
				if err := checkShape(ps.Shape); err != nil {
					return nil, fmt.Errorf("model: parameter %s: %w", full, err)
				}
				m.params[full] = tensor.New(tensor.WithShape(ps.Shape...), tensor.Of(tensor.Float32))
				m.order = append(m.order, full)
				if ps.Buffer {
					m.buffers[full] = true
				}
			}
		}
		s := &Scope{g: g, name: m.names[i], params: m.params, buffers: m.buffers}
		y, err := l.Forward(s, x)
		if err != nil {
			return nil, fmt.Errorf("model: layer %s (%s) on input %v: %w", m.names[i], l.Kind(), []int(x.Shape()[1:]), err)
		}
		m.shapes = append(m.shapes, slices.Clone([]int(y.Shape()[1:])))
		x = y
	}
	return m, nil
}

// Init draws every parameter from its layer's initialiser with a generator
// seeded by seed; parameters without one are set to zero. The same seed
// gives the same values.
func (m *Sequential) Init(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x7a9e_e7))
	for i, l := range m.layers {
		pl, ok := l.(ParamLayer)
		if !ok {
			continue
		}
		in := m.input
		if i > 0 {
			in = m.shapes[i-1]
		}
		specs, _ := pl.Params(in) // succeeded in NewNamed
		for _, ps := range specs {
			t := m.params[m.names[i]+"."+ps.Name]
			data := t.Data().([]float32)
			clear(data)
			if ps.Init != nil {
				ps.Init(rng, ps.Shape, data)
			}
		}
	}
}

// Input returns the per-sample input shape.
func (m *Sequential) Input() []int { return slices.Clone(m.input) }

// Layers returns the named layers in order.
func (m *Sequential) Layers() []NamedLayer {
	out := make([]NamedLayer, len(m.layers))
	for i := range m.layers {
		out[i] = NamedLayer{m.names[i], m.layers[i]}
	}
	return out
}

// OutputShape returns the per-sample output shape of layer i.
func (m *Sequential) OutputShape(i int) []int { return slices.Clone(m.shapes[i]) }

// ParamNames returns the parameter names ("fc1.weight", ...) in model order.
func (m *Sequential) ParamNames() []string { return slices.Clone(m.order) }

// Param returns the tensor of a parameter, or nil if there is none of that
// name. It is the model's own tensor: writing to it changes the model.
func (m *Sequential) Param(name string) *tensor.Dense { return m.params[name] }

// ParamCount returns the number of values in all parameters, buffers
// included.
func (m *Sequential) ParamCount() int {
	n := 0
	for _, t := range m.params {
		n += t.Shape().TotalSize()
	}
	return n
}

// TrainableCount returns the number of values learned by gradient descent
// (ParamCount less the buffers).
func (m *Sequential) TrainableCount() int {
	n := 0
	for name, t := range m.params {
		if !m.buffers[name] {
			n += t.Shape().TotalSize()
		}
	}
	return n
}

// IsBuffer reports whether the named parameter is a buffer (saved, not
// learned; see ParamSpec.Buffer).
func (m *Sequential) IsBuffer(name string) bool { return m.buffers[name] }

// SetParam copies values into a parameter; the shape must match exactly.
func (m *Sequential) SetParam(name string, shape []int, values []float32) error {
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

// Spec is the JSON form of a Sequential model's architecture (not its
// weights).
type Spec struct {
	Format string      `json:"format"`
	Input  []int       `json:"input"`
	Layers []LayerSpec `json:"layers"`
}

// LayerSpec is one layer of a Spec.
type LayerSpec struct {
	Name   string          `json:"name"`
	Kind   string          `json:"kind"`
	Config json.RawMessage `json:"config,omitempty"`
}

// Spec returns the model's architecture as JSON-ready values.
func (m *Sequential) Spec() (Spec, error) {
	s := Spec{Format: SpecFormat, Input: m.Input()}
	for i, l := range m.layers {
		cfg, err := json.Marshal(l)
		if err != nil {
			return Spec{}, fmt.Errorf("layer %s: encode config: %w", m.names[i], err)
		}
		if string(cfg) == "{}" || string(cfg) == "null" {
			cfg = nil
		}
		s.Layers = append(s.Layers, LayerSpec{Name: m.names[i], Kind: l.Kind(), Config: cfg})
	}
	return s, nil
}

// MarshalJSON encodes the model's Spec.
func (m *Sequential) MarshalJSON() ([]byte, error) {
	s, err := m.Spec()
	if err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

// FromSpec builds a model (with zero parameters) from a JSON Spec, decoding
// layers with reg (Builtin() when nil).
func FromSpec(data []byte, reg *Registry) (*Sequential, error) {
	if reg == nil {
		reg = Builtin()
	}
	var s Spec
	if err := strictUnmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("model spec: %w", err)
	}
	if s.Format != SpecFormat {
		return nil, fmt.Errorf("model spec: format %q, want %q", s.Format, SpecFormat)
	}
	layers := make([]NamedLayer, len(s.Layers))
	for i, ls := range s.Layers {
		l, err := reg.Decode(ls.Kind, ls.Config)
		if err != nil {
			return nil, fmt.Errorf("model spec: layer %d (%s): %w", i, ls.Name, err)
		}
		layers[i] = NamedLayer{Name: ls.Name, Layer: l}
	}
	m, err := NewNamed(s.Input, layers...)
	if err != nil {
		return nil, fmt.Errorf("model spec: %w", err)
	}
	return m, nil
}

// MaxElements caps the size of any one tensor a model declares (input
// sample or parameter), so a hostile spec cannot demand huge allocations.
const MaxElements = 1 << 28

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
