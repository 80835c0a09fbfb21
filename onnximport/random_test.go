package onnximport_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/onnximport"
	"gorgonia.org/tensor"
)

// Differential test: seeded random graphs of the supported operators
// (randomGraph), with drawn shapes, attributes and constants. Every graph
// the importer accepts must compute in tapenet what ONNX Runtime computes
// from the same graph; a graph ONNX Runtime refuses is counted, not
// compared (the importer may accept a graph that breaks a rule it need
// not check, but never computes something else).
func TestRandomGraphsMatchORT(t *testing.T) {
	const graphs = 3000
	rng := rand.New(rand.NewPCG(2024, 11))
	type accepted struct {
		name  string
		ops   []string
		y     []float32
		shape []int
	}
	var runs []accepted
	var jobs []ortJob
	refused := map[string]int{}
	for k := range graphs {
		prog := make([]byte, 64)
		for i := range prog {
			prog[i] = byte(rng.IntN(256))
		}
		mp := randomGraph(&stream{prog})
		m, err := onnximport.FromProto(mp)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("graph %d: %v", k, err)
			}
			refused[firstWords(err.Error())]++
			continue
		}
		sample := m.Input()
		x := make([]float32, 3*shapeProduct(sample))
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		out, err := graph.NewPredictor(m).Forward(tensor.New(tensor.WithShape(append([]int{3}, sample...)...), tensor.WithBacking(slices.Clone(x))))
		if err != nil {
			t.Fatalf("graph %d (%v): imported but does not run: %v", k, opsOf(mp.Graph.Node), err)
		}
		if out.Dtype() != tensor.Float32 {
			refused["non-float output (the node suite checks those)"]++
			continue
		}
		runs = append(runs, accepted{fmt.Sprintf("graph %d opset %d", k, mp.OpsetImport[0].Version), opsOf(mp.Graph.Node), out.Data().([]float32), append([]int{3}, m.OutputShape(0)...)})
		jobs = append(jobs, ortJob{Model: marshal(t, mp), Batch: 2, Inputs: []ortInput{{Name: "x", Data: x, Dims: append([]int{3}, sample...)}}})
	}
	t.Logf("%d random graphs: %d imported; refusals: %v", graphs, len(runs), refused)
	if _, ok := ortAvailable(); !ok {
		t.Skip("ONNX Runtime not available")
	}
	res, version := runORT(t, jobs)
	ortRefused, compared := 0, 0
	for k, r := range runs {
		if res[k].Err != "" {
			ortRefused++
			t.Logf("%s %v: imported, ORT refuses: %.160s", r.name, r.ops, res[k].Err)
			continue
		}
		compared++
		o := res[k].Outputs[0]
		if !slices.Equal(o.Dims, r.shape) {
			t.Errorf("%s %v: tapenet output %v, ORT %s %v", r.name, r.ops, r.shape, version, o.Dims)
			continue
		}
		if i, ok := sameValues(r.y, o.Data); !ok {
			t.Errorf("%s %v: value %d: tapenet %v, ORT %s %v", r.name, r.ops, i, r.y[i], version, o.Data[i])
		}
	}
	t.Logf("compared with ORT %s: %d; ORT refused %d the importer took", version, compared, ortRefused)
	if compared < 100 {
		t.Errorf("only %d graphs compared", compared)
	}
}

// sameValues compares element by element, NaN to NaN and infinities
// exactly, others within 1e-4 relative.
func sameValues(a, b []float32) (int, bool) {
	if len(a) != len(b) {
		return 0, false
	}
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		switch {
		case math.IsNaN(x) || math.IsNaN(y):
			if math.IsNaN(x) != math.IsNaN(y) {
				return i, false
			}
		case math.IsInf(x, 0) || math.IsInf(y, 0):
			if x != y {
				return i, false
			}
		case math.Abs(x-y) > 1e-4*(1+math.Abs(y)):
			return i, false
		}
	}
	return 0, true
}

// firstWords keeps an error's gist for counting refusals.
func firstWords(s string) string {
	if i := strings.Index(s, "): "); i >= 0 {
		s = s[i+3:]
	}
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}
