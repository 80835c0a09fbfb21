package export_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"codeberg.org/sbinet/npyio/npz"
	"github.com/nlpodyssey/safetensors"
	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"github.com/tapenet/tapenet/models"
	"gorgonia.org/gorgonia"
)

// testModels returns small random-initialised models covering every
// built-in activation.
func testModels(t *testing.T) map[string]*graph.Model {
	t.Helper()
	out := map[string]*graph.Model{}
	book, err := models.BookNet()
	if err != nil {
		t.Fatal(err)
	}
	book.Init(1)
	out["book"] = book
	for i, act := range []string{"sigmoid", "relu", "tanh", "step", "identity"} {
		m, err := models.TwoLayerNet(784, 32, 10, act)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(uint64(10 + i))
		out[act] = m
	}
	return out
}

func bookNet(t *testing.T) *graph.Model {
	t.Helper()
	m, err := models.BookNet()
	if err != nil {
		t.Fatal(err)
	}
	m.Init(7)
	return m
}

func hasDot() bool {
	_, err := exec.LookPath("dot")
	return err == nil
}

// Every format writes something, the same bytes twice, and text formats
// are UTF-8.
func TestFormatsWrite(t *testing.T) {
	m := bookNet(t)
	for _, f := range export.Formats() {
		t.Run(f.Name, func(t *testing.T) {
			if (f.Name == "svg" || f.Name == "png") && !hasDot() {
				t.Skip("Graphviz dot not installed (apt-get install -y graphviz)")
			}
			var a, b bytes.Buffer
			if err := f.Write(&a, m); err != nil {
				t.Fatal(err)
			}
			if err := f.Write(&b, m); err != nil {
				t.Fatal(err)
			}
			if a.Len() == 0 {
				t.Fatal("empty output")
			}
			if f.Name != "png" && f.Name != "svg" && !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Error("output differs between two runs")
			}
			if !f.Binary && !utf8.Valid(a.Bytes()) {
				t.Error("text format is not valid UTF-8")
			}
			if got, ok := export.ByExtension("x" + f.Ext); f.Ext != ".txt" && (!ok || got.Name != f.Name) {
				t.Errorf("ByExtension(x%s) = %q, %v", f.Ext, got.Name, ok)
			}
		})
	}
	if _, err := export.Lookup("tflite"); err == nil || !strings.Contains(err.Error(), "onnx") {
		t.Errorf("Lookup(tflite) error = %v, want one listing the formats", err)
	}
	if f, err := export.Lookup("ONNX"); err != nil || f.Name != "onnx" {
		t.Errorf("Lookup(ONNX) = %q, %v", f.Name, err)
	}
}

