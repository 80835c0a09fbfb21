package graph_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"github.com/tapenet/tapenet/graph/ops"
)

// lookupLayer is a test embedding outside package graph: integer ids of
// any shape pick rows of a (Vocab, Dim) table (ops.Lookup).
type lookupLayer struct {
	Vocab int `json:"vocab"`
	Dim   int `json:"dim"`
}

func (*lookupLayer) Kind() string { return "test_lookup" }

func (l *lookupLayer) Params([]int) ([]graph.ParamSpec, error) {
	return []graph.ParamSpec{{Name: "table", Shape: []int{l.Vocab, l.Dim}, Init: graph.Normal(0.5)}}, nil
}

func (*lookupLayer) CheckTypes(in []graph.DType) error {
	if len(in) != 1 || (in[0] != graph.Int64 && in[0] != graph.Int32) {
		return fmt.Errorf("takes one int64 or int32 input, got %v", in)
	}
	return nil
}

func (*lookupLayer) Forward(s *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	table, err := s.Param("table")
	if err != nil {
		return nil, err
	}
	return ops.Lookup(table, x)
}

func lookupRegistry(t *testing.T) *graph.Registry {
	t.Helper()
	reg := graph.Builtin()
	if err := reg.Register("test_lookup", func() graph.Layer { return &lookupLayer{} }); err != nil {
		t.Fatal(err)
	}
	return reg
}

// tokenModel is ids (T=5, int64) -> lookup (vocab 10, dim 3) -> dense 1.
func tokenModel(t *testing.T) *graph.Model {
	t.Helper()
	ids := graph.Input("ids", 5).As(graph.Int64)
	emb := graph.Apply(&lookupLayer{Vocab: 10, Dim: 3}, ids)
	out := graph.Apply(&graph.Dense{Units: 1, Init: "xavier"}, emb)
	m, err := graph.NewModel([]*graph.Tensor{ids}, []*graph.Tensor{out})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(7)
	return m
}

// tokens returns n rows of 5 ids in [0, 10) and as targets the mean of a
// fixed score per id: what an embedding and a dense layer can fit.
func tokens(n int, seed uint64) (*tensor.Dense, *tensor.Dense) {
	rng := rand.New(rand.NewPCG(seed, 2))
	score := []float32{-1, 0.5, 2, -0.3, 1, 0, -2, 0.7, 1.5, -0.8}
	ids := make([]int64, 5*n)
	ys := make([]float32, n)
	for i := range n {
		for j := range 5 {
			id := rng.Int64N(10)
			ids[5*i+j] = id
			ys[i] += score[id] / 5
		}
	}
	return tensor.New(tensor.WithShape(n, 5), tensor.WithBacking(ids)), tensor.New(tensor.WithShape(n, 1), tensor.WithBacking(ys))
}

// sgdSteps trains m on (x, y) with mean squared error and plain SGD in a
// graph built here (graph/train's trainer is not needed) and returns the
// loss of every step.
func sgdSteps(t *testing.T, m *graph.Model, x, y *tensor.Dense, steps int, lr float32) []float32 {
	t.Helper()
	p, err := m.BuildWith(x.Shape()[0], graph.BuildOptions{Training: true})
	if err != nil {
		t.Fatal(err)
	}
	target := gorgonia.NewTensor(p.Graph, tensor.Float32, 2, gorgonia.WithShape(y.Shape()...), gorgonia.WithValue(y), gorgonia.WithName("target"))
	diff, err := gorgonia.Sub(p.Output(), target)
	if err != nil {
		t.Fatal(err)
	}
	sq, err := gorgonia.Square(diff)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := gorgonia.Mean(sq)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gorgonia.Grad(loss, p.Learnables...); err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(p.Graph, gorgonia.BindDualValues(p.Learnables...))
	defer vm.Close()
	var losses []float32
	for range steps {
		if err := gorgonia.Let(p.Input(), x); err != nil {
			t.Fatal(err)
		}
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		losses = append(losses, loss.Value().Data().(float32))
		for _, n := range p.Learnables {
			g, err := n.Grad()
			if err != nil {
				t.Fatal(err)
			}
			w := n.Value().Data().([]float32) // the model's own numbers
			gs := g.Data().([]float32)
			for i, v := range gs {
				w[i] -= lr * v
			}
			clear(gs) // the tape machine adds to the gradient at every run

		}
		vm.Reset()
	}
	return losses
}

