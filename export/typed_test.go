package export_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"

	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/ops"
)

// sumAxis0 sums over the first axis (of an input of a fixed batch).
type sumAxis0 struct{}

func (sumAxis0) Kind() string { return "test_sum0" }
func (sumAxis0) Forward(_ *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.Sum(x, 0)
}

// embed looks int ids up in a (10, 2) table.
type embed struct{}

func (embed) Kind() string                   { return "test_embed" }
func (embed) CheckTypes([]graph.DType) error { return nil }
func (embed) Params([]int) ([]graph.ParamSpec, error) {
	return []graph.ParamSpec{{Name: "table", Shape: []int{10, 2}}}, nil
}
func (embed) Forward(s *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	table, err := s.Param("table")
	if err != nil {
		return nil, err
	}
	return ops.Lookup(table, x)
}

func TestSummaryAndJSONShowBatchAndDType(t *testing.T) {
	x := graph.Input("x", 3).WithBatch(4)
	ids := graph.Input("ids", 5).As(graph.Int64)
	s := graph.Apply(sumAxis0{}, graph.Apply(&graph.Dense{Units: 2}, x))
	f := graph.Apply(&graph.Dense{Units: 2}, graph.Apply(embed{}, ids))
	m, err := graph.NewModel([]*graph.Tensor{x, ids}, []*graph.Tensor{s, f})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := export.WriteSummary(&b, m); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"x (InputLayer)              (4, 3)",
		"ids (InputLayer)            (None, 5) int64",
		"fc1 (dense)                 (4, 2)",
		"test_sum01 (test_sum0)      (2)",
		"fc2 (dense)                 (None, 2)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	t.Log("\n" + b.String())
	b.Reset()
	if err := export.WriteJSON(&b, m); err != nil {
		t.Fatal(err)
	}
	var doc export.Document
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	wantIn := []export.TensorInfo{{Name: "x", Shape: []int{4, 3}, DType: "float32"}, {Name: "ids", Shape: []int{-1, 5}, DType: "int64"}}
	wantOut := []export.TensorInfo{{Name: "test_sum01", Shape: []int{2}, DType: "float32"}, {Name: "fc2", Shape: []int{-1, 2}, DType: "float32"}}
	eq := func(a, b export.TensorInfo) bool {
		return a.Name == b.Name && a.DType == b.DType && slices.Equal(a.Shape, b.Shape)
	}
	if !slices.EqualFunc(doc.Inputs, wantIn, eq) || !slices.EqualFunc(doc.Outputs, wantOut, eq) {
		t.Errorf("inputs %+v outputs %+v, want %+v %+v", doc.Inputs, doc.Outputs, wantIn, wantOut)
	}
	if in := doc.Spec.Inputs; in[0].Batch != 4 || in[1].DType != graph.Int64 {
		t.Errorf("spec inputs %+v", in)
	}
	for _, l := range doc.Graph.Layers {
		if l.Name == "fc1" && !slices.Equal(l.Shape, []int{4, 2}) {
			t.Errorf("layer fc1 shape %v, want [4 2]", l.Shape)
		}
	}
	if got := export.TensorString([]int{784}, 0, ""); got != "(None, 784)" {
		t.Errorf("TensorString = %q", got)
	}
}