func TestSummaryCounts(t *testing.T) {
	for _, tc := range []struct {
		hidden                 []int
		act                    string
		total, trainable, rows int
		wantRow                string
	}{
		{[]int{50, 100}, "sigmoid", 45360, 45360, 6, "fc1 (dense)                 (None, 50)                     39,250"},
		{[]int{100}, "relu", 79510, 79510, 4, "fc2 (dense)                 (None, 10)                      1,010"},
		{[]int{}, "tanh", 7850, 7850, 2, "softmax1 (softmax)          (None, 10)                          0"},
	} {
		m, err := models.MLP(784, tc.hidden, 10, tc.act)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := export.WriteSummary(&b, m); err != nil {
			t.Fatal(err)
		}
		s := b.String()
		for _, want := range []string{
			fmt.Sprintf("Total params: %s (", thousands(tc.total)),
			fmt.Sprintf("Trainable params: %s (", thousands(tc.trainable)),
			"Non-trainable params: 0 ",
			tc.wantRow + "\n",
		} {
			if !strings.Contains(s, want) {
				t.Errorf("%v %s: summary lacks %q:\n%s", tc.hidden, tc.act, want, s)
			}
		}
		if got := strings.Count(s, "(None, "); got != tc.rows+1 {
			t.Errorf("%v %s: %d shape cells, want %d (input + layers)", tc.hidden, tc.act, got, tc.rows+1)
		}
		if m.ParamCount() != tc.total {
			t.Errorf("ParamCount = %d, want %d", m.ParamCount(), tc.total)
		}
	}
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// The JSON lists every node of the compiled graph, edges reference listed
// ids in argument order, and roles and layers match the Program.
func TestJSONGraphComplete(t *testing.T) {
	for name, m := range testModels(t) {
		t.Run(name, func(t *testing.T) {
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
			if doc.Format != export.GraphFormat || doc.Graph.Batch != 1 {
				t.Errorf("format %q batch %d", doc.Format, doc.Graph.Batch)
			}
			// The spec rebuilds the same architecture.
			spec, _ := json.Marshal(doc.Spec)
			m2, err := graph.FromSpec(spec, nil)
			if err != nil {
				t.Fatalf("spec does not rebuild the model: %v", err)
			}
			if !slices.Equal(m2.ParamNames(), m.ParamNames()) {
				t.Errorf("spec params %v, want %v", m2.ParamNames(), m.ParamNames())
			}
			var names []string
			for _, p := range doc.Params {
				names = append(names, p.Name)
				if !slices.Equal(p.Shape, []int(m.Param(p.Name).Shape())) {
					t.Errorf("param %s shape %v", p.Name, p.Shape)
				}
			}
			if !slices.Equal(names, m.ParamNames()) {
				t.Errorf("params %v, want %v", names, m.ParamNames())
			}

			// An independent build of the same program: same node ids.
			p, err := m.Build(1)
			if err != nil {
				t.Fatal(err)
			}
			all := p.Graph.AllNodes()
			if len(doc.Graph.Nodes) != len(all) {
				t.Fatalf("%d nodes listed, graph has %d", len(doc.Graph.Nodes), len(all))
			}
			listed := map[int64]export.GraphNode{}
			for i, n := range doc.Graph.Nodes {
				listed[n.ID] = n
				g := all[i]
				if n.ID != g.ID() || n.Name != g.Name() || !slices.Equal(n.Shape, []int(g.Shape())) || n.DType != g.Dtype().String() || n.Layer != p.LayerOf(g) {
					t.Errorf("node %d = %+v, graph has id %d %q %v %v layer %q", i, n, g.ID(), g.Name(), g.Shape(), g.Dtype(), p.LayerOf(g))
				}
			}
			for _, n := range doc.Graph.Nodes {
				for _, in := range n.Inputs {
					if _, ok := listed[in]; !ok {
						t.Errorf("node %d has input %d, not listed", n.ID, in)
					}
					if in >= n.ID {
						t.Errorf("node %d has input %d listed after it", n.ID, in)
					}
				}
				switch n.Role {
				case export.RoleOp:
					if len(n.Inputs) == 0 {
						t.Errorf("op node %d (%s) has no inputs", n.ID, n.Op)
					}
				case export.RoleInput, export.RoleParam, export.RoleBuffer, export.RoleConst:
					if len(n.Inputs) != 0 {
						t.Errorf("leaf %d has inputs %v", n.ID, n.Inputs)
					}
				default:
					t.Errorf("node %d: role %q", n.ID, n.Role)
				}
			}
			// Params are exactly the Program's learnables, named as in the checkpoint.
			var params []string
			for _, n := range doc.Graph.Nodes {
				if n.Role == export.RoleParam || n.Role == export.RoleBuffer {
					params = append(params, n.Name)
					if n.Op != "param" || !strings.HasPrefix(n.Name, n.Layer+".") {
						t.Errorf("param node %+v", n)
					}
				}
			}
			if !slices.Equal(params, m.ParamNames()) {
				t.Errorf("param nodes %v, want %v", params, m.ParamNames())
			}
			in := listed[doc.Graph.Input]
			if in.Name != "input" || in.Role != export.RoleInput || !slices.Equal(in.Shape, []int{1, 784}) {
				t.Errorf("input node %+v", in)
			}
			if doc.Graph.Output != p.Output().ID() {
				t.Errorf("output %d, want %d", doc.Graph.Output, p.Output().ID())
			}
			if len(doc.Graph.Layers) != len(m.Layers()) {
				t.Errorf("%d layers, want %d", len(doc.Graph.Layers), len(m.Layers()))
			}
			for i, l := range doc.Graph.Layers {
				if l.Output != p.Nodes[i].ID() {
					t.Errorf("layer %s output %d, want %d", l.Name, l.Output, p.Nodes[i].ID())
				}
			}
		})
	}
}

func TestBuildGraphBatch(t *testing.T) {
	g, err := export.BuildGraph(bookNet(t), 32)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range g.Nodes {
		if n.ID == g.Output && !slices.Equal(n.Shape, []int{32, 10}) {
			t.Errorf("output shape %v, want [32 10]", n.Shape)
		}
	}
	if _, err := export.BuildGraph(bookNet(t), 0); err == nil {
		t.Error("batch 0: no error")
	}
}

func TestDOT(t *testing.T) {
	m := testModels(t)["step"]
	var b bytes.Buffer
	if err := export.WriteDOT(&b, m); err != nil {
		t.Fatal(err)
	}
	src := b.String()
	for _, l := range m.Layers() {
		if c := strings.Count(src, `subgraph "cluster_`+l.Name+`" {`); c != 1 {
			t.Errorf("%d clusters for layer %s, want 1", c, l.Name)
		}
	}
	g, err := export.BuildGraph(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	edges := 0
	for _, n := range g.Nodes {
		if !strings.Contains(src, fmt.Sprintf("\"n%d\" [label=", n.ID)) {
			t.Errorf("node %d not declared", n.ID)
		}
		edges += len(n.Inputs)
	}
	if got := strings.Count(src, " -> "); got != edges {
		t.Errorf("%d edges, want %d", got, edges)
	}
	for _, want := range []string{`fc1.weight\n(784, 32) float32`, `step1.out\n> true\n(1, 32) float32`, `softmax1.out`} {
		if !strings.Contains(src, want) {
			t.Errorf("DOT lacks label %q", want)
		}
	}
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
	if !bytes.Contains(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("cluster_fc2")) {
		t.Errorf("dot rendered no SVG with clusters (%d bytes)", len(svg))
	}
}

// The checkpoint parses with an independent safetensors reader, bit for
// bit, and rebuilds the model through checkpoint.Read.
func TestSafetensors(t *testing.T) {
	m := bookNet(t)
	var b bytes.Buffer
	if err := export.WriteSafetensors(&b, m); err != nil {
		t.Fatal(err)
	}
	st, err := safetensors.Deserialize(b.Bytes())
	if err != nil {
		t.Fatalf("nlpodyssey/safetensors: %v", err)
	}
	if got := st.Names(); len(got) != len(m.ParamNames()) {
		t.Errorf("tensors %v, want %v", got, m.ParamNames())
	}
	for _, name := range m.ParamNames() {
		tv, ok := st.Tensor(name)
		if !ok {
			t.Fatalf("no tensor %s", name)
		}
		want := m.Param(name)
		var shape []int
		for _, d := range tv.Shape() {
			shape = append(shape, int(d))
		}
		if tv.DType() != safetensors.F32 || !slices.Equal(shape, []int(want.Shape())) {
			t.Errorf("%s: %v %v, want F32 %v", name, tv.DType(), shape, want.Shape())
		}
		if !bytes.Equal(tv.Data(), f32bytes(want.Data().([]float32))) {
			t.Errorf("%s: data differs", name)
		}
	}
	m2, err := checkpoint.Read(bytes.NewReader(b.Bytes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range m.ParamNames() {
		if !slices.Equal(m2.Param(name).Data().([]float32), m.Param(name).Data().([]float32)) {
			t.Errorf("%s differs after round trip", name)
		}
	}
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// The npz reads back bit for bit through sbinet/npyio and, when
// /usr/bin/python3 has numpy, through numpy.load.
func TestNPZ(t *testing.T) {
	m := bookNet(t)
	var b bytes.Buffer
	if err := export.WriteNPZ(&b, m); err != nil {
		t.Fatal(err)
	}
	r, err := npz.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, k := range r.Keys() {
		keys = append(keys, strings.TrimSuffix(k, ".npy"))
	}
	if !slices.Equal(keys, m.ParamNames()) {
		t.Errorf("keys %v, want %v", keys, m.ParamNames())
	}
	for _, name := range m.ParamNames() {
		h := r.Header(name + ".npy")
		if h == nil {
			t.Fatalf("no header for %s", name)
		}
		if strings.Trim(h.Descr.Type, "'") != "<f4" || h.Descr.Fortran || !slices.Equal(h.Descr.Shape, []int(m.Param(name).Shape())) || h.Major != 1 {
			t.Errorf("%s: header %+v", name, *h)
		}
		var got []float32
		if err := r.Read(name+".npy", &got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f32bytes(got), f32bytes(m.Param(name).Data().([]float32))) {
			t.Errorf("%s: values differ", name)
		}
	}

	py := "/usr/bin/python3"
	if exec.Command(py, "-c", "import numpy").Run() != nil {
		t.Skip("no numpy in /usr/bin/python3 (apt-get install -y python3-numpy): numpy.load not checked")
	}
	path := filepath.Join(t.TempDir(), "w.npz")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// Print name, dtype, C-contiguity, shape and the sha256 of the raw bytes.
	script := `
import hashlib, sys, numpy as np
with np.load(sys.argv[1]) as z:
    for k in z.files:
        a = z[k]
        print(k, a.dtype.str, a.flags.c_contiguous, list(a.shape), hashlib.sha256(a.tobytes()).hexdigest())
`
	out, err := exec.Command(py, "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy.load: %v: %s", err, out)
	}
	var want strings.Builder
	for _, name := range m.ParamNames() {
		fmt.Fprintf(&want, "%s <f4 True %s %s\n", name, pyList(m.Param(name).Shape()), sha(f32bytes(m.Param(name).Data().([]float32))))
	}
	if string(out) != want.String() {
		t.Errorf("numpy sees:\n%s\nwant:\n%s", out, want.String())
	}
}

func pyList(s []int) string {
	return strings.ReplaceAll(fmt.Sprint(s), " ", ", ")
}

func TestImageWithoutDot(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no dot program to be found
	err := export.WriteImage(&bytes.Buffer{}, bookNet(t), "svg")
	if err != export.ErrNoGraphviz {
		t.Errorf("error %v, want ErrNoGraphviz", err)
	}
	if err := export.WriteImage(&bytes.Buffer{}, bookNet(t), "gif"); err == nil || !regexp.MustCompile(`gif`).MatchString(err.Error()) {
		t.Errorf("gif: error %v", err)
	}
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// offsetLayer adds a saved but not learned offset (a buffer).
type offsetLayer struct{}

func (offsetLayer) Kind() string { return "offset" }
func (offsetLayer) Params(in []int) ([]graph.ParamSpec, error) {
	return []graph.ParamSpec{{Name: "offset", Shape: in, Buffer: true}}, nil
}
func (offsetLayer) Forward(s *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	b, err := s.Param("offset")
	if err != nil {
		return nil, err
	}
	return gorgonia.BroadcastAdd(x, b, nil, []byte{0})
}

// Buffers count as non-trainable in the summary and have their own role
// in the graph JSON.
func TestBuffers(t *testing.T) {
	m, err := graph.NewSequential([]int{784}, &graph.Dense{Units: 20}, offsetLayer{}, graph.Softmax{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := export.WriteSummary(&b, m); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Total params: 15,720 (", "Trainable params: 15,700 (", "Non-trainable params: 20 (80.00 B)", "offset1 (offset)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	d, err := export.NewDocument(m)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	for _, n := range d.Graph.Nodes {
		roles[n.Name] = n.Role
	}
	if roles["offset1.offset"] != export.RoleBuffer || roles["fc1.weight"] != export.RoleParam {
		t.Errorf("roles %v", roles)
	}
	if p := d.Params[2]; p.Name != "offset1.offset" || p.Trainable || !d.Params[0].Trainable {
		t.Errorf("params %+v", d.Params)
	}
}
