package onnximport_test

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/onnximport"
	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"
)

// ONNX's backend node tests: one operator each, with inputs and the
// outputs ONNX's reference computes, the suite every ONNX backend measures
// itself by. Generate them (python3-onnx 1.12 writes 922 node tests) with
//
//	/usr/bin/python3 -c 'import numpy as np; np.float=float; np.int=int; np.bool=bool; np.object=object; import sys; sys.argv=["x","generate-data","-o","DIR"]; from onnx.backend.test.cmd_tools import main; main()'
//
// and run TAPENET_ONNX_NODE_TESTS=DIR/node go test -run TestNodeSuite
// ./onnximport (TAPENET_ONNX_NODE_SYMBOLIC=1 makes every input's first
// dimension symbolic first, to see what the operators alone give; set
// TAPENET_ONNX_COVERAGE then, not to overwrite the docs). The test writes the coverage table to
// ../docs/onnx-coverage.md (or $TAPENET_ONNX_COVERAGE) and fails on any
// wrong result or crash; a refusal (an import error) is an honest answer.

// Outcomes of one node test.
const (
	outPass    = "pass"
	outRefused = "refused" // the import gave an error
	outError   = "error"   // imported, but running gave an error
	outWrong   = "wrong"   // ran, and an output differs from ONNX's
	outCrash   = "crash"   // a panic (recovered) or no answer in time
)

var outcomes = []string{outPass, outRefused, outError, outWrong, outCrash}

// nodeResult is one test's outcome.
type nodeResult struct {
	name, op, outcome, note string
}

// Tolerances of onnx.backend.test (its default rtol and atol).
const (
	suiteRtol = 1e-3
	suiteAtol = 1e-7
)

func TestNodeSuite(t *testing.T) {
	dir := os.Getenv("TAPENET_ONNX_NODE_TESTS")
	if dir == "" {
		t.Skip("TAPENET_ONNX_NODE_TESTS is not set (a folder of ONNX backend node tests)")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "test_") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatalf("no test_* folders in %s", dir)
	}
	start := time.Now()
	results := make([]nodeResult, len(names))
	for k, name := range names {
		results[k] = runNodeTest(filepath.Join(dir, name))
		results[k].name = name
	}
	nameOps(results)
	counts := map[string]int{}
	for _, r := range results {
		counts[r.outcome]++
		if r.outcome == outWrong || r.outcome == outCrash {
			t.Errorf("%s (%s): %s: %s", r.name, r.op, r.outcome, r.note)
		}
	}
	summary := fmt.Sprintf("%d node tests: %d pass, %d refused, %d error, %d wrong, %d crash (%.1f%% pass)",
		len(results), counts[outPass], counts[outRefused], counts[outError], counts[outWrong], counts[outCrash], 100*float64(counts[outPass])/float64(len(results)))
	t.Logf("%s (%s)", summary, time.Since(start).Round(time.Millisecond))
	out := os.Getenv("TAPENET_ONNX_COVERAGE")
	if out == "" {
		out = filepath.Join("..", "docs", "onnx-coverage.md")
	}
	if err := writeAtomic(out, coverageMarkdown(results, summary)); err != nil {
		t.Fatal(err)
	}
	t.Logf("coverage table written to %s", out)
}

