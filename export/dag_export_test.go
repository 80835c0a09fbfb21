package export_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
	"github.com/nlpodyssey/safetensors"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
)

// siamese applies one dense layer to two inputs and adds the results.
func siamese(t *testing.T) *graph.Model {
	t.Helper()
	a, b := graph.Input("left", 4), graph.Input("right", 4)
	d := &graph.Dense{Units: 3}
	out := graph.Apply(graph.Softmax{}, graph.Apply(graph.Add{}, graph.Apply(d, a), graph.Apply(d, b)))
	m, err := graph.NewModel([]*graph.Tensor{a, b}, []*graph.Tensor{out})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	return m
}

// A model that is not a stack gets Keras' functional summary: a row per
// input, a "Connected to" column, a shared layer counted once.
func TestSummaryFunctional(t *testing.T) {
	var b bytes.Buffer
	if err := export.WriteSummary(&b, siamese(t)); err != nil {
		t.Fatal(err)
	}
	want := `Model: "functional"
_______________________________________________________________________________
Layer (type)                Output Shape                  Param #  Connected to
===============================================================================
left (InputLayer)           (None, 4)                           0
_______________________________________________________________________________
right (InputLayer)          (None, 4)                           0
_______________________________________________________________________________
fc1 (dense)                 (None, 3)                          15  left
_______________________________________________________________________________
fc1:1 (dense)               (None, 3)                    (shared)  right
_______________________________________________________________________________
add1 (add)                  (None, 3)                           0  fc1, fc1:1
_______________________________________________________________________________
softmax1 (softmax)          (None, 3)                           0  add1
===============================================================================
Total params: 15 (60.00 B)
Trainable params: 15 (60.00 B)
Non-trainable params: 0 (0.00 B)
_______________________________________________________________________________
`
	if b.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", b.String(), want)
	}

	// The residual convnet: one input, one output, but a branch.
	m := residualConvNet(t, mnistImages(t, 10))
	b.Reset()
	if err := export.WriteSummary(&b, m); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, row := range []string{
		"Layer (type)                        Output Shape                  Param #  Connected to\n",
		"image (InputLayer)                  (None, 1, 28, 28)                   0\n",
		"conv2d1 (conv2d)                    (None, 8, 28, 28)                  80  image\n",
		"add1 (add)                          (None, 8, 14, 14)                   0  maxpool2d1, batchnorm3\n",
		"head (batchnorm)                    (None, 8)                          32  globalavgpool2d1\n",
		"Total params: 1,466 (", "Non-trainable params: 64 (",
	} {
		if !strings.Contains(s, row) {
			t.Errorf("summary lacks %q:\n%s", row, s)
		}
	}
	if m.ParamCount() != 1466 {
		t.Errorf("ParamCount %d", m.ParamCount())
	}

	// Layers reports the nodes' inputs and which reuse a layer.
	infos, err := export.Layers(siamese(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 4 || infos[1].Name != "fc1:1" || infos[1].Layer != "fc1" || !infos[1].Shared || infos[1].Count != 0 || infos[1].Params != nil ||
		infos[0].Shared || infos[0].Count != 15 || strings.Join(infos[2].Inputs, ",") != "fc1,fc1:1" {
		t.Errorf("layers %+v", infos)
	}
}

// A stack keeps the sequential table: no "Connected to", no InputLayer.
func TestSummarySequentialUnchanged(t *testing.T) {
	var b bytes.Buffer
	if err := export.WriteSummary(&b, bookNet(t)); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if !strings.HasPrefix(s, "Model: \"sequential\"\n") || strings.Contains(s, "Connected to") || strings.Contains(s, "InputLayer") || !strings.Contains(s, "\ninput (input)  ") {
		t.Errorf("sequential summary:\n%s", s)
	}
}

// smallResidual is conv1 -> ReLU -> conv2 -> batch norm, added to conv1's
// output (the skip connection), then global average pooling, dense and
// softmax, on (1, 6, 6) inputs.
func smallResidual(t *testing.T) *graph.Model {
	t.Helper()
	x := graph.Input("image", 1, 6, 6)
	c1 := graph.Apply(&graph.Conv2D{Filters: 2, Kernel: 3, Padding: 1}, x)
	r := graph.Apply(&graph.BatchNorm{}, graph.Apply(&graph.Conv2D{Filters: 2, Kernel: 3, Padding: 1}, graph.Apply(graph.ReLU{}, c1)))
	y := graph.Apply(graph.Add{}, c1, r)
	out := graph.Apply(graph.Softmax{}, graph.Apply(&graph.Dense{Units: 3}, graph.Apply(graph.GlobalAvgPool2D{}, y)))
	m, err := graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{out})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(4)
	return m
}

