package onnximport_test

import (
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/onnximport"
)

// A OneHot the importer cannot size is one error naming the node and
// what is wrong, at import.
func TestOneHotErrors(t *testing.T) {
	idx, vals := i64([]int{3}, 0, 1, 2), f32([]int{2}, 0, 1)
	for _, tc := range []struct {
		name  string
		in    []typed
		depth *onnx.TensorProto
		axis  int64
		want  string
	}{
		{"depth 0", []typed{idx, vals}, int64s("d", nil, 0), -1, "depth 0: want 1 to"},
		{"negative depth", []typed{idx, vals}, floats("d", nil, -3), -1, "depth -3"},
		{"depth over the budget", []typed{idx, vals}, int64s("d", nil, 1<<40), -1, "want 1 to"},
		{"two depths", []typed{idx, vals}, int64s("d", []int{2}, 3, 4), -1, "depth: want one value"},
		{"axis outside", []typed{idx, vals}, int64s("d", nil, 4), 2, "axis 2 outside [-2, 1]"},
		{"three values", []typed{idx, f32([]int{3}, 0, 1, 2)}, int64s("d", nil, 4), -1, "want two, [off, on]"},
		{"bool indices", []typed{bools([]int{3}, true, false, true), vals}, int64s("d", nil, 4), -1, "indices of type bool"},
	} {
		c := kernelCase{opset: 11, in: tc.in, inits: []*onnx.TensorProto{tc.depth},
			nodes: []*onnx.NodeProto{n1("OneHot", []string{"x0", "d", "x1"}, aInt("axis", tc.axis))}}
		_, err := onnximport.Decode(marshal(t, fixedModel(c)))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "OneHot") {
			t.Errorf("%s: %v, want an error naming OneHot with %q", tc.name, err, tc.want)
		}
	}
}
