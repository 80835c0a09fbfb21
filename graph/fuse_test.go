package graph_test

import (
	"math"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
)

// A Predictor runs Conv2D → ReLU → MaxPool2D as one op (BuildOptions.Fuse)
// and must give the unfused graph's outputs bit for bit; a chain whose
// ReLU output is also used elsewhere is not fused.
func TestFusedConvBlockMatchesLayers(t *testing.T) {
	in := graph.Input("image", 2, 13, 13)
	conv := graph.Apply(&graph.Conv2D{Filters: 5, Kernel: 3, Padding: 1}, in)
	act := graph.Apply(graph.ReLU{}, conv)
	pooled := graph.Apply(&graph.MaxPool2D{Kernel: 2}, act)
	fused := graph.Apply(&graph.Dense{Units: 4}, graph.Apply(graph.Flatten{}, pooled))
	// A second branch: a chain whose ReLU output also feeds a GAP.
	conv2 := graph.Apply(&graph.Conv2D{Filters: 3, Kernel: 3, Stride: 2}, in)
	act2 := graph.Apply(graph.ReLU{}, conv2)
	side := graph.Apply(graph.GlobalAvgPool2D{}, act2)
	kept := graph.Apply(graph.Flatten{}, graph.Apply(&graph.MaxPool2D{Kernel: 3, Stride: 2, Padding: 1}, act2))
	out := graph.Apply(graph.Softmax{}, graph.Apply(&graph.Concat{}, fused, side, kept))
	m, err := graph.NewModel([]*graph.Tensor{in}, []*graph.Tensor{out})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	const batch = 3
	x := randomBatch(batch, 2*13*13, 4)
	x.Reshape(batch, 2, 13, 13)

	p, err := m.BuildWith(batch, graph.BuildOptions{Fuse: true})
	if err != nil {
		t.Fatal(err)
	}
	nils := 0
	for _, n := range p.Nodes {
		if n == nil {
			nils++
		}
	}
	if nils != 2 {
		t.Fatalf("fused program: %d nodes left out, want 2 (the first chain's conv and relu)", nils)
	}

	plain, err := m.Build(batch)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(plain.Graph)
	defer vm.Close()
	if err := gorgonia.Let(plain.Inputs[0], x); err != nil {
		t.Fatal(err)
	}
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	want := plain.Outputs[0].Value().(*tensor.Dense).Float32s()

	got, err := graph.NewPredictor(m).Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	g := got.Float32s()
	if len(g) != len(want) {
		t.Fatalf("%d outputs, want %d", len(g), len(want))
	}
	for i := range want {
		if math.Float32bits(g[i]) != math.Float32bits(want[i]) {
			t.Fatalf("output %d = %v, unfused graph %v", i, g[i], want[i])
		}
	}
}
