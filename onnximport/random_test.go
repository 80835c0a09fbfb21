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
	// The inputs from a stream of their own, so that what is accepted
	// does not move the graphs' inputs.
	xrng := rand.New(rand.NewPCG(2025, 12))
	type accepted struct {
		name  string
		ops   []string
		y     []float32
		shape []int
		// slack: how much each output moves when the input moves by
		// 2^-20 of itself, the graph's sensitivity to rounding.
		slack []float32
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
				t.Fatalf("graph %d (%v): %v", k, opsOf(mp.Graph.Node), err)
			}
			refused[firstWords(err.Error())]++
			continue
		}
		sample := m.Input()
		x := make([]float32, 3*shapeProduct(sample))
		for i := range x {
			x[i] = float32(xrng.NormFloat64())
		}
		out, err := graph.NewPredictor(m).Forward(tensor.New(tensor.WithShape(append([]int{3}, sample...)...), tensor.WithBacking(slices.Clone(x))))
		if err != nil && strings.Contains(err.Error(), "onnx.Cast: cast of") && strings.Contains(err.Error(), "out of range") {
			// A float that is NaN or out of the integer type's range: ONNX
			// leaves the result undefined, tapenet stops with an error.
			refused["Cast to an integer of a value out of its range (undefined in ONNX)"]++
			continue
		}
		if err != nil {
			t.Fatalf("graph %d (%v): imported but does not run: %v", k, opsOf(mp.Graph.Node), err)
		}
		if out.Dtype() != tensor.Float32 {
			refused["non-float output (the node suite checks those)"]++
			continue
		}
		xp := make([]float32, len(x))
		for i, v := range x {
			xp[i] = v * (1 + 1.0/(1<<20))
		}
		moved, err := graph.NewPredictor(m).Forward(tensor.New(tensor.WithShape(append([]int{3}, sample...)...), tensor.WithBacking(xp)))
		if err != nil {
			t.Fatalf("graph %d (%v): runs, then not on a nudged input: %v", k, opsOf(mp.Graph.Node), err)
		}
		y := out.Data().([]float32)
		slack := make([]float32, len(y))
		for i, v := range moved.Data().([]float32) {
			slack[i] = float32(math.Abs(float64(v - y[i])))
		}
		runs = append(runs, accepted{fmt.Sprintf("graph %d opset %d", k, mp.OpsetImport[0].Version), opsOf(mp.Graph.Node), y, append([]int{3}, m.OutputShape(0)...), slack})
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
		if i, ok := sameValues(r.y, o.Data, r.slack); !ok {
			t.Errorf("%s %v: value %d: tapenet %v, ORT %s %v", r.name, r.ops, i, r.y[i], version, o.Data[i])
		}
	}
	t.Logf("compared with ORT %s: %d; ORT refused %d the importer took", version, compared, ortRefused)
	if compared < 100 {
		t.Errorf("only %d graphs compared", compared)
	}
}

// sameValues compares element by element, NaN to NaN and infinities
// exactly, others within 1e-4 relative plus 16 times the slack (how much
// the value moves when the input moves by 2^-20 of itself: float32
// rounding inside an ill-conditioned graph, such as Tan near a pole).
func sameValues(a, b, slack []float32) (int, bool) {
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
		case math.Abs(x-y) > 1e-4*(1+math.Abs(y))+16*float64(slack[i]):
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
