package graph_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
)

// sum0 sums its input over axis 0: the batch axis, which only an input of
// a fixed batch lets a layer address.
type sum0 struct{}

func (sum0) Kind() string { return "test_sum0" }
func (sum0) Forward(_ *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.Sum(x, 0)
}

// addRow adds a (D) row to every row of a (N, D) input.
type addRow struct{}

func (addRow) Kind() string { return "test_addrow" }
func (addRow) Forward(*graph.Scope, *gorgonia.Node) (*gorgonia.Node, error) {
	return nil, nil
}
func (addRow) Merge(_ *graph.Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.BroadcastAdd(xs[0], xs[1], nil, []byte{0})
}

func fixedRegistry(t *testing.T) *graph.Registry {
	t.Helper()
	reg := graph.Builtin()
	if err := reg.Register("test_sum0", func() graph.Layer { return sum0{} }); err != nil {
		t.Fatal(err)
	}
	return reg
}

// fixedModel is x (4, 3), a fixed batch, -> dense 2 -> sum over axis 0,
// with W = [[1 0] [0 1] [1 1]] and b = [0.5 -1].
func fixedModel(t *testing.T) *graph.Model {
	t.Helper()
	x := graph.Input("x", 3).WithBatch(4)
	out := graph.Apply(sum0{}, graph.Apply(&graph.Dense{Units: 2}, x))
	m, err := graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{out})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetParam("fc1.weight", []int{3, 2}, []float32{1, 0, 0, 1, 1, 1}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetParam("fc1.bias", []int{2}, []float32{0.5, -1}); err != nil {
		t.Fatal(err)
	}
	return m
}

func seqTensor(shape ...int) *tensor.Dense {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i + 1)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
}

func TestFixedBatchReducesOverAxis0(t *testing.T) {
	m := fixedModel(t)
	if in := m.Inputs()[0]; in.Batch != 4 || !slices.Equal(in.Shape, []int{3}) {
		t.Fatalf("input %+v, want batch 4 of [3]", in)
	}
	if got := m.FixedBatch(); got != 4 {
		t.Errorf("FixedBatch %d, want 4", got)
	}
	nodes := m.Nodes()
	// Dense keeps the fixed first axis: (4, 2); the sum has none left: its
	// (2) is recorded as Batch 2, Shape [].
	if n := nodes[0]; n.Batch != 4 || !slices.Equal(n.Shape, []int{2}) || n.DType != graph.Float32 {
		t.Errorf("dense node %+v, want Batch 4 Shape [2]", n)
	}
	if n := nodes[1]; n.Batch != 2 || len(n.Shape) != 0 {
		t.Errorf("sum node %+v, want Batch 2 Shape []", n)
	}
	// Rows r_i = [3i+1, 3i+2, 3i+3]: dense gives [6i+4.5, 6i+4], and the
	// sum over i = 0..3 is [36+18, 36+16].
	out, err := graph.NewPredictor(m).Forward(seqTensor(4, 3))
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Data().([]float32); !slices.Equal([]int(out.Shape()), []int{2}) || !slices.Equal(got, []float32{54, 52}) {
		t.Errorf("output %v %v, want (2) [54 52]", out.Shape(), got)
	}
	for _, tc := range []struct {
		x    *tensor.Dense
		want string
	}{
		{seqTensor(5, 3), "input x has shape [5 3], model wants [4 3] (a fixed batch)"},
		{seqTensor(3), "input x has shape [3], model wants [4 3] (a fixed batch)"},
	} {
		if _, err := graph.NewPredictor(m).Forward(tc.x); err == nil || err.Error() != tc.want {
			t.Errorf("shape %v: %v, want %q", tc.x.Shape(), err, tc.want)
		}
	}
	// Build takes only the fixed batch.
	if p, err := m.Build(4); err != nil || p.Batch != 4 || !slices.Equal([]int(p.Input().Shape()), []int{4, 3}) {
		t.Errorf("Build(4): %v", err)
	}
	if _, err := m.Build(8); err == nil || !strings.Contains(err.Error(), "batch must be 4, got 8") {
		t.Errorf("Build(8): %v", err)
	}
	if got := m.SampleValues(); got != 0 {
		t.Errorf("SampleValues %d, want 0: nothing grows with a batch", got)
	}
}

