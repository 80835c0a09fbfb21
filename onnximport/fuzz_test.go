package onnximport_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/onnximport"
	"gorgonia.org/tensor"
)

// Hostile bytes give an error, never a panic (the importer recovers from
// a panic in Gorgonia's shape code as an "internal error", which fails
// this test too), nor an allocation beyond the limits. A model that
// imports also exports. Seeds: the operator test graphs and the smaller
// PyTorch fixtures.
//
//	go test ./onnximport -run '^$' -fuzz FuzzDecode -fuzztime 60s
func FuzzDecode(f *testing.F) {
	for _, c := range operatorCases() {
		f.Add(marshal(f, modelProto(c.opset, c.in, c.nodes, c.inits...)))
	}
	for _, name := range []string{"resnet_op17.onnx", "viewnet_op11.onnx"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := onnximport.Decode(data)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("panic while importing: %v", err)
			}
			return
		}
		if err := export.WriteONNX(&bytes.Buffer{}, m); err != nil {
			t.Fatalf("imported model does not export: %v", err)
		}
	})
}

// stream hands out small numbers from fuzzer bytes (zeros once drained).
type stream struct{ b []byte }

func (s *stream) n(k int) int {
	if len(s.b) == 0 || k <= 0 {
		return 0
	}
	v := int(s.b[0]) % k
	s.b = s.b[1:]
	return v
}

func (s *stream) ints(lo, hi, count int) []int64 {
	v := make([]int64, count)
	for i := range v {
		v[i] = int64(lo + s.n(hi-lo+1))
	}
	return v
}

