package graph

import (
	"fmt"
	"slices"
	"strings"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Tensor is a symbolic tensor of a model being declared: a model input
// (Input) or the output of a layer applied to tensors (Apply). It holds no
// values; NewModel turns the tensors between a model's inputs and outputs
// into a Model.
//
// A Tensor carries the first error met while declaring it (a shape that
// does not fit a layer, say); Apply passes it on and NewModel returns it,
// so a model is declared without checking an error at every line.
type Tensor struct {
	call *call
	err  error
}

// call is one application of a layer (or a model input when layer is nil).
type call struct {
	layer  Layer
	key    any    // layer identity: the same key means shared parameters
	name   string // input name, or the layer name asked for ("" = automatic)
	inputs []*Tensor
	shape  []int // output shape after the first axis (see Node.Shape)
	dtype  DType // output element type ("" = Float32)
	batch  int   // 0: the first axis is the symbolic batch; > 0 its fixed size
}

// Shape returns the per-sample shape of t (batch dimension excluded), or
// nil if t has an error. For a tensor of a fixed batch (Batch > 0) it is
// the shape after the first axis.
func (t *Tensor) Shape() []int {
	if t == nil || t.err != nil {
		return nil
	}
	return slices.Clone(t.call.shape)
}

// DType returns the element type of t (Float32 unless declared otherwise
// with As, or made by a layer of another type), or "" if t has an error.
func (t *Tensor) DType() DType {
	if t == nil || t.err != nil {
		return ""
	}
	return t.call.dtype.Or()
}

// Batch returns the fixed size of t's first axis, or 0 when it is the
// symbolic batch given at Build (see Node.Batch).
func (t *Tensor) Batch() int {
	if t == nil || t.err != nil {
		return 0
	}
	return t.call.batch
}

// As returns the model input t declared with element type d instead of
// float32, e.g. Input("tokens", 32).As(Int64) for token ids. It is valid
// only on a model input (not on a layer's output); otherwise, or for an
// unknown type, the returned tensor carries the error. t itself is left as
// it was: use the returned tensor as the model input.
func (t *Tensor) As(d DType) *Tensor {
	if err := t.Err(); err != nil {
		return t
	}
	if t.call.layer != nil {
		return &Tensor{err: fmt.Errorf("as %s: the output of a %s layer is not a model input; only inputs are declared with a type", d, t.call.layer.Kind())}
	}
	pd, err := ParseDType(string(d))
	if err != nil {
		return &Tensor{err: fmt.Errorf("input %s: %w", t.call.name, err)}
	}
	c := *t.call
	c.dtype = pd
	if pd == Float32 {
		c.dtype = "" // the zero value: spec bytes as before types existed
	}
	return &Tensor{call: &c}
}

// WithBatch returns the model input t with a fixed batch of n: the tensor
// is then (n, Shape...), always, and layers may work along its first axis
// (a sum over axis 0, say), as they may not along a symbolic batch. n = 0
// makes the batch symbolic again. It is valid only on a model input;
// otherwise, or for a negative n or a tensor too large, the returned
// tensor carries the error. t itself is left as it was.
func (t *Tensor) WithBatch(n int) *Tensor {
	if err := t.Err(); err != nil {
		return t
	}
	if t.call.layer != nil {
		return &Tensor{err: fmt.Errorf("with batch %d: the output of a %s layer is not a model input; only inputs have a declared batch", n, t.call.layer.Kind())}
	}
	if n < 0 || n > MaxElements || n*max(1, shapeSize(t.call.shape)) > MaxElements {
		return &Tensor{err: fmt.Errorf("input %s: fixed batch %d of samples %v out of range (at most %d values)", t.call.name, n, t.call.shape, MaxElements)}
	}
	c := *t.call
	c.batch = n
	return &Tensor{call: &c}
}

// Err returns the error met while declaring t or the tensors it depends on.
func (t *Tensor) Err() error {
	if t == nil {
		return fmt.Errorf("nil tensor")
	}
	return t.err
}

// Input declares a model input: float32 samples of the given shape (batch
// dimension excluded), e.g. Input("image", 1, 28, 28). Its name names the
// input in specs, exports and Program.Inputs. As declares another element
// type, WithBatch a fixed batch. An empty shape declares scalar samples: the
// tensor is (batch).
func Input(name string, shape ...int) *Tensor {
	if name == "" {
		return &Tensor{err: fmt.Errorf("input: empty name")}
	}
	if err := checkInputShape(shape); err != nil {
		return &Tensor{err: fmt.Errorf("input %s: %w", name, err)}
	}
	return &Tensor{call: &call{name: name, shape: append([]int{}, shape...)}} // [] rather than null in specs
}

// Apply applies a layer to tensors and returns its output. A single input
// goes to Layer.Forward; several go to Merger.Merge, so only mergers (Add,
// Multiply, Concat, or a layer of your own) take more than one.
//
// Applying the same layer twice shares its parameters (weight tying). A
// layer is the same when it is the same pointer (&graph.Dense{...} kept in
// a variable); a layer that is not a pointer (graph.ReLU{}) is a new layer
// at every Apply, which is harmless as such layers have no parameters.
// Layers are named by NewModel after their kind and order (fc1, relu2, ...);
// ApplyNamed chooses the name.
func Apply(l Layer, inputs ...*Tensor) *Tensor { return ApplyNamed("", l, inputs...) }

// ApplyNamed is Apply with the layer's name chosen by the caller. Applying a
// layer again may repeat its name or leave it empty.
func ApplyNamed(name string, l Layer, inputs ...*Tensor) *Tensor {
	var key any
	if isPointer(l) {
		key = l
	} else {
		key = new(byte)
	}
	return apply(name, key, l, inputs)
}

func apply(name string, key any, l Layer, inputs []*Tensor) *Tensor {
	if l == nil {
		return &Tensor{err: fmt.Errorf("apply: nil layer")}
	}
	fail := func(err error) *Tensor {
		return &Tensor{err: &LayerError{Layer: name, Kind: l.Kind(), Err: err}}
	}
	if len(inputs) == 0 {
		return fail(fmt.Errorf("no inputs"))
	}
	args := make([]arg, len(inputs))
	for i, in := range inputs {
		if err := in.Err(); err != nil {
			return &Tensor{err: err}
		}
		args[i] = arg{shape: in.call.shape, dtype: in.call.dtype, batch: in.call.batch}
	}
	types := make([]DType, len(args))
	for i, a := range args {
		types[i] = a.dtype.Or()
	}
	if err := checkTypes(l, types); err != nil {
		return fail(err)
	}
	c := &call{layer: l, key: key, name: name, inputs: slices.Clone(inputs)}
	out, err := inferShape(c.layer, args)
	if err != nil {
		return fail(fmt.Errorf("applied to %s: %w", argsString(args), err))
	}
	c.shape, c.dtype, c.batch = out.shape, out.dtype, out.batch
	return &Tensor{call: c}
}

// arg is what shape inference knows of a tensor: its shape after the first
// axis, its element type and its batch (0 symbolic, > 0 fixed).
type arg struct {
	shape []int
	dtype DType
	batch int
}

// full returns the tensor's whole shape for a symbolic batch of size b.
func (a arg) full(b int) []int {
	if a.batch > 0 {
		b = a.batch
	}
	return append([]int{b}, a.shape...)
}

func (a arg) String() string {
	s := fmt.Sprint(a.shape)
	if a.batch > 0 {
		s = fmt.Sprint(a.full(0))
	}
	if d := a.dtype.Or(); d != Float32 {
		s += " " + string(d)
	}
	return s
}

func argsString(args []arg) string {
	if len(args) == 1 {
		return args[0].String()
	}
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = a.String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// inferShape runs the layer on placeholder inputs in a throwaway graph
// (parameters are declared, not allocated), with a batch of one for inputs
// of a symbolic batch and the fixed size for the others, and returns what
// the output is. If any input has a symbolic batch, so has the output: its
// first axis must be the placeholder's batch of one. If none has, the
// output's first axis is its fixed batch.
func inferShape(l Layer, in []arg) (arg, error) {
	g := gorgonia.NewGraph()
	xs := make([]*gorgonia.Node, len(in))
	symbolic := false
	for i, a := range in {
		shape := a.full(1)
		symbolic = symbolic || a.batch == 0
		xs[i] = gorgonia.NewTensor(g, a.dtype.Tensor(), len(shape), gorgonia.WithShape(shape...), gorgonia.WithName(fmt.Sprintf("input%d", i)))
	}
	shapes := make([][]int, len(in))
	for i, a := range in {
		shapes[i] = a.shape
	}
	specs, err := paramSpecs(l, shapes)
	if err != nil {
		return arg{}, err
	}
	s := &Scope{g: g, name: "layer", decl: map[string][]int{}, cache: map[string]*gorgonia.Node{}}
	for _, ps := range specs {
		s.decl[ps.Name] = ps.Shape
	}
	y, err := forward(s, l, xs)
	if err != nil {
		return arg{}, err
	}
	if y == nil {
		return arg{}, fmt.Errorf("layer returned no node")
	}
	dt, err := DTypeOf(y.Dtype())
	if err != nil {
		return arg{}, fmt.Errorf("output: %w", err)
	}
	if dt == Float32 {
		dt = ""
	}
	ys := y.Shape()
	switch {
	case symbolic && (len(ys) < 1 || ys[0] != 1):
		return arg{}, fmt.Errorf("output %v has no batch dimension", ys)
	case len(ys) < 1:
		return arg{}, fmt.Errorf("output is a scalar; a model's tensors keep at least one axis")
	case symbolic:
		return arg{shape: slices.Clone([]int(ys[1:])), dtype: dt}, nil
	}
	return arg{shape: slices.Clone([]int(ys[1:])), dtype: dt, batch: ys[0]}, nil
}

// paramSpecs returns the parameters a layer declares for inputs of the given
// per-sample shapes (the first one's, for layers with several inputs), with
// names and shapes checked.
func paramSpecs(l Layer, in [][]int) ([]ParamSpec, error) {
	pl, ok := l.(ParamLayer)
	if !ok {
		return nil, nil
	}
	specs, err := pl.Params(slices.Clone(in[0]))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, ps := range specs {
		if ps.Name == "" || seen[ps.Name] {
			return nil, fmt.Errorf("parameter name %q is empty or declared twice", ps.Name)
		}
		seen[ps.Name] = true
		if err := checkShape(ps.Shape); err != nil {
			return nil, fmt.Errorf("parameter %s: %w", ps.Name, err)
		}
	}
	return specs, nil
}

// forward runs one layer call: Forward for one input, Merge for several.
// A panic of the layer (Gorgonia's constructors panic on some element
// types) is returned as an error.
func forward(s *Scope, l Layer, xs []*gorgonia.Node) (y *gorgonia.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			y, err = nil, fmt.Errorf("layer kind %q panicked: %v", l.Kind(), r)
		}
	}()
	if len(xs) == 1 {
		return l.Forward(s, xs[0])
	}
	m, ok := l.(Merger)
	if !ok {
		return nil, fmt.Errorf("layer kind %q takes one input, got %d (only a Merger takes several)", l.Kind(), len(xs))
	}
	return m.Merge(s, xs)
}