// runNodeTest imports one test's model and runs each of its data sets.
func runNodeTest(dir string) (r nodeResult) {
	defer func() {
		if p := recover(); p != nil {
			r.outcome, r.note = outCrash, fmt.Sprintf("panic: %v\n%s", p, firstLines(string(debug.Stack()), 12))
		}
	}()
	b, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return nodeResult{outcome: outRefused, note: err.Error()}
	}
	var mp onnx.ModelProto
	if err := proto.Unmarshal(b, &mp); err != nil {
		return nodeResult{outcome: outRefused, note: err.Error()}
	}
	r.op = graphOps(&mp)
	if os.Getenv("TAPENET_ONNX_NODE_SYMBOLIC") != "" {
		// What the importer does without fixed batches: every input's first
		// dimension made symbolic.
		for _, vi := range mp.GetGraph().GetInput() {
			if dims := vi.GetType().GetTensorType().GetShape().GetDim(); len(dims) > 0 {
				dims[0].Value = &onnx.TensorShapeProto_Dimension_DimParam{DimParam: "N"}
			}
		}
		if b, err = proto.Marshal(&mp); err != nil {
			return nodeResult{outcome: outRefused, note: err.Error()}
		}
	}
	type imported struct {
		m   *graph.Model
		err error
	}
	done := make(chan imported, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- imported{err: fmt.Errorf("panic: %v\n%s", p, firstLines(string(debug.Stack()), 12))}
			}
		}()
		m, err := onnximport.Decode(b)
		done <- imported{m, err}
	}()
	var im imported
	select {
	case im = <-done:
	case <-time.After(30 * time.Second):
		r.outcome, r.note = outCrash, "import took over 30 s"
		return r
	}
	if im.err != nil {
		if strings.HasPrefix(im.err.Error(), "panic: ") {
			r.outcome, r.note = outCrash, im.err.Error()
			return r
		}
		r.outcome, r.note = outRefused, im.err.Error()
		return r
	}
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if len(sets) == 0 {
		r.outcome, r.note = outError, "no test_data_set_* folder"
		return r
	}
	// The graph inputs that are not initializers, in order, are the model's.
	inits := map[string]bool{}
	for _, t := range mp.GetGraph().GetInitializer() {
		inits[t.Name] = true
	}
	var inNames []string
	for _, vi := range mp.GetGraph().GetInput() {
		if !inits[vi.GetName()] {
			inNames = append(inNames, vi.GetName())
		}
	}
	pr := graph.NewPredictor(im.m)
	for _, set := range sets {
		var xs []*tensor.Dense
		for k := range inNames {
			x, err := readTensorFile(filepath.Join(set, fmt.Sprintf("input_%d.pb", k)))
			if err != nil {
				r.outcome, r.note = outError, fmt.Sprintf("%s: input %d: %v", filepath.Base(set), k, err)
				return r
			}
			if len(x.Shape()) == 0 {
				// An ONNX scalar is a one-element tensor (1) in tapenet.
				x = asVector(x)
			}
			xs = append(xs, x)
		}
		got, err := pr.Predict(xs...)
		if err != nil {
			r.outcome, r.note = outError, fmt.Sprintf("%s: %v", filepath.Base(set), err)
			return r
		}
		outs := mp.GetGraph().GetOutput()
		if len(got) != len(outs) {
			r.outcome, r.note = outWrong, fmt.Sprintf("%d outputs, ONNX has %d", len(got), len(outs))
			return r
		}
		for k := range outs {
			want, err := readTensorFile(filepath.Join(set, fmt.Sprintf("output_%d.pb", k)))
			if err != nil {
				r.outcome, r.note = outError, fmt.Sprintf("%s: output %d: %v", filepath.Base(set), k, err)
				return r
			}
			if msg := compareTensors(got[k], want); msg != "" {
				r.outcome, r.note = outWrong, fmt.Sprintf("%s: output %d (%s): %s", filepath.Base(set), k, outs[k].GetName(), msg)
				return r
			}
		}
	}
	r.outcome = outPass
	return r
}

// graphOps names the operators of a test's graph: one, or several joined
// by "+".
func graphOps(mp *onnx.ModelProto) string {
	var ops []string
	for _, n := range mp.GetGraph().GetNode() {
		if !slices.Contains(ops, n.OpType) {
			ops = append(ops, n.OpType)
		}
	}
	return strings.Join(ops, "+")
}