// opAttrs lists the attributes the importer reads, per operator: the
// random graphs below draw from them.
var opAttrs = map[string][]string{
	"Gemm": {"alpha", "beta", "transA", "transB"}, "LeakyRelu": {"alpha"}, "Softmax": {"axis"}, "LogSoftmax": {"axis"},
	"Conv":               {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"},
	"MaxPool":            {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "strides"},
	"AveragePool":        {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"},
	"BatchNormalization": {"epsilon", "momentum"}, "Dropout": {"ratio"}, "Flatten": {"axis"}, "Reshape": {"allowzero"},
	"Transpose": {"perm"}, "Concat": {"axis"}, "Constant": {"value_ints", "value_float"}, "Shape": {"start", "end"},
	"Gather": {"axis"}, "Unsqueeze": {"axes"}, "Squeeze": {"axes"}, "Cast": {"to"}, "ConstantOfShape": {"value"}, "Pad": {"mode"},
}

// opArity gives the number of inputs of each operator, least and most
// (opset 13 forms; opset 11 forms are drawn with one input less where the
// axes move to an attribute), and whether its inputs after the first are
// integers (shapes, indices, axes).
var opArity = map[string][3]int{
	"Gemm": {2, 3, 0}, "MatMul": {2, 2, 0}, "Add": {2, 2, 0}, "Sub": {2, 2, 0}, "Mul": {2, 2, 0}, "Div": {2, 2, 0},
	"Conv": {2, 3, 0}, "BatchNormalization": {5, 5, 0}, "Dropout": {1, 1, 0}, "Reshape": {2, 2, 1}, "Concat": {1, 3, 0},
	"Constant": {0, 0, 0}, "Gather": {2, 2, 1}, "Unsqueeze": {2, 2, 1}, "Squeeze": {1, 2, 1}, "Slice": {3, 5, 1},
	"ConstantOfShape": {1, 1, 1}, "Pad": {2, 2, 1},
}

// randomGraph builds a small graph of the supported operators from the
// stream: operators chained on the input "x" (batch N, a drawn sample
// shape), taking as further inputs earlier tensors or initializers of
// drawn shapes and values, with drawn attributes, at a drawn opset.
func randomGraph(s *stream) *onnx.ModelProto {
	ops := onnximport.Operators()
	opset := int64(11 + s.n(7))
	sample := make([]int, 1+s.n(3))
	for k := range sample {
		sample[k] = 1 + s.n(5)
	}
	var nodes []*onnx.NodeProto
	var inits []*onnx.TensorProto
	tensors := []string{"x"}
	steps := 1 + s.n(4)
	for k := range steps {
		op := ops[s.n(len(ops))]
		ar, ok := opArity[op]
		if !ok {
			ar = [3]int{1, 1, 0}
		}
		if opset < 13 && (op == "Unsqueeze" || op == "Squeeze") {
			ar = [3]int{1, 1, 0}
		}
		in := []string{tensors[len(tensors)-1]}
		if op == "Constant" {
			in = nil
		}
		if op == "ConstantOfShape" && s.n(2) == 0 {
			in = nil // a shape from an initializer
		}
		for j := len(in); j < ar[0]+s.n(ar[1]-ar[0]+1); j++ {
			name := fmt.Sprintf("c%d_%d", k, j)
			kind := s.n(3)
			if ar[2] == 1 && s.n(3) > 0 {
				kind = 0
			}
			switch kind {
			case 0:
				inits = append(inits, int64s(name, []int{s.n(5)}))
				inits[len(inits)-1].Int64Data = s.ints(-3, 8, int(inits[len(inits)-1].Dims[0]))
			case 1:
				shape := make([]int, s.n(5))
				for d := range shape {
					shape[d] = 1 + s.n(4)
				}
				v := make([]float32, shapeProduct(shape))
				for i := range v {
					v[i] = float32(s.n(7)) - 3
				}
				inits = append(inits, floats(name, shape, v...))
			default:
				name = tensors[s.n(len(tensors))]
			}
			in = append(in, name)
		}
		var as []*onnx.AttributeProto
		names := slices.Clone(opAttrs[op])
		need := map[string]string{"Concat": "axis", "Cast": "to", "MaxPool": "kernel_shape", "AveragePool": "kernel_shape", "Constant": "value_ints"}
		if opset < 13 && op == "Unsqueeze" {
			need[op] = "axes"
		}
		count := s.n(4)
		if op == "Constant" {
			count = 0
		}
		for c := 0; c < count || need[op] != ""; c++ {
			if len(names) == 0 {
				break
			}
			i := s.n(len(names))
			if r := need[op]; r != "" {
				i = max(slices.Index(names, r), 0)
				delete(need, op)
			}
			name := names[i]
			names = slices.Delete(names, i, i+1)
			switch name {
			case "axes", "perm", "kernel_shape", "strides", "pads", "dilations", "value_ints":
				as = append(as, aInts(name, s.ints(-2, 5, s.n(5))...))
			case "alpha", "beta", "epsilon", "momentum", "ratio", "value_float":
				as = append(as, aFloat(name, float32(s.n(9))/8))
			case "auto_pad":
				as = append(as, aString(name, []string{"NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"}[s.n(4)]))
			case "mode":
				as = append(as, aString(name, []string{"constant", "edge"}[s.n(2)]))
			case "to":
				as = append(as, aInt(name, []int64{1, 7, 6, 11}[s.n(4)]))
			case "value":
				as = append(as, aTensor(name, floats("", []int{1}, float32(s.n(5)))))
			default:
				as = append(as, aInt(name, int64(s.n(7))-3))
			}
		}
		out := fmt.Sprintf("t%d", k)
		if k == steps-1 {
			out = "y"
		}
		nodes = append(nodes, node(op, in, []string{out}, as...))
		tensors = append(tensors, out)
	}
	return modelProto(opset, sample, nodes, inits...)
}

// FuzzGraph imports graphs drawn by randomGraph from fuzzer bytes.
// Whatever the importer accepts must build, run at two batch sizes without
// panicking and export; what it refuses must be an error.
//
//	go test ./onnximport -run '^$' -fuzz FuzzGraph -fuzztime 60s
func FuzzGraph(f *testing.F) {
	for _, seed := range []string{"\x00\x02\x03", "\x01\x10\x02\x01\x01\x03\x00", "\x02\x04\x01\x05\x06\x11\x02\x00\x03", "\x03\x07\x02\x02\x05\x01\x02\x03\x04\x05\x06\x07"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, prog []byte) {
		mp := randomGraph(&stream{prog})
		m, err := onnximport.FromProto(mp)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("panic while importing: %v", err)
			}
			return
		}
		sample := m.Input()
		for _, batch := range []int{1, 3} {
			x := tensor.New(tensor.WithShape(append([]int{batch}, sample...)...), tensor.Of(tensor.Float32))
			if _, err := graph.NewPredictor(m).Predict(x); err != nil {
				t.Fatalf("imported %v at opset %d, but batch %d fails: %v", opsOf(mp.Graph.Node), mp.OpsetImport[0].Version, batch, err)
			}
		}
		// It exports, or the error names an onnx-op layer whose form has no
		// opset-13 equivalent (export writes opset 13).
		if err := export.WriteONNX(&bytes.Buffer{}, m); err != nil && !strings.Contains(err.Error(), "onnx-op") {
			t.Fatalf("imported %v, but it does not export: %v", opsOf(mp.Graph.Node), err)
		}
	})
}

func opsOf(nodes []*onnx.NodeProto) []string {
	var ops []string
	for _, n := range nodes {
		ops = append(ops, n.OpType)
	}
	return ops
}