// NewModel makes a model of the layers between inputs and outputs: every
// tensor the outputs depend on must come from the given inputs, and every
// input must be used. Layers without a name are named after their kind in
// the order they are reached from the outputs (dense layers fc1, fc2, ...;
// others kind1, kind2, ...). Parameters are allocated with zero values:
// call Init for random ones.
func NewModel(inputs, outputs []*Tensor) (*Model, error) {
	return newModel(inputs, outputs, nil)
}

// newModel is NewModel; a non-nil load gives the parameters' values
// instead of zeros.
func newModel(inputs, outputs []*Tensor, load ParamLoader) (*Model, error) {
	if len(inputs) == 0 || len(outputs) == 0 {
		return nil, fmt.Errorf("model: want at least one input and one output, got %d and %d", len(inputs), len(outputs))
	}
	m := &Model{params: map[string]*tensor.Dense{}, buffers: map[string]bool{}}
	names := map[string]bool{}
	inputIndex := map[*call]int{}
	for i, t := range inputs {
		if err := t.Err(); err != nil {
			return nil, fmt.Errorf("model: input %d: %w", i, err)
		}
		c := t.call
		if c.layer != nil {
			return nil, fmt.Errorf("model: input %d is the output of a %s layer, not an Input", i, c.layer.Kind())
		}
		if names[c.name] {
			return nil, fmt.Errorf("model: input name %q is repeated", c.name)
		}
		names[c.name] = true
		inputIndex[c] = i
		m.inputs = append(m.inputs, InputSpec{Name: c.name, Shape: slices.Clone(c.shape), DType: c.dtype, Batch: c.batch})
	}
	// Topological order: depth-first from the outputs, inputs first, without
	// recursion (a deep chain must not grow the Go stack per layer).
	var order []*call
	state := map[*call]int{} // 1 = on the stack, 2 = done
	usedInputs := map[*call]bool{}
	for j, out := range outputs {
		if err := out.Err(); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
		if out.call.layer == nil {
			return nil, fmt.Errorf("model: output %d is the input %q itself; apply a layer to it (graph.Identity{} passes it through)", j, out.call.name)
		}
		type frame struct {
			c    *call
			next int
		}
		stack := []frame{{c: out.call}}
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			c := f.c
			if c.layer == nil {
				if _, ok := inputIndex[c]; !ok {
					return nil, fmt.Errorf("model: output %d depends on input %q, which is not among the model's inputs", j, c.name)
				}
				usedInputs[c] = true
				stack = stack[:len(stack)-1]
				continue
			}
			if state[c] == 2 {
				stack = stack[:len(stack)-1]
				continue
			}
			state[c] = 1
			if f.next < len(c.inputs) {
				in := c.inputs[f.next].call
				f.next++
				if state[in] == 1 {
					return nil, fmt.Errorf("model: the graph has a cycle")
				}
				stack = append(stack, frame{c: in})
				continue
			}
			state[c] = 2
			order = append(order, c)
			stack = stack[:len(stack)-1]
		}
	}
	for _, t := range inputs {
		if !usedInputs[t.call] {
			return nil, fmt.Errorf("model: input %q is not used by any output", t.call.name)
		}
	}
	// Distinct layers in order of first use; explicit names first.
	layerOf := map[any]int{}
	for _, c := range order {
		li, ok := layerOf[c.key]
		if !ok {
			li = len(m.layers)
			layerOf[c.key] = li
			m.layers = append(m.layers, layerInfo{layer: c.layer})
		}
		if c.name == "" {
			continue
		}
		switch m.layers[li].name {
		case "":
			if names[c.name] {
				return nil, fmt.Errorf("model: name %q is repeated", c.name)
			}
			names[c.name] = true
			m.layers[li].name = c.name
		case c.name:
		default:
			return nil, fmt.Errorf("model: one layer is named both %q and %q", m.layers[li].name, c.name)
		}
	}
	count := map[string]int{}
	for i := range m.layers {
		if m.layers[i].name != "" {
			continue
		}
		prefix := m.layers[i].layer.Kind()
		if prefix == "dense" {
			prefix = "fc"
		}
		for {
			count[prefix]++
			name := fmt.Sprintf("%s%d", prefix, count[prefix])
			if !names[name] {
				names[name] = true
				m.layers[i].name = name
				break
			}
		}
	}
	// Nodes, named after their layer (":k" for the k-th reuse); parameters
	// declared from each layer's first call and checked at the others.
	nodeName := map[*call]string{}
	for _, t := range inputs {
		nodeName[t.call] = t.call.name
	}
	calls := make([]int, len(m.layers))
	for _, c := range order {
		li := layerOf[c.key]
		l := &m.layers[li]
		name := l.name
		if calls[li] > 0 {
			name = fmt.Sprintf("%s:%d", l.name, calls[li])
		}
		calls[li]++
		in := make([]string, len(c.inputs))
		inShapes := make([][]int, len(c.inputs))
		for i, t := range c.inputs {
			in[i] = nodeName[t.call]
			inShapes[i] = t.call.shape
		}
		nodeName[c] = name
		specs, err := paramSpecs(c.layer, inShapes)
		if err != nil {
			return nil, fmt.Errorf("model: %w", &LayerError{Layer: l.name, Kind: c.layer.Kind(), Err: err})
		}
		if calls[li] == 1 {
			l.in = inShapes[0]
			l.specs = specs
			for _, ps := range specs {
				full := l.name + "." + ps.Name
				if _, dup := m.params[full]; dup {
					return nil, fmt.Errorf("model: parameter %s declared twice", full)
				}
				m.order = append(m.order, full)
				m.params[full] = nil // allocated below, once every shape is checked
				if ps.Buffer {
					m.buffers[full] = true
				}
			}
		} else if !sameParams(l.specs, specs) {
			return nil, fmt.Errorf("model: %w", &LayerError{Layer: l.name, Kind: c.layer.Kind(), Err: fmt.Errorf("applied to %v needs parameters of other shapes than on %v", inShapes[0], l.in)})
		}
		m.nodes = append(m.nodes, Node{Name: name, Layer: l.name, Inputs: in, Shape: slices.Clone(c.shape), DType: c.dtype.Or(), Batch: c.batch})
		m.nodeLayer = append(m.nodeLayer, li)
	}
	for _, out := range outputs {
		m.outputs = append(m.outputs, nodeName[out.call])
	}
	total := 0
	for _, l := range m.layers {
		for _, ps := range l.specs {
			total += shapeSize(ps.Shape)
			if total > MaxParams {
				return nil, fmt.Errorf("model: more than %d parameter values", MaxParams)
			}
		}
	}
	if load == nil {
		for _, l := range m.layers {
			for _, ps := range l.specs {
				m.params[l.name+"."+ps.Name] = tensor.New(tensor.WithShape(ps.Shape...), tensor.Of(tensor.Float32))
			}
		}
	} else if err := m.load(load); err != nil {
		return nil, err
	}
	m.index = map[string]int{}
	for i, n := range m.nodes {
		m.index[n.Name] = i
	}
	m.byLayer = make(map[string]int, len(m.layers))
	for i, l := range m.layers {
		m.byLayer[l.name] = i
	}
	return m, nil
}

func sameParams(a, b []ParamSpec) bool {
	return slices.EqualFunc(a, b, func(x, y ParamSpec) bool {
		return x.Name == y.Name && slices.Equal(x.Shape, y.Shape) && x.Buffer == y.Buffer
	})
}

func shapeSize(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// load asks load for the values of every parameter and adopts them.
func (m *Model) load(load ParamLoader) error {
	var infos []ParamInfo
	for _, l := range m.layers {
		for _, ps := range l.specs {
			infos = append(infos, ParamInfo{Name: l.name + "." + ps.Name, Shape: slices.Clone(ps.Shape), Buffer: ps.Buffer})
		}
	}
	vals, err := load(infos)
	if err != nil {
		return &loadError{err}
	}
	if len(vals) != len(infos) {
		return fmt.Errorf("model: parameter loader gave %d values for %d parameters", len(vals), len(infos))
	}
	for i, p := range infos {
		if len(vals[i]) != shapeSize(p.Shape) {
			return fmt.Errorf("model: parameter loader gave %d values for %s of shape %v", len(vals[i]), p.Name, p.Shape)
		}
		m.params[p.Name] = tensor.New(tensor.WithShape(p.Shape...), tensor.WithBacking(vals[i]))
	}
	return nil
}