// nameOps gives tests of several operators (ONNX's "_expanded" function
// bodies, composite tests) the operator of the test they expand, where one
// of the same name without the suffix exists.
func nameOps(results []nodeResult) {
	byName := map[string]string{}
	for _, r := range results {
		if r.op != "" && !strings.Contains(r.op, "+") {
			byName[r.name] = r.op
		}
	}
	for k, r := range results {
		if !strings.Contains(r.op, "+") && r.op != "" {
			continue
		}
		base := r.name
		for _, suffix := range []string{"_expanded", "_log_prob_expanded"} {
			base = strings.TrimSuffix(base, suffix)
		}
		if op, ok := byName[base]; ok {
			results[k].op = op
			continue
		}
		// Longest test name without the suffix that this one extends.
		best := ""
		for name, op := range byName {
			if strings.HasPrefix(base, name) && len(name) > len(best) {
				best, results[k].op = name, op
			}
		}
		if best == "" && r.op == "" {
			results[k].op = "?"
		}
	}
}

// readTensorFile decodes a serialized TensorProto into a tensor of its
// element type: float32, float64, int64, int32 or bool (other integer
// types widen to int32 or int64; float16 converts to float32).
func readTensorFile(path string) (*tensor.Dense, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var tp onnx.TensorProto
	if err := proto.Unmarshal(b, &tp); err != nil {
		return nil, err
	}
	return protoTensor(&tp)
}

func protoTensor(tp *onnx.TensorProto) (*tensor.Dense, error) {
	shape := make([]int, len(tp.Dims))
	n := 1
	for k, d := range tp.Dims {
		shape[k] = int(d)
		n *= int(d)
	}
	raw := tp.RawData
	dt := onnx.TensorProto_DataType(tp.DataType)
	var backing any
	switch dt {
	case onnx.TensorProto_FLOAT:
		v := make([]float32, n)
		if raw != nil {
			for k := range v {
				v[k] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*k:]))
			}
		} else {
			copy(v, tp.FloatData)
		}
		backing = v
	case onnx.TensorProto_FLOAT16:
		v := make([]float32, n)
		for k := range v {
			var h uint16
			if raw != nil {
				h = binary.LittleEndian.Uint16(raw[2*k:])
			} else {
				h = uint16(tp.Int32Data[k])
			}
			v[k] = half(h)
		}
		backing = v
	case onnx.TensorProto_DOUBLE:
		v := make([]float64, n)
		if raw != nil {
			for k := range v {
				v[k] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*k:]))
			}
		} else {
			copy(v, tp.DoubleData)
		}
		backing = v
	case onnx.TensorProto_INT64, onnx.TensorProto_UINT32, onnx.TensorProto_UINT64:
		v := make([]int64, n)
		for k := range v {
			switch {
			case raw != nil && dt == onnx.TensorProto_UINT32:
				v[k] = int64(binary.LittleEndian.Uint32(raw[4*k:]))
			case raw != nil:
				v[k] = int64(binary.LittleEndian.Uint64(raw[8*k:]))
			case dt == onnx.TensorProto_INT64:
				v[k] = tp.Int64Data[k]
			default:
				v[k] = int64(tp.Uint64Data[k])
			}
		}
		backing = v
	case onnx.TensorProto_INT32, onnx.TensorProto_INT16, onnx.TensorProto_INT8, onnx.TensorProto_UINT16, onnx.TensorProto_UINT8:
		v := make([]int32, n)
		for k := range v {
			if raw == nil {
				v[k] = tp.Int32Data[k]
				continue
			}
			switch dt {
			case onnx.TensorProto_INT32:
				v[k] = int32(binary.LittleEndian.Uint32(raw[4*k:]))
			case onnx.TensorProto_INT16:
				v[k] = int32(int16(binary.LittleEndian.Uint16(raw[2*k:])))
			case onnx.TensorProto_UINT16:
				v[k] = int32(binary.LittleEndian.Uint16(raw[2*k:]))
			case onnx.TensorProto_INT8:
				v[k] = int32(int8(raw[k]))
			default:
				v[k] = int32(raw[k])
			}
		}
		backing = v
	case onnx.TensorProto_BOOL:
		v := make([]bool, n)
		for k := range v {
			if raw != nil {
				v[k] = raw[k] != 0
			} else {
				v[k] = tp.Int32Data[k] != 0
			}
		}
		backing = v
	default:
		return nil, fmt.Errorf("element type %s", dt)
	}
	if len(shape) == 0 {
		return tensor.New(tensor.WithShape(), tensor.WithBacking(backing)), nil
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(backing)), nil
}