func TestInt64InputTrainsAndRoundTrips(t *testing.T) {
	m := tokenModel(t)
	if in := m.Inputs()[0]; in.DType != graph.Int64 || in.Batch != 0 || !slices.Equal(in.Shape, []int{5}) {
		t.Fatalf("input spec %+v, want int64 (batch, 5)", in)
	}
	nodes := m.Nodes()
	if nodes[0].DType != graph.Float32 || !slices.Equal(nodes[0].Shape, []int{5, 3}) {
		t.Errorf("lookup node %+v, want float32 (5, 3)", nodes[0])
	}
	x, y := tokens(64, 1)
	losses := sgdSteps(t, m, x, y, 150, 0.2)
	first, last := losses[0], losses[len(losses)-1]
	t.Logf("loss %.4f -> %.4f", first, last)
	if !(last < first/10) {
		t.Errorf("loss %.4f -> %.4f: did not fall tenfold", first, last)
	}
	want, err := graph.NewPredictor(m).Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, m); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `\"dtype\":\"int64\"`) {
		t.Error("checkpoint spec does not carry the input's dtype")
	}
	back, err := checkpoint.Read(bytes.NewReader(buf.Bytes()), lookupRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	if in := back.Inputs()[0]; in.DType != graph.Int64 {
		t.Errorf("reloaded input %+v, want int64", in)
	}
	got, err := graph.NewPredictor(back).Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Data().([]float32), want.Data().([]float32)) {
		t.Error("reloaded model predicts differently")
	}
	// int32 ids are not int64: one line naming the input, given and wanted.
	ids32 := tensor.New(tensor.WithShape(2, 5), tensor.WithBacking(make([]int32, 10)))
	_, err = graph.NewPredictor(back).Forward(ids32)
	if err == nil || err.Error() != "input ids is int32 of shape [2 5], model wants int64 (batch, 5)" {
		t.Errorf("int32 ids: %v", err)
	}
	// An id beyond the table is an error of the run, not a panic.
	bad := tensor.New(tensor.WithShape(1, 5), tensor.WithBacking([]int64{0, 1, 10, 2, 3}))
	if _, err := graph.NewPredictor(back).Forward(bad); err == nil || !strings.Contains(err.Error(), "id 10 at position 2 is outside [0, 10)") {
		t.Errorf("id 10: %v", err)
	}
}

func TestTypedInputsThroughPredictor(t *testing.T) {
	// Every dtype reaches a layer that takes it (Identity passes anything
	// that its TypeChecker-less default refuses, so use a test layer).
	for _, d := range []graph.DType{graph.Int64, graph.Int32, graph.Bool, graph.Float64} {
		x := graph.Input("x", 3).As(d)
		out := graph.Apply(anyType{}, x)
		m, err := graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{out})
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if got := m.Nodes()[0].DType; got != d {
			t.Errorf("%s: node dtype %s", d, got)
		}
		in := tensor.New(tensor.WithShape(2, 3), tensor.Of(d.Tensor()))
		outs, err := graph.NewPredictor(m).Predict(in)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if outs[0].Dtype() != d.Tensor() || !slices.Equal([]int(outs[0].Shape()), []int{2, 3}) {
			t.Errorf("%s: output %v %v", d, outs[0].Dtype(), outs[0].Shape())
		}
		wrong := tensor.New(tensor.WithShape(2, 3), tensor.Of(tensor.Float32))
		if _, err := graph.NewPredictor(m).Predict(wrong); err == nil || err.Error() != fmt.Sprintf("input x is float32 of shape [2 3], model wants %s (batch, 3)", d) {
			t.Errorf("%s: float32 given: %v", d, err)
		}
	}
}

