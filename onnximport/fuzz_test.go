package onnximport_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
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

// FuzzGraph builds small graphs of the supported operators from fuzzer
// bytes: operators chained on the input, with initializers of fuzzed
// shapes and values as extra inputs and fuzzed attributes, at a fuzzed
// opset. Whatever the importer accepts must build, run at two batch sizes
// without panicking and export; what it refuses must be an error.
//
//	go test ./onnximport -run '^$' -fuzz FuzzGraph -fuzztime 60s
func FuzzGraph(f *testing.F) {
	for _, seed := range []string{"\x00\x02\x03", "\x01\x10\x02\x01\x01\x03\x00", "\x02\x04\x01\x05\x06\x11\x02\x00\x03", "\x03\x07\x02\x02\x05\x01\x02\x03\x04\x05\x06\x07"} {
		f.Add([]byte(seed))
	}
	ops := onnximport.Operators()
	attrs := []string{"axis", "axes", "perm", "kernel_shape", "strides", "pads", "dilations", "group", "transB", "alpha", "beta",
		"to", "start", "end", "ceil_mode", "count_include_pad", "allowzero", "epsilon", "auto_pad", "value", "mode", "ratio"}
	f.Fuzz(func(t *testing.T, prog []byte) {
		s := &stream{prog}
		opset := int64(11 + s.n(7))
		sample := make([]int, 1+s.n(3))
		for k := range sample {
			sample[k] = 1 + s.n(5)
		}
		var nodes []*onnx.NodeProto
		var inits []*onnx.TensorProto
		cur := "x"
		steps := 1 + s.n(4)
		for k := range steps {
			op := ops[s.n(len(ops))]
			in := []string{cur}
			for j := range s.n(5) {
				name := fmt.Sprintf("c%d_%d", k, j)
				if s.n(2) == 0 {
					inits = append(inits, int64s(name, []int{s.n(5)}, s.ints(-3, 8, 4)[:0]...))
					inits[len(inits)-1].Int64Data = s.ints(-3, 8, int(max(inits[len(inits)-1].Dims[0], 0)))
				} else {
					shape := make([]int, s.n(5))
					for d := range shape {
						shape[d] = 1 + s.n(4)
					}
					v := make([]float32, shapeProduct(shape))
					for i := range v {
						v[i] = float32(s.n(7)) - 3
					}
					inits = append(inits, floats(name, shape, v...))
				}
				in = append(in, name)
			}
			var as []*onnx.AttributeProto
			for range s.n(4) {
				name := attrs[s.n(len(attrs))]
				switch s.n(4) {
				case 0:
					as = append(as, aInt(name, int64(s.n(9))-3))
				case 1:
					as = append(as, aInts(name, s.ints(-2, 6, s.n(5))...))
				case 2:
					as = append(as, aFloat(name, float32(s.n(9))/4))
				default:
					as = append(as, aString(name, []string{"NOTSET", "VALID", "SAME_UPPER", "constant", "edge"}[s.n(5)]))
				}
			}
			out := fmt.Sprintf("t%d", k)
			if k == steps-1 {
				out = "y"
			}
			nodes = append(nodes, node(op, in, []string{out}, as...))
			cur = out
		}
		m, err := onnximport.FromProto(modelProto(opset, sample, nodes, inits...))
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("panic while importing: %v", err)
			}
			return
		}
		for _, batch := range []int{1, 3} {
			x := tensor.New(tensor.WithShape(append([]int{batch}, sample...)...), tensor.Of(tensor.Float32))
			if _, err := graph.NewPredictor(m).Predict(x); err != nil {
				t.Fatalf("imported %v at opset %d, but batch %d fails: %v", opsOf(nodes), opset, batch, err)
			}
		}
		if err := export.WriteONNX(&bytes.Buffer{}, m); err != nil {
			t.Fatalf("imported %v, but it does not export: %v", opsOf(nodes), err)
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
