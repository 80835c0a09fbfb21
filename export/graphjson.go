package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/tapenet/tapenet/graph"
	"gorgonia.org/gorgonia"
)

// GraphFormat identifies the JSON document written by WriteJSON.
const GraphFormat = "tapenet.export.graph/v1"

// Node roles in a Graph.
const (
	RoleInput  = "input"  // the model's input (a leaf)
	RoleParam  = "param"  // a learnable parameter (a leaf bound to the model's tensor)
	RoleBuffer = "buffer" // a parameter saved with the model but not learned (graph.ParamSpec.Buffer)
	RoleConst  = "const"  // a constant
	RoleOp     = "op"     // the result of an operation on its inputs
)

// Document is the JSON form written by WriteJSON: the model spec, its
// parameters and the structure of its compiled Gorgonia graph.
type Document struct {
	// Format is GraphFormat.
	Format string `json:"format"`
	// Spec is the model's architecture, as stored in checkpoints.
	Spec graph.Spec `json:"spec"`
	// Inputs and Outputs describe the model's input and output tensors
	// with their whole shapes and element types.
	Inputs  []TensorInfo `json:"inputs"`
	Outputs []TensorInfo `json:"outputs"`
	// Params lists the learnable tensors in model order.
	Params []ParamInfo `json:"params"`
	// Graph is the compiled graph.
	Graph *Graph `json:"graph"`
}

// TensorInfo describes a model input or output.
type TensorInfo struct {
	Name string `json:"name"`
	// Shape is the tensor's whole shape, its first axis -1 when it is the
	// symbolic batch (any size; KServe's notation), else its fixed size:
	// [-1, 784] for MNIST images, [4, 3] for an input of a fixed batch 4.
	Shape []int `json:"shape"`
	// DType is the element type, e.g. "float32" or "int64".
	DType string `json:"dtype"`
}

// tensorInfo describes a tensor of a shape after its first axis, a batch
// (0 symbolic) and an element type.
func tensorInfo(name string, shape []int, batch int, dtype graph.DType) TensorInfo {
	if batch == 0 {
		batch = -1
	}
	return TensorInfo{Name: name, Shape: append([]int{batch}, shape...), DType: string(dtype.Or())}
}

// ParamInfo describes one learnable tensor.
type ParamInfo struct {
	Name  string `json:"name"`  // e.g. "fc1.weight"
	Layer string `json:"layer"` // e.g. "fc1"
	Shape []int  `json:"shape"` // e.g. [784, 50]: a dense weight is (in, out)
	Count int    `json:"count"` // number of values
	// Trainable is false for buffers (saved, not learned by gradient descent).
	Trainable bool `json:"trainable"`
}

// Graph is the structure of a model compiled into a Gorgonia graph:
// enough to redraw it. Nodes are listed in the order they were added,
// which is a topological order (every node after its inputs).
type Graph struct {
	// Batch is the batch size the graph was compiled for: the first
	// dimension of every input and node of a symbolic batch (the model
	// itself accepts any batch size for those; inputs of a fixed batch
	// keep theirs).
	Batch int `json:"batch"`
	// Input and Output are the ids of the model's first input and first
	// output nodes.
	Input  int64 `json:"input"`
	Output int64 `json:"output"`
	// Inputs and Outputs are the ids of all the model's input and output
	// nodes, in the model's order (graph.Model.Inputs, Outputs).
	Inputs  []int64 `json:"inputs"`
	Outputs []int64 `json:"outputs"`
	// Layers lists the model's nodes (graph.Model.Nodes: a layer applied
	// to its inputs) in order, with the id of each one's output.
	Layers []GraphLayer `json:"layers"`
	// Nodes lists every node of the graph.
	Nodes []GraphNode `json:"nodes"`
}

// GraphLayer is a model node of a Graph: a layer applied to its inputs.
type GraphLayer struct {
	// Name is the node's name: the layer's name, or "<layer>:<k>" at the
	// layer's k-th reuse (graph.Node.Name).
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Inputs names what the layer is applied to: model inputs or earlier
	// nodes. Several inputs, or a node's output used by several later
	// nodes, make the branches of a model that is not a stack.
	Inputs []string `json:"inputs"`
	Output int64    `json:"output"` // id of the node's output
	// Shape is the output's whole shape in this graph, DType its element
	// type.
	Shape []int  `json:"shape"`
	DType string `json:"dtype"`
}