// anyType passes its input through, whatever its element type.
type anyType struct{}

func (anyType) Kind() string                   { return "test_any" }
func (anyType) CheckTypes([]graph.DType) error { return nil }
func (anyType) Forward(_ *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return x, nil
}

func TestDeclarationTypeErrors(t *testing.T) {
	ids := graph.Input("ids", 4).As(graph.Int64)
	for _, tc := range []struct {
		name       string
		t          *graph.Tensor
		layer, msg string // want a LayerError of this layer name and message
	}{
		{"dense on int64", graph.Apply(&graph.Dense{Units: 2}, ids), "", "layer dense: input 0 is int64; this layer takes float32"},
		{"named", graph.ApplyNamed("fc", &graph.Dense{Units: 2}, ids), "fc", "layer fc (dense): input 0 is int64"},
		{"lookup on float32", graph.Apply(&lookupLayer{Vocab: 3, Dim: 2}, graph.Input("f", 4)), "", "layer test_lookup: takes one int64 or int32 input"},
	} {
		var le *graph.LayerError
		if err := tc.t.Err(); !errors.As(err, &le) || le.Layer != tc.layer || !strings.HasPrefix(err.Error(), tc.msg) {
			t.Errorf("%s: %v (LayerError %+v)", tc.name, err, le)
		}
	}
	for _, tc := range []struct {
		t    *graph.Tensor
		want string
	}{
		{graph.Apply(graph.ReLU{}, graph.Input("x", 2)).As(graph.Int64), "as int64: the output of a relu layer is not a model input"},
		{graph.Apply(graph.ReLU{}, graph.Input("x", 2)).WithBatch(3), "with batch 3: the output of a relu layer is not a model input"},
		{graph.Input("x", 2).As("complex"), `input x: unknown element type "complex"`},
		{graph.Input("x", 2).WithBatch(-1), "input x: fixed batch -1"},
	} {
		if err := tc.t.Err(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	if d := graph.Input("x", 2).DType(); d != graph.Float32 {
		t.Errorf("default dtype %q", d)
	}
	if d := graph.Input("x", 2).As(graph.Bool).DType(); d != graph.Bool {
		t.Errorf("bool input: dtype %q", d)
	}
}

func TestSpecCarriesTypesAndKeepsFloat32Bytes(t *testing.T) {
	x := graph.Input("input", 4)
	out := graph.Apply(graph.Softmax{}, graph.Apply(&graph.Dense{Units: 3}, x))
	m, err := graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{out})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"format":"tapenet.model/v2","inputs":[{"name":"input","shape":[4]}],"layers":[{"name":"fc1","kind":"dense","config":{"units":3}},{"name":"softmax1","kind":"softmax"}],"nodes":[{"layer":"fc1","inputs":["input"]},{"layer":"softmax1","inputs":["fc1"]}],"outputs":["softmax1"]}`
	if string(b) != want {
		t.Errorf("float32 spec\n%s\nwant\n%s", b, want)
	}
	// An explicit Float32 is the zero value too.
	x32 := graph.Input("input", 4).As(graph.Float32)
	m32, err := graph.NewModel([]*graph.Tensor{x32}, []*graph.Tensor{graph.Apply(graph.Softmax{}, graph.Apply(&graph.Dense{Units: 3}, x32))})
	if err != nil {
		t.Fatal(err)
	}
	if b32, _ := m32.MarshalJSON(); string(b32) != want {
		t.Errorf("As(Float32) spec %s", b32)
	}
	typed := tokenModel(t)
	tb, err := typed.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(tb), `"inputs":[{"name":"ids","shape":[5],"dtype":"int64"}]`) {
		t.Errorf("typed spec %s", tb)
	}
	back, err := graph.FromSpec(tb, lookupRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	if bb, _ := back.MarshalJSON(); !bytes.Equal(bb, tb) {
		t.Errorf("spec round trip:\n%s\n%s", bb, tb)
	}
}

func TestLogSoftmax(t *testing.T) {
	x := graph.Input("x", 3)
	out := graph.Apply(graph.LogSoftmax{}, x)
	m, err := graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{out})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.OutputMeaning(0); got != graph.LogProbabilities {
		t.Errorf("meaning %s", got)
	}
	in := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1, 2, 3, 1000, 0, -1000}))
	y, err := graph.NewPredictor(m).Forward(in)
	if err != nil {
		t.Fatal(err)
	}
	// Row 1: x - (3 + log(1 + e^-1 + e^-2)); row 2 far apart: its own max.
	lse := 3 + math.Log(1+math.Exp(-1)+math.Exp(-2))
	want := []float64{1 - lse, 2 - lse, 3 - lse, 0, -1000, -2000}
	for i, v := range y.Data().([]float32) {
		if math.Abs(float64(v)-want[i]) > 1e-4*(1+math.Abs(want[i])) {
			t.Errorf("log_softmax[%d] = %v, want %v", i, v, want[i])
		}
	}
}

func TestLogitsCutsEveryNormalizer(t *testing.T) {
	for _, tc := range []struct {
		layer graph.Layer
		cut   bool
	}{
		{graph.Softmax{}, true}, {graph.LogSoftmax{}, true}, {graph.Sigmoid{}, true}, {graph.ReLU{}, false},
	} {
		x := graph.Input("x", 2)
		h := graph.Apply(&graph.Dense{Units: 3}, x)
		m, err := graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{graph.Apply(tc.layer, h)})
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.BuildWith(4, graph.BuildOptions{Logits: true})
		if err != nil {
			t.Fatal(err)
		}
		if p.Cut[0] != tc.cut || (p.Output() == p.Nodes[0]) != tc.cut {
			t.Errorf("%s: cut %v, output is the dense node: %v; want %v", tc.layer.Kind(), p.Cut[0], p.Output() == p.Nodes[0], tc.cut)
		}
	}
}

func TestClassifyAsksTheMeaning(t *testing.T) {
	// One logit per sample: weight 1, bias 0, so the class is x > 0.
	x := tensor.New(tensor.WithShape(4, 1), tensor.WithBacking([]float32{-2, 0.5, 3, -0.1}))
	for _, act := range []graph.Layer{graph.Sigmoid{}} {
		m, err := graph.NewSequential([]int{1}, &graph.Dense{Units: 1}, act)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SetParam("fc1.weight", []int{1, 1}, []float32{1}); err != nil {
			t.Fatal(err)
		}
		got, err := graph.NewPredictor(m).Classify(x, 3)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{0, 1, 1, 0}; !slices.Equal(got, want) {
			t.Errorf("%s: classes %v, want %v", act.Kind(), got, want)
		}
	}
}

func TestDefaultRegistry(t *testing.T) {
	reg := graph.DefaultRegistry()
	if reg != graph.DefaultRegistry() {
		t.Error("DefaultRegistry is not one registry")
	}
	for _, k := range graph.Builtin().Kinds() {
		if !slices.Contains(reg.Kinds(), k) {
			t.Errorf("default registry lacks %q", k)
		}
	}
	if !slices.Contains(reg.Kinds(), "log_softmax") {
		t.Error("no log_softmax kind")
	}
	if err := graph.RegisterDefault("dense", func() graph.Layer { return &graph.Dense{} }); err == nil {
		t.Error("registering dense twice: no error")
	}
	spec := `{"format":"tapenet.model/v2","inputs":[{"name":"x","shape":[3]}],"layers":[{"name":"l","kind":"log_softmax"}],"nodes":[{"layer":"l","inputs":["x"]}],"outputs":["l"]}`
	m, err := graph.FromSpec([]byte(spec), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.OutputLayer(0).(graph.LogSoftmax); !ok {
		t.Errorf("layer %T", m.OutputLayer(0))
	}
}