var (
	dotCluster = regexp.MustCompile(`^\s*subgraph "cluster_([^"]*)" \{$`)
	dotDecl    = regexp.MustCompile(`^\s*"n(\d+)" \[label=`)
	dotEdge    = regexp.MustCompile(`^\s*"n(\d+)" -> "n(\d+)";$`)
)

// dotClusters reads WriteDOT's output: the cluster of every declared node
// ("" outside clusters) and the edges between clusters, "from -> to".
func dotClusters(t *testing.T, src string) (map[string]string, map[string]bool) {
	t.Helper()
	of := map[string]string{}
	cross := map[string]bool{}
	cluster := ""
	for _, line := range strings.Split(src, "\n") {
		if m := dotCluster.FindStringSubmatch(line); m != nil {
			cluster = m[1]
			continue
		}
		if strings.TrimSpace(line) == "}" {
			cluster = ""
			continue
		}
		if m := dotDecl.FindStringSubmatch(line); m != nil {
			if _, dup := of[m[1]]; dup {
				t.Errorf("node n%s declared twice", m[1])
			}
			of[m[1]] = cluster
			continue
		}
		if m := dotEdge.FindStringSubmatch(line); m != nil {
			from, ok1 := of[m[1]]
			to, ok2 := of[m[2]]
			if !ok1 || !ok2 {
				t.Errorf("edge %s uses a node not declared before the edges", line)
			}
			if from != to {
				cross[from+" -> "+to] = true
			}
		}
	}
	return of, cross
}

func renderDOT(t *testing.T, src string) []byte {
	t.Helper()
	if !hasDot() {
		t.Skip("Graphviz dot not installed (apt-get install -y graphviz): render not checked")
	}
	cmd := exec.Command("dot", "-Tsvg")
	cmd.Stdin = strings.NewReader(src)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	svg, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("dot -Tsvg: %v: %s", err, stderr.String())
	}
	return svg
}