// GraphNode is one node of a Graph.
type GraphNode struct {
	// ID is the node's Gorgonia id, unique in the graph.
	ID int64 `json:"id"`
	// Name is the node's Gorgonia name, e.g. "fc1.weight", "fc1.out" or,
	// for an unnamed node, its op applied to input ids ("+(%4, %5)").
	Name string `json:"name"`
	// Op is the Gorgonia op (its String form, e.g. "A × B"); "input" or
	// "param" for those leaves (buffers included).
	Op string `json:"op"`
	// Role is RoleInput, RoleParam, RoleBuffer, RoleConst or RoleOp.
	Role string `json:"role"`
	// Shape is the node's shape (empty for a scalar).
	Shape []int `json:"shape"`
	// DType is the element type, e.g. "float32".
	DType string `json:"dtype"`
	// Layer is the name of the model node that added the node ("" for the
	// model's inputs). A parameter or buffer belongs to its layer's first
	// node, whose name is the layer's.
	Layer string `json:"layer"`
	// Inputs are the ids of the nodes this one is computed from, in
	// argument order.
	Inputs []int64 `json:"inputs"`
}

// BuildGraph compiles m for a batch of batch samples (forward only, not
// training) and describes every node of the resulting Gorgonia graph.
func BuildGraph(m *graph.Model, batch int) (*Graph, error) {
	p, err := m.Build(batch)
	if err != nil {
		return nil, fmt.Errorf("build graph: %w", err)
	}
	params := map[string]string{} // parameter name -> layer name
	for _, nl := range m.Layers() {
		for _, name := range m.LayerParams(nl.Name) {
			params[name] = nl.Name
		}
	}
	g := &Graph{Batch: batch, Input: p.Input().ID(), Output: p.Output().ID()}
	for _, n := range p.Inputs {
		g.Inputs = append(g.Inputs, n.ID())
	}
	for _, n := range p.Outputs {
		g.Outputs = append(g.Outputs, n.ID())
	}
	for i, n := range m.Nodes() {
		if p.Nodes[i] == nil {
			return nil, fmt.Errorf("build graph: node %s was left out of the graph", n.Name)
		}
		g.Layers = append(g.Layers, GraphLayer{Name: n.Name, Kind: m.Layer(n.Layer).Kind(), Inputs: n.Inputs, Output: p.Nodes[i].ID(),
			Shape: append([]int{}, p.Nodes[i].Shape()...), DType: string(n.DType.Or())})
	}
	for _, n := range p.Graph.AllNodes() {
		gn := GraphNode{
			ID:     n.ID(),
			Name:   n.Name(),
			Shape:  append([]int{}, n.Shape()...),
			DType:  n.Dtype().String(),
			Layer:  p.LayerOf(n),
			Inputs: []int64{},
		}
		switch {
		case n == p.Input():
			gn.Op, gn.Role = "input", RoleInput
		case n.Op() == nil && params[n.Name()] != "":
			gn.Op, gn.Role = "param", RoleParam
			if m.IsBuffer(n.Name()) {
				gn.Role = RoleBuffer
			}
			if gn.Layer == "" {
				// Program.LayerOf knows learnables only, not buffers.
				gn.Layer = params[n.Name()]
			}
		case n.Op() == nil:
			gn.Op, gn.Role = "input", RoleInput
		default:
			gn.Op, gn.Role = n.Op().String(), RoleOp
			if n.Op().Arity() == 0 {
				gn.Role = RoleConst
			}
		}
		it := p.Graph.From(n.ID())
		for it.Next() {
			gn.Inputs = append(gn.Inputs, it.Node().(*gorgonia.Node).ID())
		}
		g.Nodes = append(g.Nodes, gn)
	}
	return g, nil
}

// docBatch is the batch the documents compile a model for: one, or the
// model's fixed batch when all its inputs have one.
func docBatch(m *graph.Model) int { return max(1, m.FixedBatch()) }

// NewDocument describes m: its spec, inputs and outputs, parameters and
// graph compiled for a batch of one (for a model whose inputs all have a
// fixed batch, that batch).
func NewDocument(m *graph.Model) (*Document, error) {
	spec, err := m.Spec()
	if err != nil {
		return nil, err
	}
	g, err := BuildGraph(m, docBatch(m))
	if err != nil {
		return nil, err
	}
	d := &Document{Format: GraphFormat, Spec: spec, Graph: g}
	for _, in := range m.Inputs() {
		d.Inputs = append(d.Inputs, tensorInfo(in.Name, in.Shape, in.Batch, in.DType))
	}
	for i := range m.Outputs() {
		n := m.OutputNode(i)
		d.Outputs = append(d.Outputs, tensorInfo(n.Name, n.Shape, n.Batch, n.DType))
	}
	for _, nl := range m.Layers() {
		for _, name := range m.LayerParams(nl.Name) {
			shape := m.Param(name).Shape()
			d.Params = append(d.Params, ParamInfo{Name: name, Layer: nl.Name, Shape: slices.Clone([]int(shape)), Count: shape.TotalSize(), Trainable: !m.IsBuffer(name)})
		}
	}
	return d, nil
}