// half converts an IEEE 754 binary16 value to float32.
func half(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp == 0:
		v := float32(frac) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | frac<<13)
}

// compareTensors returns "" when got equals want within the suite's
// tolerances (same element type and shape; NaN where NaN), else what
// differs.
func compareTensors(got, want *tensor.Dense) string {
	if got.Dtype() != want.Dtype() {
		return fmt.Sprintf("element type %v, ONNX's is %v", got.Dtype(), want.Dtype())
	}
	if !slices.Equal([]int(got.Shape()), []int(want.Shape())) && !(got.Shape().TotalSize() == 1 && want.Shape().TotalSize() == 1 && len(want.Shape()) == 0) {
		return fmt.Sprintf("shape %v, ONNX's is %v", got.Shape(), want.Shape())
	}
	if len(want.Shape()) == 0 {
		want = asVector(want)
	}
	g, err := graph.Contiguous(got)
	if err != nil {
		return err.Error()
	}
	close := func(a, b float64) bool {
		if math.IsNaN(a) || math.IsNaN(b) {
			return math.IsNaN(a) && math.IsNaN(b)
		}
		if math.IsInf(b, 0) {
			return a == b
		}
		return math.Abs(a-b) <= suiteAtol+suiteRtol*math.Abs(b)
	}
	diff := func(k int, a, b any) string { return fmt.Sprintf("element %d is %v, ONNX's %v", k, a, b) }
	switch w := want.Data().(type) {
	case []float32:
		for k, v := range g.Data().([]float32) {
			if !close(float64(v), float64(w[k])) {
				return diff(k, v, w[k])
			}
		}
	case []float64:
		for k, v := range g.Data().([]float64) {
			if !close(v, w[k]) {
				return diff(k, v, w[k])
			}
		}
	case []int64:
		if k := firstDiff(g.Data().([]int64), w); k >= 0 {
			return diff(k, g.Data().([]int64)[k], w[k])
		}
	case []int32:
		if k := firstDiff(g.Data().([]int32), w); k >= 0 {
			return diff(k, g.Data().([]int32)[k], w[k])
		}
	case []bool:
		if k := firstDiff(g.Data().([]bool), w); k >= 0 {
			return diff(k, g.Data().([]bool)[k], w[k])
		}
	default:
		return fmt.Sprintf("ONNX's output is %T", w)
	}
	return ""
}

// asVector returns a scalar tensor as a tensor of shape (1).
func asVector(x *tensor.Dense) *tensor.Dense {
	var backing any
	switch v := x.Data().(type) {
	case float32:
		backing = []float32{v}
	case float64:
		backing = []float64{v}
	case int64:
		backing = []int64{v}
	case int32:
		backing = []int32{v}
	case bool:
		backing = []bool{v}
	default:
		backing = v // already a slice
	}
	return tensor.New(tensor.WithShape(1), tensor.WithBacking(backing))
}

