package onnximport_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/onnximport"
)

// The other sequence layers' ONNX forms (Embedding's Gather over int64
// ids, TimeDense's MatMul + Add, LayerNorm's and GELU's decompositions)
// import with a fixed batch (as a default PyTorch export has) and compute
// what the original computes (every operator then an onnx-op layer). With
// the symbolic batch all but LayerNorm import (ReduceMean needs fixed
// shapes there) and the embedding becomes graph.Embedding.
func TestSeqLayersRoundTrip(t *testing.T) {
	for _, fixed := range []bool{false, true} {
		ids := graph.Input("ids", 5).As(graph.Int64)
		h := graph.Apply(&graph.TimeDense{Units: 6}, graph.Apply(&graph.Embedding{Vocab: 9, Dim: 6}, ids))
		if fixed {
			h = graph.Apply(&graph.LayerNorm{}, h)
		}
		h = graph.Apply(&graph.GELU{Tanh: true}, graph.Apply(&graph.GELU{}, h))
		m, err := graph.NewModel([]*graph.Tensor{ids}, []*graph.Tensor{h})
		if err != nil {
			t.Fatal(err)
		}
		m.Init(4)
		mp, err := export.ONNXModel(m)
		if err != nil {
			t.Fatal(err)
		}
		if fixed {
			fixBatch(mp, 3)
		}
		back, err := onnximport.FromProto(mp)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, l := range back.Layers() {
			kinds = append(kinds, l.Layer.Kind())
		}
		if !fixed && !slices.Contains(kinds, "embedding") {
			t.Errorf("fixed %v: imported layers %v lack embedding", fixed, kinds)
		}
		checkSame(t, m, back)
	}
}

// checkSame runs m and back on the same int64 ids (3 samples of 5).
func checkSame(t *testing.T, m, back *graph.Model) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	v := make([]int64, 3*5)
	for i := range v {
		v[i] = rng.Int64N(9)
	}
	x := tensor.New(tensor.WithShape(3, 5), tensor.WithBacking(v))
	want, err := graph.NewPredictor(m).Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	got, err := graph.NewPredictor(back).Forward(x.Clone().(*tensor.Dense))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Shape(), want.Shape()) {
		t.Fatalf("imported shape %v, original %v", got.Shape(), want.Shape())
	}
	d := 0.0
	for i, w := range want.Data().([]float32) {
		d = math.Max(d, math.Abs(float64(got.Data().([]float32)[i]-w)))
	}
	if d > 1e-5 {
		t.Errorf("imported model differs by %.3g", d)
	}
	t.Logf("max |difference| %.3g", d)
}