// WriteJSON writes m's Document as indented JSON: the model spec, its
// parameters, its inputs and outputs (shape with -1 for a symbolic batch,
// dtype), and every node of its Gorgonia graph compiled for a batch of
// one (see NewDocument), with op, shape, dtype, layer and input ids.
func WriteJSON(w io.Writer, m *graph.Model) error {
	d, err := NewDocument(m)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	// Put arrays of numbers (shapes, input ids) on one line. JSON strings
	// cannot hold a raw newline, so only structural arrays match.
	b = numberArray.ReplaceAllFunc(b, func(a []byte) []byte {
		return bytes.ReplaceAll(spaces.ReplaceAll(a, nil), []byte(","), []byte(", "))
	})
	_, err = w.Write(append(b, '\n'))
	return err
}

var (
	numberArray = regexp.MustCompile(`\[\n[\s\d,-]*\]`)
	spaces      = regexp.MustCompile(`\s+`)
)

// WriteDOT writes the Graphviz source of m's graph compiled for a batch of
// one (or the model's fixed batch, see NewDocument): one cluster per model node (subgraph "cluster_<node>", for a layer
// applied once the layer's name), each Gorgonia node labelled with its
// name, op and shape, and an edge from every Gorgonia node to each node
// computed from it (data flows downwards). Edges between clusters show
// the model's branches: a skip connection is an edge from the cluster
// where it starts into the merge's cluster. Inputs and outputs are
// ellipses. A shared layer's parameters sit in the cluster of its first
// node; its later nodes' clusters take edges from them, or from what the
// first node computed from them alone (Gorgonia computes a transposed
// weight once for all its uses).
func WriteDOT(w io.Writer, m *graph.Model) error {
	g, err := BuildGraph(m, docBatch(m))
	if err != nil {
		return err
	}
	ins := m.Inputs()
	title := "input " + TensorString(ins[0].Shape, ins[0].Batch, ins[0].DType)
	if len(ins) > 1 {
		var parts []string
		for _, in := range ins {
			parts = append(parts, in.Name+" "+TensorString(in.Shape, in.Batch, in.DType))
		}
		title = "inputs " + strings.Join(parts, ", ")
	}
	ends := map[int64]bool{}
	for _, id := range g.Outputs {
		ends[id] = true
	}
	var b strings.Builder
	b.WriteString("digraph \"tapenet\" {\n")
	b.WriteString("  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=12, labelloc=t, label=" + dotQuote(fmt.Sprintf("tapenet model, %s, batch compiled as %d", title, g.Batch)) + "];\n")
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\", fontsize=10];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=9];\n")
	byLayer := map[string][]GraphNode{}
	for _, n := range g.Nodes {
		byLayer[n.Layer] = append(byLayer[n.Layer], n)
	}
	for _, n := range byLayer[""] {
		b.WriteString("  " + dotNode(n, ends))
	}
	for _, l := range g.Layers {
		fmt.Fprintf(&b, "  subgraph %s {\n", dotQuote("cluster_"+l.Name))
		fmt.Fprintf(&b, "    label=%s; style=\"rounded,filled\"; fillcolor=\"#f4f4f8\"; color=\"#9090a0\";\n", dotQuote(l.Name+" ("+l.Kind+")"))
		for _, n := range byLayer[l.Name] {
			b.WriteString("    " + dotNode(n, ends))
		}
		b.WriteString("  }\n")
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			fmt.Fprintf(&b, "  %s -> %s;\n", dotQuote(fmt.Sprint("n", in)), dotQuote(fmt.Sprint("n", n.ID)))
		}
	}
	b.WriteString("}\n")
	_, err = io.WriteString(w, b.String())
	return err
}

// dotNode declares a Gorgonia node; outputs holds the ids of the model's
// outputs.
func dotNode(n GraphNode, outputs map[int64]bool) string {
	var lines []string
	if n.Role != RoleOp || !strings.HasPrefix(n.Name, n.Op+"(") {
		lines = append(lines, n.Name)
	}
	if n.Role == RoleOp || n.Role == RoleConst {
		lines = append(lines, n.Op)
	}
	shape := fmt.Sprint(n.Shape)
	lines = append(lines, "("+strings.Trim(strings.ReplaceAll(shape, " ", ", "), "[]")+") "+n.DType)
	for i := range lines {
		lines[i] = dotEscape(lines[i])
	}
	attrs := "label=\"" + strings.Join(lines, `\n`) + "\""
	switch {
	case n.Role == RoleInput || outputs[n.ID]:
		attrs += ", shape=ellipse, fillcolor=\"#dbe9ff\""
	case n.Role == RoleParam:
		attrs += ", shape=note, fillcolor=\"#fff4d6\""
	case n.Role == RoleBuffer:
		attrs += ", shape=note, fillcolor=\"#ececec\""
	case n.Role == RoleConst:
		attrs += ", shape=plaintext"
	}
	return fmt.Sprintf("%s [%s];\n", dotQuote(fmt.Sprint("n", n.ID)), attrs)
}

// dotEscape escapes s for a double-quoted DOT string.
func dotEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func dotQuote(s string) string { return `"` + dotEscape(s) + `"` }
