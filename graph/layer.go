package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Layer is one step of a model: it adds its computation to a Gorgonia graph.
//
// A layer value is its configuration: it is encoded to JSON with
// encoding/json (exported fields) under its Kind, and decoded by the
// constructor registered for that kind. Learnable tensors are not part of
// the value; they belong to the model (see ParamLayer).
type Layer interface {
	// Kind names the layer type in model specs, e.g. "dense" or "relu".
	Kind() string
	// Forward adds the layer's nodes computing on x (whose first dimension
	// is the batch) to x's graph and returns the output node.
	Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error)
}

// ParamLayer is a Layer with learnable parameters.
type ParamLayer interface {
	Layer
	// Params declares the layer's parameters for inputs of the given
	// per-sample shape (batch dimension excluded).
	Params(in []int) ([]ParamSpec, error)
}

// ParamSpec declares one learnable tensor of a layer.
type ParamSpec struct {
	// Name is the parameter's name within its layer, e.g. "weight".
	Name string
	// Shape is the tensor's shape.
	Shape []int
	// Init fills a new tensor; nil leaves it zero.
	Init Initializer
	// Buffer marks state that is saved with the model but not learned by
	// gradient descent (PyTorch's buffers, Keras's non-trainable weights),
	// such as batch normalisation's running statistics. Buffers are not
	// bound as learnables in training graphs.
	Buffer bool
}

// Initializer fills data (a tensor of the given shape) with initial values
// drawn from rng.
type Initializer func(rng *rand.Rand, shape []int, data []float32)

// HeNormal draws from N(0, 2/fanIn), suited to ReLU layers (He et al. 2015).
func HeNormal(rng *rand.Rand, shape []int, data []float32) {
	std := math.Sqrt(2 / float64(fanIn(shape)))
	for i := range data {
		data[i] = float32(rng.NormFloat64() * std)
	}
}

// XavierNormal draws from N(0, 1/fanIn), the book's choice for sigmoid and
// tanh layers (Glorot & Bengio 2010, as simplified in the book).
func XavierNormal(rng *rand.Rand, shape []int, data []float32) {
	std := math.Sqrt(1 / float64(fanIn(shape)))
	for i := range data {
		data[i] = float32(rng.NormFloat64() * std)
	}
}

// Normal returns an initialiser drawing from N(0, std²) whatever the fan-in:
// the book's weight_init_std (0.01 in its TwoLayerNet and SimpleConvNet).
// Layers name it "normal:STD" in their Init field.
func Normal(std float64) Initializer {
	return func(rng *rand.Rand, _ []int, data []float32) {
		for i := range data {
			data[i] = float32(rng.NormFloat64() * std)
		}
	}
}

// fanIn is the number of inputs feeding one output unit: all dimensions but
// the last for an (in, out) matrix, all but the first for (out, in, kh, kw)
// kernels (rank > 2).
func fanIn(shape []int) int {
	n := 1
	switch {
	case len(shape) == 2:
		n = shape[0]
	case len(shape) > 2:
		for _, d := range shape[1:] {
			n *= d
		}
	}
	return max(n, 1)
}

// Merger is a Layer that also takes several inputs, such as Add, Multiply
// and Concat. Apply calls Merge when a layer is applied to more than one
// tensor, Forward when to one.
type Merger interface {
	Layer
	// Merge adds the layer's nodes computing on xs (each with the batch as
	// first dimension) and returns the output node.
	Merge(s *Scope, xs []*gorgonia.Node) (*gorgonia.Node, error)
}

// Scope is what a layer sees while it adds nodes: its graph, its name, its
// parameters and whether the graph is for training. Layers reach their
// parameters only through it; the built-in layers use nothing else.
type Scope struct {
	g        *gorgonia.ExprGraph
	name     string
	training bool
	rng      *rand.Rand                // BuildOptions.Rand
	m        *Model                    // nil while a shape is inferred
	decl     map[string][]int          // parameter shapes by local name, while inferring
	cache    map[string]*gorgonia.Node // parameter nodes of this graph, by full name
}

// Graph returns the graph being built.
func (s *Scope) Graph() *gorgonia.ExprGraph { return s.g }

// Name returns the layer's name in its model, e.g. "fc1".
func (s *Scope) Name() string { return s.name }

// Training reports whether the graph is built for training (layers such as
// dropout behave differently).
func (s *Scope) Training() bool { return s.training }

// Rand returns the generator of BuildOptions.Rand, or nil when the graph
// was built without one. A layer that draws random numbers while training
// (as Dropout does) draws them from it, when the graph runs, so that a
// seeded trainer reproduces them; without one it seeds its own.
func (s *Scope) Rand() *rand.Rand { return s.rng }

// NodeName returns the name for one of the layer's nodes: "<layer>.<part>".
func (s *Scope) NodeName(part string) string { return s.name + "." + part }