func firstDiff[T comparable](a, b []T) int {
	for k := range a {
		if a[k] != b[k] {
			return k
		}
	}
	return -1
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

var (
	reNumbers = regexp.MustCompile(`\d+`)
	reQuoted  = regexp.MustCompile(`"[^"]*"`)
)

// reason reduces an error message to what blocked, for counting: the text
// after the node's prefix, with names and numbers taken out.
func reason(note string) string {
	s := firstLines(note, 1)
	if i := strings.Index(s, "): "); i >= 0 && strings.HasPrefix(s, "onnx: node ") {
		s = s[i+3:]
	}
	s = strings.TrimPrefix(s, "onnx: ")
	s = reQuoted.ReplaceAllString(s, `"…"`)
	s = reNumbers.ReplaceAllString(s, "N")
	if i := strings.Index(s, " (the importer converts"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 140 {
		s = s[:140] + "…"
	}
	return s
}

// coverageMarkdown renders the results: totals, per operator, the
// commonest blockers, and every test.
func coverageMarkdown(results []nodeResult, summary string) []byte {
	var b strings.Builder
	b.WriteString("# ONNX backend node tests\n\n")
	b.WriteString("Generated by `TestNodeSuite` (onnximport/nodesuite_test.go): do not edit by hand. ")
	b.WriteString("The suite is ONNX's own (python3-onnx 1.12's `onnx.backend.test`, one operator per test, ")
	b.WriteString("inputs and outputs computed by ONNX's reference); outputs are compared with its tolerances ")
	fmt.Fprintf(&b, "(rtol %g, atol %g, NaN where NaN, same element type and shape).\n\n", suiteRtol, suiteAtol)
	b.WriteString("An ONNX scalar (rank 0) is a tensor of shape (1) in tapenet (its tensors keep at least one axis): scalar inputs are fed as (1), and a (1) output equals a scalar one. ")
	b.WriteString("*pass*: equal; *refused*: the import gave an error (an honest answer); *error*: imported, then running failed; ")
	b.WriteString("*wrong*: an output differs; *crash*: a panic or no answer in 30 s.\n\n")
	fmt.Fprintf(&b, "**%s.**\n\n", summary)

	type tally struct {
		op string
		n  map[string]int
		t  int
	}
	byOp := map[string]*tally{}
	for _, r := range results {
		tl := byOp[r.op]
		if tl == nil {
			tl = &tally{op: r.op, n: map[string]int{}}
			byOp[r.op] = tl
		}
		tl.n[r.outcome]++
		tl.t++
	}
	var ops []*tally
	for _, tl := range byOp {
		ops = append(ops, tl)
	}
	sort.Slice(ops, func(i, j int) bool {
		return cmp.Or(cmp.Compare(ops[j].t, ops[i].t), cmp.Compare(ops[i].op, ops[j].op)) < 0
	})
	b.WriteString("## By operator\n\n| operator | tests | pass | refused | error | wrong | crash |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, tl := range ops {
		fmt.Fprintf(&b, "| %s | %d |", tl.op, tl.t)
		for _, o := range outcomes {
			fmt.Fprintf(&b, " %d |", tl.n[o])
		}
		b.WriteString("\n")
	}

	reasons := map[string]int{}
	for _, r := range results {
		if r.outcome == outRefused || r.outcome == outError {
			reasons[r.outcome+": "+reason(r.note)]++
		}
	}
	type rc struct {
		r string
		n int
	}
	var rs []rc
	for r, n := range reasons {
		rs = append(rs, rc{r, n})
	}
	sort.Slice(rs, func(i, j int) bool { return cmp.Or(cmp.Compare(rs[j].n, rs[i].n), cmp.Compare(rs[i].r, rs[j].r)) < 0 })
	b.WriteString("\n## What blocks the rest (commonest first)\n\n| tests | reason |\n|---:|---|\n")
	for _, r := range rs[:min(40, len(rs))] {
		fmt.Fprintf(&b, "| %d | %s |\n", r.n, mdEscape(r.r))
	}

	b.WriteString("\n## Every test\n\n| test | operator | result | note |\n|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.name, r.op, r.outcome, mdEscape(firstLines(r.note, 1)))
	}
	return []byte(b.String())
}

func mdEscape(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// writeAtomic writes data to path through a temporary file and a rename.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".coverage-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}