// The residual model's DOT has one cluster per model node and shows the
// skip connection: an edge from the first conv's cluster into the add's,
// besides the one from the block's batch norm. It renders with Graphviz.
func TestDOTResidual(t *testing.T) {
	m := smallResidual(t)
	var b bytes.Buffer
	if err := export.WriteDOT(&b, m); err != nil {
		t.Fatal(err)
	}
	src := b.String()
	for _, n := range m.Nodes() {
		if c := strings.Count(src, `subgraph "cluster_`+n.Name+`" {`); c != 1 {
			t.Errorf("%d clusters for node %s, want 1", c, n.Name)
		}
	}
	of, cross := dotClusters(t, src)
	if !cross["conv2d1 -> add1"] {
		t.Errorf("no skip edge from cluster conv2d1 into add1; edges between clusters: %v", cross)
	}
	// The input (outside clusters) into conv2d1, the chain, and the skip.
	want := []string{" -> conv2d1", "conv2d1 -> relu1", "relu1 -> conv2d2", "conv2d2 -> batchnorm1", "batchnorm1 -> add1", "conv2d1 -> add1",
		"add1 -> globalavgpool2d1", "globalavgpool2d1 -> fc1", "fc1 -> softmax1"}
	var got []string
	for e := range cross {
		got = append(got, e)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("edges between clusters %q, want %q", got, want)
	}
	// Buffers sit in their layer's cluster.
	g, err := export.BuildGraph(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range g.Nodes {
		if n.Role == export.RoleBuffer && (n.Layer != "batchnorm1" || of[fmt.Sprint(n.ID)] != "batchnorm1") {
			t.Errorf("buffer %s: layer %q, cluster %q", n.Name, n.Layer, of[fmt.Sprint(n.ID)])
		}
	}
	svg := renderDOT(t, src)
	for _, c := range []string{"cluster_conv2d1", "cluster_add1", "cluster_batchnorm1"} {
		if !bytes.Contains(svg, []byte(c)) {
			t.Errorf("SVG lacks %s", c)
		}
	}
}

// A shared layer gets a cluster per node; its parameters, in the first
// node's cluster, feed the later node's. Both inputs are ellipses and the
// title names them. It renders with Graphviz.
func TestDOTSharedLayer(t *testing.T) {
	var b bytes.Buffer
	if err := export.WriteDOT(&b, siamese(t)); err != nil {
		t.Fatal(err)
	}
	src := b.String()
	of, cross := dotClusters(t, src)
	for _, e := range []string{"fc1 -> fc1:1", "fc1 -> add1", "fc1:1 -> add1", " -> fc1", " -> fc1:1"} {
		if !cross[e] {
			t.Errorf("no edge %s between clusters; edges: %v", e, cross)
		}
	}
	if !strings.Contains(src, "inputs left (None, 4), right (None, 4)") {
		t.Error("title does not name both inputs")
	}
	if n := strings.Count(src, "shape=ellipse"); n != 3 {
		t.Errorf("%d ellipses, want 3 (two inputs, one output)", n)
	}
	params := 0
	for _, c := range of {
		if c == "fc1:1" {
			params++
		}
	}
	if params != 1 {
		t.Errorf("cluster fc1:1 holds %d nodes, want its output only (the parameters are fc1's)", params)
	}
	renderDOT(t, src)
}

// The graph JSON of a model of two inputs and three outputs lists them
// all, each node's model inputs, a shared layer's parameters once, and a
// spec that rebuilds the model.
func TestJSONGraphDAG(t *testing.T) {
	m := twoInputModel(t)
	var b bytes.Buffer
	if err := export.WriteJSON(&b, m); err != nil {
		t.Fatal(err)
	}
	var doc export.Document
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	p, err := m.Build(1)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(ns []*gorgonia.Node) []int64 {
		var out []int64
		for _, n := range ns {
			out = append(out, n.ID())
		}
		return out
	}
	g := doc.Graph
	if !slices.Equal(g.Inputs, ids(p.Inputs)) || !slices.Equal(g.Outputs, ids(p.Outputs)) || len(g.Outputs) != 3 || g.Input != g.Inputs[0] || g.Output != g.Outputs[0] {
		t.Errorf("inputs %v outputs %v (first %d, %d), want %v and %v", g.Inputs, g.Outputs, g.Input, g.Output, ids(p.Inputs), ids(p.Outputs))
	}
	byID := map[int64]export.GraphNode{}
	for _, n := range g.Nodes {
		byID[n.ID] = n
	}
	for i, id := range g.Inputs {
		if n := byID[id]; n.Role != export.RoleInput || n.Name != m.Inputs()[i].Name {
			t.Errorf("input %d: %+v", i, n)
		}
	}
	nodes := m.Nodes()
	if len(g.Layers) != len(nodes) {
		t.Fatalf("%d layers, want %d nodes", len(g.Layers), len(nodes))
	}
	for i, l := range g.Layers {
		if l.Name != nodes[i].Name || !slices.Equal(l.Inputs, nodes[i].Inputs) || l.Output != p.Nodes[i].ID() {
			t.Errorf("layer %d: %+v, want node %+v", i, l, nodes[i])
		}
	}
	count := map[string]int{}
	for _, n := range g.Nodes {
		if n.Role == export.RoleParam {
			count[n.Name]++
			if n.Layer != strings.TrimSuffix(strings.TrimSuffix(n.Name, ".weight"), ".bias") {
				t.Errorf("param %s in layer %q", n.Name, n.Layer)
			}
		}
	}
	if count["conv2d1.weight"] != 1 || len(count) != len(m.ParamNames()) {
		t.Errorf("param nodes %v, want each of %v once", count, m.ParamNames())
	}
	spec, _ := json.Marshal(doc.Spec)
	back, err := graph.FromSpec(spec, nil)
	if err != nil {
		t.Fatalf("spec does not rebuild the model: %v", err)
	}
	if !slices.Equal(back.ParamNames(), m.ParamNames()) || !slices.Equal(back.Outputs(), m.Outputs()) || len(back.Nodes()) != len(nodes) {
		t.Errorf("rebuilt model: params %v outputs %v", back.ParamNames(), back.Outputs())
	}
}

// predictAll runs m on one batch of inputs and returns every output's
// values.
func predictAll(t *testing.T, m *graph.Model, xs ...*tensor.Dense) [][]float32 {
	t.Helper()
	outs, err := graph.NewPredictor(m).Predict(xs...)
	if err != nil {
		t.Fatal(err)
	}
	var vals [][]float32
	for _, o := range outs {
		vals = append(vals, o.Data().([]float32))
	}
	return vals
}

// DAG models (two inputs, three outputs and a shared layer; a residual
// convnet with batch-norm buffers) round-trip through safetensors and npz:
// each parameter once, bit for bit, and the checkpoint rebuilds a model
// of the same spec that predicts the same.
func TestWeightsDAG(t *testing.T) {
	imgs := mnistImages(t, 9)
	img := tensor.New(tensor.WithShape(8, 1, 28, 28), tensor.WithBacking(slices.Clone(imgs.Data().([]float32)[:8*784])))
	flat := tensor.New(tensor.WithShape(8, 784), tensor.WithBacking(slices.Clone(imgs.Data().([]float32)[784:])))
	for _, tc := range []struct {
		name string
		m    *graph.Model
		xs   []*tensor.Dense
	}{
		{"two-input", twoInputModel(t), []*tensor.Dense{img, flat}},
		{"residual", residualConvNet(t, img), []*tensor.Dense{img}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m
			var st bytes.Buffer
			if err := export.WriteSafetensors(&st, m); err != nil {
				t.Fatal(err)
			}
			parsed, err := safetensors.Deserialize(st.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if got := parsed.Names(); len(got) != len(m.ParamNames()) {
				t.Errorf("safetensors holds %v, want %v", got, m.ParamNames())
			}
			for _, name := range m.ParamNames() {
				tv, ok := parsed.Tensor(name)
				if !ok || !bytes.Equal(tv.Data(), f32bytes(m.Param(name).Data().([]float32))) {
					t.Errorf("safetensors %s: missing or differs", name)
				}
			}
			back, err := checkpoint.Read(bytes.NewReader(st.Bytes()), nil)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := json.Marshal(m)
			b, _ := json.Marshal(back)
			if !bytes.Equal(a, b) {
				t.Errorf("spec after the round trip:\n%s\nwant:\n%s", b, a)
			}
			for _, name := range m.ParamNames() {
				if !slices.Equal(back.Param(name).Data().([]float32), m.Param(name).Data().([]float32)) || back.IsBuffer(name) != m.IsBuffer(name) {
					t.Errorf("%s differs after the round trip", name)
				}
			}
			want, got := predictAll(t, m, tc.xs...), predictAll(t, back, tc.xs...)
			for i := range want {
				if !slices.Equal(got[i], want[i]) {
					t.Errorf("output %d differs after the round trip", i)
				}
			}

			var z bytes.Buffer
			if err := export.WriteNPZ(&z, m); err != nil {
				t.Fatal(err)
			}
			r, err := npz.NewReader(bytes.NewReader(z.Bytes()), int64(z.Len()))
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, k := range r.Keys() {
				keys = append(keys, strings.TrimSuffix(k, ".npy"))
			}
			if !slices.Equal(keys, m.ParamNames()) {
				t.Errorf("npz keys %v, want %v", keys, m.ParamNames())
			}
			for _, name := range m.ParamNames() {
				var v []float32
				if err := r.Read(name+".npy", &v); err != nil {
					t.Fatal(err)
				}
				if h := r.Header(name + ".npy"); h == nil || !slices.Equal(h.Descr.Shape, []int(m.Param(name).Shape())) || !slices.Equal(v, m.Param(name).Data().([]float32)) {
					t.Errorf("npz %s: shape or values differ", name)
				}
			}
		})
	}
}