func TestFixedBatchSpecAndCheckpoint(t *testing.T) {
	m := fixedModel(t)
	b, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"inputs":[{"name":"x","shape":[3],"batch":4}]`) {
		t.Errorf("spec %s", b)
	}
	back, err := graph.FromSpec(b, fixedRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	if bb, _ := back.MarshalJSON(); !bytes.Equal(bb, b) {
		t.Errorf("spec round trip %s", bb)
	}
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, m); err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Read(bytes.NewReader(buf.Bytes()), fixedRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	if ck.FixedBatch() != 4 || ck.Nodes()[1].Batch != 2 {
		t.Errorf("reloaded: fixed batch %d, nodes %+v", ck.FixedBatch(), ck.Nodes())
	}
	out, err := graph.NewPredictor(ck).Forward(seqTensor(4, 3))
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Data().([]float32); !slices.Equal(got, []float32{54, 52}) {
		t.Errorf("reloaded output %v, want [54 52]", got)
	}
}

func TestAxis0NeedsAFixedBatch(t *testing.T) {
	out := graph.Apply(sum0{}, graph.Input("x", 3))
	if err := out.Err(); err == nil || !strings.Contains(err.Error(), "has no batch dimension") {
		t.Errorf("sum over a symbolic batch: %v", err)
	}
}

func TestMixedBatchModel(t *testing.T) {
	x := graph.Input("x", 3)
	bias := graph.Input("bias").WithBatch(3) // one (3) tensor for every batch
	out := graph.Apply(addRow{}, x, bias)
	if out.Batch() != 0 || !slices.Equal(out.Shape(), []int{3}) {
		t.Fatalf("output batch %d shape %v, want symbolic (3)", out.Batch(), out.Shape())
	}
	m, err := graph.NewModel([]*graph.Tensor{x, bias}, []*graph.Tensor{out})
	if err != nil {
		t.Fatal(err)
	}
	if m.FixedBatch() != 0 {
		t.Errorf("mixed model: FixedBatch %d", m.FixedBatch())
	}
	b := tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{0, 10, 0}))
	xs := tensor.New(tensor.WithShape(5, 3), tensor.WithBacking([]float32{20, 0, 0, 0, 0, 0, 0, 0, 11, 1, 2, 3, 0, 0, 0}))
	pr := graph.NewPredictor(m)
	outs, err := pr.Predict(xs, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{20, 10, 0, 0, 10, 0, 0, 10, 11, 1, 12, 3, 0, 10, 0}
	if got := outs[0].Data().([]float32); !slices.Equal(got, want) {
		t.Errorf("x + bias = %v, want %v", got, want)
	}
	// Classify splits x in batches of 2 and gives each the whole bias.
	pr.Workers = 2
	classes, err := pr.ClassifyInputs([]*tensor.Dense{xs, b}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 2, 1, 1}; !slices.Equal(classes, want) {
		t.Errorf("classes %v, want %v", classes, want)
	}
	if _, err := pr.Predict(xs, tensor.New(tensor.WithShape(2, 3), tensor.Of(tensor.Float32))); err == nil || err.Error() != "input bias has shape [2 3], model wants [3] (a fixed batch)" {
		t.Errorf("bias (2, 3): %v", err)
	}
}

func TestClassifyFixedBatch(t *testing.T) {
	x := graph.Input("x", 3).WithBatch(4)
	out := graph.Apply(&graph.Dense{Units: 2}, x)
	m, err := graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{out})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetParam("fc1.weight", []int{3, 2}, []float32{1, 0, 0, 1, 0, 0}); err != nil {
		t.Fatal(err)
	}
	// The output is [x0, x1] per row: classes 0, 1, 0 and a tie (0).
	xs := tensor.New(tensor.WithShape(4, 3), tensor.WithBacking([]float32{5, 1, 0, 0, 2, 0, 3, 1, 0, 0, 0, 7}))
	got, err := graph.NewPredictor(m).Classify(xs, 3) // the batch asked for does not split a fixed batch
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("classes %v, want %v", got, want)
	}
	// Two fixed batches run one after the other: the samples above, then
	// rows whose classes are 1, 0, 1, 1.
	two := tensor.New(tensor.WithShape(8, 3), tensor.WithBacking([]float32{
		5, 1, 0, 0, 2, 0, 3, 1, 0, 0, 0, 7,
		0, 9, 0, 4, 3, 0, -1, 0, 0, 2, 8, 1}))
	got, err = graph.NewPredictor(m).Classify(two, 100)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 0, 0, 1, 0, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("two batches: classes %v, want %v", got, want)
	}
	if _, err := graph.NewPredictor(m).Classify(seqTensor(6, 3), 4); err == nil || !strings.Contains(err.Error(), "model wants [4 3] (a fixed batch)") {
		t.Errorf("6 samples (not a whole number of batches of 4): %v", err)
	}
}

func TestScalarSampleInputSpec(t *testing.T) {
	x := graph.Input("bias").WithBatch(3)
	m, err := graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{graph.Apply(graph.Identity{}, x)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"inputs":[{"name":"bias","shape":[],"batch":3}]`) {
		t.Errorf("spec %s", b)
	}
	back, err := graph.FromSpec(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if in := back.Inputs()[0]; in.Batch != 3 || len(in.Shape) != 0 {
		t.Errorf("reloaded input %+v", in)
	}
}