// Param returns the node holding the layer's parameter name, named
// "<layer>.<name>". Its value shares its numbers with the model's tensor
// (every graph of the model sees an optimiser step made in one) through a
// tensor header of the graph's own, so compiling graphs of one model
// concurrently writes nothing shared. A layer applied at several nodes gets
// the same parameter node at each, so gradients add up.
func (s *Scope) Param(name string) (*gorgonia.Node, error) {
	full := s.NodeName(name)
	if n, ok := s.cache[full]; ok {
		return n, nil
	}
	var n *gorgonia.Node
	if s.m == nil {
		shape, ok := s.decl[name]
		if !ok {
			return nil, fmt.Errorf("layer %s: no parameter %q declared", s.name, name)
		}
		n = gorgonia.NewTensor(s.g, tensor.Float32, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName(full))
	} else {
		t, ok := s.m.params[full]
		if !ok {
			return nil, fmt.Errorf("layer %s: no parameter %q declared", s.name, name)
		}
		shape := t.Shape().Clone()
		view := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(t.Data()))
		n = gorgonia.NewTensor(s.g, t.Dtype(), len(shape), gorgonia.WithShape(shape...), gorgonia.WithValue(view), gorgonia.WithName(full))
	}
	s.cache[full] = n
	return n, nil
}

// Buffer returns the model's own tensor of one of the layer's buffers
// (ParamSpec.Buffer), for a layer that updates it in place while training,
// as BatchNorm does with its running statistics. Only training graphs may
// write to it, and only one training graph of a model may run at a time.
func (s *Scope) Buffer(name string) (*tensor.Dense, error) {
	full := s.NodeName(name)
	if s.m == nil {
		shape, ok := s.decl[name]
		if !ok {
			return nil, fmt.Errorf("layer %s: no buffer %q declared", s.name, name)
		}
		return tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32)), nil
	}
	t, ok := s.m.params[full]
	if !ok || !s.m.buffers[full] {
		return nil, fmt.Errorf("layer %s: no buffer %q declared", s.name, name)
	}
	return t, nil
}

// ErrUnknownKind is wrapped by the error of Registry.Decode (and so of
// FromSpec) for a layer kind the registry does not hold: a spec that may be
// valid, written by a program that registered that kind.
var ErrUnknownKind = errors.New("unknown layer kind")

// Constructor returns a new zero value of a layer kind, ready to be decoded
// from its JSON configuration.
type Constructor func() Layer

// Registry maps layer kinds to constructors. The zero value is empty and
// ready to use; it is safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	kinds map[string]Constructor
}

// Register makes a layer kind decodable from model specs. Registering a kind
// twice is an error.
func (r *Registry) Register(kind string, c Constructor) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if kind == "" || c == nil {
		return fmt.Errorf("register layer: empty kind or nil constructor")
	}
	if _, dup := r.kinds[kind]; dup {
		return fmt.Errorf("register layer: kind %q already registered", kind)
	}
	if r.kinds == nil {
		r.kinds = map[string]Constructor{}
	}
	r.kinds[kind] = c
	return nil
}

// Kinds returns the registered kinds, sorted.
func (r *Registry) Kinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ks := make([]string, 0, len(r.kinds))
	for k := range r.kinds {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Decode builds a layer of the given kind from its JSON configuration.
// Unknown configuration fields are an error.
func (r *Registry) Decode(kind string, config json.RawMessage) (Layer, error) {
	r.mu.RLock()
	c, ok := r.kinds[kind]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknownKind, kind, r.Kinds())
	}
	l := c()
	if len(config) > 0 && string(config) != "null" {
		if err := strictUnmarshal(config, l); err != nil {
			return nil, fmt.Errorf("layer kind %q: config: %w", kind, err)
		}
	}
	if l.Kind() != kind {
		return nil, fmt.Errorf("layer kind %q: constructor made a %q", kind, l.Kind())
	}
	return l, nil
}

// defaultRegistry is the registry of DefaultRegistry: this package's
// kinds, and those packages add from their init functions.
var defaultRegistry = Builtin()

// DefaultRegistry returns the process-wide registry that FromSpec,
// FromSpecParams and checkpoint.Read use when given a nil registry. It
// holds every kind of this package and whatever kinds other packages add
// with RegisterDefault, as image.RegisterFormat does for image formats:
// importing a package (models, onnximport, or one of your own) makes its
// kinds decodable everywhere. It is safe for concurrent use; it is the
// same registry at every call.
func DefaultRegistry() *Registry { return defaultRegistry }

// RegisterDefault adds a layer kind to DefaultRegistry. Call it from the
// init function of the package that defines the layer; registering a kind
// twice is an error.
func RegisterDefault(kind string, c Constructor) error {
	return defaultRegistry.Register(kind, c)
}

// Builtin returns a new Registry holding every layer kind of this package
// (not those added to DefaultRegistry). Add your own kinds to it with
// Register.
func Builtin() *Registry {
	r := &Registry{kinds: map[string]Constructor{}}
	for _, c := range builtins() {
		r.kinds[c().Kind()] = c
	}
	return r
}
