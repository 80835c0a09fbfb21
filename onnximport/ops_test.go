package onnximport_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/onnximport"
	"gorgonia.org/tensor"
)

// opCase is a small ONNX graph of one input "x" (a batch of 2 samples of
// shape in) and one output "y", built in Go.
type opCase struct {
	name  string
	opset int64
	in    []int
	nodes []*onnx.NodeProto
	inits []*onnx.TensorProto
	// x is the input (2 samples); nil draws seeded random values.
	x []float32
	// want is the output, computed by hand; nil: checked against ONNX
	// Runtime only.
	want []float32
	// kinds are layer kinds the imported model must hold: the operator
	// mapped onto graph's built-in layers where it matches exactly, onto
	// this package's otherwise.
	kinds []string
}

var (
	ln2 = float32(math.Ln2)
	ln3 = float32(math.Log(3))
	x6  = []float32{1, 2, 3, -1, 0, 2} // two samples of 3
)

func n1(op string, in []string, attrs ...*onnx.AttributeProto) *onnx.NodeProto {
	return node(op, in, []string{"y"}, attrs...)
}

// shapeChain is what torch.onnx.export emits for x.view(x.size(0), -1):
// Shape, Gather, Unsqueeze (axes an attribute before opset 13, an input
// from it on), Concat with [-1], Reshape.
func shapeChain(opset int64) ([]*onnx.NodeProto, []*onnx.TensorProto) {
	nodes := []*onnx.NodeProto{
		node("Shape", []string{"x"}, []string{"s"}),
		node("Constant", nil, []string{"zero"}, aTensor("value", int64s("", nil, 0))),
		node("Gather", []string{"s", "zero"}, []string{"n"}, aInt("axis", 0)),
	}
	if opset < 13 {
		nodes = append(nodes, node("Unsqueeze", []string{"n"}, []string{"n1"}, aInts("axes", 0)))
	} else {
		nodes = append(nodes, node("Constant", nil, []string{"ax"}, aTensor("value", int64s("", []int{1}, 0))),
			node("Unsqueeze", []string{"n", "ax"}, []string{"n1"}))
	}
	nodes = append(nodes,
		node("Constant", nil, []string{"minus1"}, aTensor("value", int64s("", []int{1}, -1))),
		node("Concat", []string{"n1", "minus1"}, []string{"shape"}, aInt("axis", 0)),
		node("Reshape", []string{"x", "shape"}, []string{"y"}))
	return nodes, nil
}

func operatorCases() []opCase {
	rng := rand.New(rand.NewPCG(7, 7))
	randn := func(n int) []float32 {
		v := make([]float32, n)
		for k := range v {
			v[k] = float32(rng.NormFloat64())
		}
		return v
	}
	chain11, _ := shapeChain(11)
	chain13, _ := shapeChain(13)
	bn := func(x, scale, b, mean, v float32) float32 {
		return (x-mean)/float32(math.Sqrt(float64(v)+1e-5))*scale + b
	}
	sig := func(v float64) float32 { return float32(1 / (1 + math.Exp(-v))) }
	return []opCase{
		{name: "Gemm/transB=1 is Dense", opset: 13, in: []int{3}, x: x6,
			nodes: []*onnx.NodeProto{n1("Gemm", []string{"x", "fc.weight", "fc.bias"}, aFloat("alpha", 1), aFloat("beta", 1), aInt("transB", 1))},
			inits: []*onnx.TensorProto{floats("fc.weight", []int{2, 3}, 1, 0, -1, 2, 1, 0), floats("fc.bias", []int{2}, 0.5, -1)},
			want:  []float32{-1.5, 3, -2.5, -3}, kinds: []string{"dense"}},
		{name: "Gemm/alpha beta transB=0 scalar C", opset: 11, in: []int{3}, x: x6,
			nodes: []*onnx.NodeProto{n1("Gemm", []string{"x", "w", "c"}, aFloat("alpha", 0.5), aFloat("beta", 2))},
			inits: []*onnx.TensorProto{floats("w", []int{3, 2}, 1, 2, 0, 1, -1, 0), floats("c", []int{1}, 1)},
			want:  []float32{1, 4, 0.5, 1}, kinds: []string{"onnx-gemm"}},
		{name: "Gemm/no C", opset: 13, in: []int{3}, x: x6,
			nodes: []*onnx.NodeProto{n1("Gemm", []string{"x", "w"}, aInt("transB", 1))},
			inits: []*onnx.TensorProto{floats("w", []int{2, 3}, 1, 0, -1, 2, 1, 0)},
			want:  []float32{-2, 4, -3, -2}, kinds: []string{"onnx-gemm"}},
		{name: "MatMul/3-D by matrix", opset: 13, in: []int{2, 3}, x: []float32{1, 2, 3, 4, 5, 6, 0, 0, 1, 1, 0, 0},
			nodes: []*onnx.NodeProto{n1("MatMul", []string{"x", "w"})},
			inits: []*onnx.TensorProto{floats("w", []int{3, 2}, 1, 0, 0, 1, 1, 1)},
			want:  []float32{4, 5, 10, 11, 1, 1, 1, 0}, kinds: []string{"onnx-matmul"}},
		{name: "Add/initializer", opset: 13, in: []int{3}, x: x6,
			nodes: []*onnx.NodeProto{n1("Add", []string{"x", "net.offset"})},
			inits: []*onnx.TensorProto{floats("net.offset", []int{3}, 10, 20, 30)},
			want:  []float32{11, 22, 33, 9, 20, 32}, kinds: []string{"onnx-binary"}},
		{name: "Sub/constant on the left", opset: 13, in: []int{3}, x: x6,
			nodes: []*onnx.NodeProto{node("Constant", nil, []string{"one"}, aFloat("value_float", 1)), n1("Sub", []string{"one", "x"})},
			want:  []float32{0, -1, -2, 2, 1, -1}, kinds: []string{"onnx-binary"}},
		{name: "Mul/per channel", opset: 13, in: []int{2, 1, 2}, x: []float32{1, 2, 3, 4, -1, -2, -3, -4},
			nodes: []*onnx.NodeProto{n1("Mul", []string{"x", "m"})},
			inits: []*onnx.TensorProto{floats("m", []int{2, 1, 1}, 10, -1)},
			want:  []float32{10, 20, -3, -4, -10, -20, 3, 4}, kinds: []string{"onnx-binary"}},
		{name: "Div/value_float", opset: 13, in: []int{3}, x: x6,
			nodes: []*onnx.NodeProto{node("Constant", nil, []string{"two"}, aFloat("value_float", 2)), n1("Div", []string{"x", "two"})},
			want:  []float32{0.5, 1, 1.5, -0.5, 0, 1}},
		{name: "Add/two tensors", opset: 13, in: []int{3}, x: x6,
			nodes: []*onnx.NodeProto{node("Relu", []string{"x"}, []string{"r"}), n1("Add", []string{"x", "r"})},
			want:  []float32{2, 4, 6, -1, 0, 4}, kinds: []string{"relu", "add"}},
		{name: "Sub/two tensors", opset: 13, in: []int{3}, x: x6,
			nodes: []*onnx.NodeProto{node("Relu", []string{"x"}, []string{"r"}), n1("Sub", []string{"x", "r"})},
			want:  []float32{0, 0, 0, -1, 0, 0}, kinds: []string{"onnx-binary"}},
		{name: "Mul/two tensors broadcast", opset: 13, in: []int{2, 3}, x: []float32{1, 2, 3, 4, 5, 6, 1, 0, 1, 2, 2, 2},
			nodes: []*onnx.NodeProto{node("Gather", []string{"x", "i"}, []string{"g"}, aInt("axis", 1)), n1("Mul", []string{"x", "g"})},
			inits: []*onnx.TensorProto{int64s("i", []int{1}, 0)},
			want:  []float32{1, 4, 9, 4, 10, 18, 1, 0, 1, 2, 0, 2}, kinds: []string{"onnx-gather", "onnx-binary"}},
		{name: "Div/two tensors", opset: 13, in: []int{4}, x: []float32{1, 2, 3, 4, 5, 6, 7, 8},
			nodes: []*onnx.NodeProto{node("Sigmoid", []string{"x"}, []string{"s"}), n1("Div", []string{"x", "s"})}},
		{name: "Relu", opset: 13, in: []int{3}, x: x6, nodes: []*onnx.NodeProto{n1("Relu", []string{"x"})},
			want: []float32{1, 2, 3, 0, 0, 2}, kinds: []string{"relu"}},
		{name: "Sigmoid", opset: 13, in: []int{3}, x: []float32{0, ln3, -ln3, 1, -1, 0}, nodes: []*onnx.NodeProto{n1("Sigmoid", []string{"x"})},
			want: []float32{0.5, 0.75, 0.25, sig(1), sig(-1), 0.5}, kinds: []string{"sigmoid"}},
		{name: "Tanh", opset: 13, in: []int{3}, x: []float32{0, ln3, -ln3, 0, 0, 0}, nodes: []*onnx.NodeProto{n1("Tanh", []string{"x"})},
			want: []float32{0, 0.8, -0.8, 0, 0, 0}, kinds: []string{"tanh"}},
		{name: "LeakyRelu", opset: 13, in: []int{3}, x: x6, nodes: []*onnx.NodeProto{n1("LeakyRelu", []string{"x"}, aFloat("alpha", 0.2))},
			want: []float32{1, 2, 3, -0.2, 0, 2}, kinds: []string{"onnx-leakyrelu"}},
		{name: "LeakyRelu/default alpha", opset: 11, in: []int{3}, x: x6, nodes: []*onnx.NodeProto{n1("LeakyRelu", []string{"x"})},
			want: []float32{1, 2, 3, -0.01, 0, 2}},
		{name: "Softmax/rows", opset: 13, in: []int{3}, x: []float32{0, ln2, ln3, 0, 0, 0}, nodes: []*onnx.NodeProto{n1("Softmax", []string{"x"})},
			want: []float32{1.0 / 6, 1.0 / 3, 0.5, 1.0 / 3, 1.0 / 3, 1.0 / 3}, kinds: []string{"softmax"}},
		{name: "Softmax/opset 13 inner axis", opset: 13, in: []int{2, 3}, x: []float32{0, 0, 0, ln3, 0, -ln3, 0, 0, 0, 0, 0, 0},
			nodes: []*onnx.NodeProto{n1("Softmax", []string{"x"}, aInt("axis", 1))},
			want:  []float32{0.25, 0.5, 0.75, 0.75, 0.5, 0.25, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, kinds: []string{"onnx-softmax"}},
		{name: "Softmax/opset 11 coerced to 2-D", opset: 11, in: []int{2, 3}, x: []float32{0, ln2, ln3, 0, ln2, ln3, 0, 0, 0, 0, 0, 0},
			nodes: []*onnx.NodeProto{n1("Softmax", []string{"x"})},
			want: []float32{1.0 / 12, 2.0 / 12, 3.0 / 12, 1.0 / 12, 2.0 / 12, 3.0 / 12,
				1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6}, kinds: []string{"reshape", "softmax"}},
		{name: "Softmax/opset 11 axis 2 of 3-D", opset: 11, in: []int{2, 3, 2}, nodes: []*onnx.NodeProto{n1("Softmax", []string{"x"}, aInt("axis", 2))}},
		{name: "LogSoftmax", opset: 13, in: []int{3}, x: []float32{0, ln2, ln3, 0, 0, 0}, nodes: []*onnx.NodeProto{n1("LogSoftmax", []string{"x"})},
			want:  []float32{float32(math.Log(1.0 / 6)), float32(math.Log(1.0 / 3)), float32(math.Log(0.5)), -ln3, -ln3, -ln3},
			kinds: []string{"onnx-softmax"}},
		{name: "LogSoftmax/opset 11", opset: 11, in: []int{4}, nodes: []*onnx.NodeProto{n1("LogSoftmax", []string{"x"}, aInt("axis", -1))}},
		{name: "Conv/1x1 by hand", opset: 13, in: []int{2, 1, 2}, x: []float32{1, 2, 3, 4, -1, -2, -3, -4},
			nodes: []*onnx.NodeProto{n1("Conv", []string{"x", "w", "b"})},
			inits: []*onnx.TensorProto{floats("w", []int{1, 2, 1, 1}, 2, 3), floats("b", []int{1}, 1)},
			want:  []float32{12, 17, -10, -15}, kinds: []string{"conv2d"}},
		{name: "Conv/3x3 pad 1", opset: 11, in: []int{2, 5, 5},
			nodes: []*onnx.NodeProto{n1("Conv", []string{"x", "w", "b"}, aInts("kernel_shape", 3, 3), aInts("pads", 1, 1, 1, 1), aInts("strides", 1, 1))},
			inits: []*onnx.TensorProto{floats("w", []int{3, 2, 3, 3}, randn(54)...), floats("b", []int{3}, randn(3)...)},
			kinds: []string{"conv2d"}},
		{name: "Conv/rectangular strided dilated no bias", opset: 13, in: []int{2, 9, 7},
			nodes: []*onnx.NodeProto{n1("Conv", []string{"x", "w"}, aInts("strides", 2, 1), aInts("dilations", 2, 1), aInts("pads", 1, 0, 1, 0))},
			inits: []*onnx.TensorProto{floats("w", []int{3, 2, 3, 2}, randn(36)...)},
			kinds: []string{"onnx-conv"}},
		{name: "Conv/auto_pad SAME_UPPER", opset: 17, in: []int{1, 6, 6},
			nodes: []*onnx.NodeProto{n1("Conv", []string{"x", "w", "b"}, aString("auto_pad", "SAME_UPPER"))},
			inits: []*onnx.TensorProto{floats("w", []int{2, 1, 3, 3}, randn(18)...), floats("b", []int{2}, randn(2)...)},
			kinds: []string{"conv2d"}},
		{name: "MaxPool/2x2 by hand", opset: 13, in: []int{1, 2, 4}, x: []float32{1, 5, 2, 0, 3, 4, 8, 6, -1, -5, -2, 0, -3, -4, -8, -6},
			nodes: []*onnx.NodeProto{n1("MaxPool", []string{"x"}, aInts("kernel_shape", 2, 2), aInts("strides", 2, 2))},
			want:  []float32{5, 8, -1, 0}, kinds: []string{"maxpool2d"}},
		{name: "MaxPool/rectangular padded", opset: 11, in: []int{2, 5, 6},
			nodes: []*onnx.NodeProto{n1("MaxPool", []string{"x"}, aInts("kernel_shape", 3, 2), aInts("strides", 2, 1), aInts("pads", 1, 0, 1, 0))},
			kinds: []string{"onnx-maxpool"}},
		{name: "MaxPool/ceil_mode where it changes nothing", opset: 13, in: []int{1, 4, 4},
			nodes: []*onnx.NodeProto{n1("MaxPool", []string{"x"}, aInts("kernel_shape", 2, 2), aInts("strides", 2, 2), aInt("ceil_mode", 1))}},
		{name: "AveragePool/2x2 by hand", opset: 13, in: []int{1, 2, 4}, x: []float32{1, 5, 2, 0, 3, 4, 8, 6, -1, -5, -2, 0, -3, -4, -8, -6},
			nodes: []*onnx.NodeProto{n1("AveragePool", []string{"x"}, aInts("kernel_shape", 2, 2), aInts("strides", 2, 2))},
			want:  []float32{3.25, 4, -3.25, -4}, kinds: []string{"avgpool2d"}},
		{name: "AveragePool/padding excluded", opset: 13, in: []int{1, 3, 3}, x: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			nodes: []*onnx.NodeProto{n1("AveragePool", []string{"x"}, aInts("kernel_shape", 3, 3), aInts("pads", 1, 1, 1, 1))},
			want:  []float32{3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0}, kinds: []string{"onnx-avgpool"}},
		{name: "AveragePool/padding counted", opset: 11, in: []int{2, 5, 5},
			nodes: []*onnx.NodeProto{n1("AveragePool", []string{"x"}, aInts("kernel_shape", 3, 3), aInts("strides", 2, 2), aInts("pads", 1, 1, 1, 1), aInt("count_include_pad", 1))},
			kinds: []string{"avgpool2d"}},
		{name: "GlobalAveragePool", opset: 13, in: []int{2, 1, 2}, x: []float32{1, 3, 2, 6, -1, -3, -2, -6},
			nodes: []*onnx.NodeProto{n1("GlobalAveragePool", []string{"x"})},
			want:  []float32{2, 4, -2, -4}, kinds: []string{"globalavgpool2d"}},
		{name: "BatchNormalization/features", opset: 13, in: []int{2}, x: []float32{1, 2, 3, 6},
			nodes: []*onnx.NodeProto{n1("BatchNormalization", []string{"x", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"})},
			inits: []*onnx.TensorProto{floats("bn.weight", []int{2}, 2, 1), floats("bn.bias", []int{2}, 0, 1), floats("bn.running_mean", []int{2}, 1, 2), floats("bn.running_var", []int{2}, 4, 0.25)},
			want:  []float32{bn(1, 2, 0, 1, 4), bn(2, 1, 1, 2, 0.25), bn(3, 2, 0, 1, 4), bn(6, 1, 1, 2, 0.25)}, kinds: []string{"batchnorm"}},
		{name: "BatchNormalization/channels opset 15", opset: 15, in: []int{2, 2, 2},
			nodes: []*onnx.NodeProto{n1("BatchNormalization", []string{"x", "s", "b", "m", "v"}, aFloat("epsilon", 1e-3), aFloat("momentum", 0.8), aInt("training_mode", 0))},
			inits: []*onnx.TensorProto{floats("s", []int{2}, 1.5, 0.5), floats("b", []int{2}, 0.1, -0.2), floats("m", []int{2}, 0.3, -0.1), floats("v", []int{2}, 2, 0.5)},
			kinds: []string{"batchnorm"}},
		{name: "Dropout/opset 11 ratio attribute", opset: 11, in: []int{3}, x: x6,
			nodes: []*onnx.NodeProto{n1("Dropout", []string{"x"}, aFloat("ratio", 0.3))}, want: x6, kinds: []string{"dropout"}},
		{name: "Dropout/opset 13 ratio input", opset: 13, in: []int{3}, x: x6,
			nodes: []*onnx.NodeProto{node("Constant", nil, []string{"r"}, aTensor("value", floats("", nil, 0.3))), n1("Dropout", []string{"x", "r"})},
			want:  x6, kinds: []string{"dropout"}},
		{name: "Identity", opset: 13, in: []int{3}, x: x6, nodes: []*onnx.NodeProto{n1("Identity", []string{"x"})}, want: x6, kinds: []string{"identity"}},
		{name: "Flatten", opset: 13, in: []int{2, 3}, x: append(slices.Clone(x6), x6...), nodes: []*onnx.NodeProto{n1("Flatten", []string{"x"})},
			want: append(slices.Clone(x6), x6...), kinds: []string{"flatten"}},
		{name: "Flatten/axis 2 after a dimension of 1", opset: 11, in: []int{1, 2, 3}, nodes: []*onnx.NodeProto{n1("Flatten", []string{"x"}, aInt("axis", 2))},
			kinds: []string{"reshape"}},
		{name: "Reshape/0 and -1", opset: 13, in: []int{2, 3}, x: append(slices.Clone(x6), x6...),
			nodes: []*onnx.NodeProto{n1("Reshape", []string{"x", "shape"})}, inits: []*onnx.TensorProto{int64s("shape", []int{2}, 0, -1)},
			want: append(slices.Clone(x6), x6...), kinds: []string{"reshape"}},
		{name: "Reshape/-1 first is the batch", opset: 14, in: []int{2, 3},
			nodes: []*onnx.NodeProto{n1("Reshape", []string{"x", "shape"})}, inits: []*onnx.TensorProto{int64s("shape", []int{3}, -1, 3, 2)},
			kinds: []string{"reshape"}},
		{name: "Reshape/x.view(x.size(0), -1) opset 11", opset: 11, in: []int{2, 3}, x: append(slices.Clone(x6), x6...),
			nodes: chain11, want: append(slices.Clone(x6), x6...), kinds: []string{"reshape"}},
		{name: "Reshape/x.view(x.size(0), -1) opset 13", opset: 13, in: []int{1, 2, 2},
			nodes: chain13, kinds: []string{"reshape"}},
		{name: "Transpose", opset: 13, in: []int{2, 3}, x: []float32{1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 1},
			nodes: []*onnx.NodeProto{n1("Transpose", []string{"x"}, aInts("perm", 0, 2, 1))},
			want:  []float32{1, 4, 2, 5, 3, 6, 0, 0, 0, 0, 0, 1}, kinds: []string{"onnx-transpose"}},
		{name: "Transpose/of an initializer", opset: 13, in: []int{3},
			nodes: []*onnx.NodeProto{node("Transpose", []string{"w"}, []string{"wt"}), n1("MatMul", []string{"x", "wt"})},
			inits: []*onnx.TensorProto{floats("w", []int{2, 3}, 1, 0, -1, 2, 1, 0)}, kinds: []string{"onnx-matmul"}},
		{name: "Concat/two tensors", opset: 13, in: []int{3}, x: x6,
			nodes: []*onnx.NodeProto{node("Relu", []string{"x"}, []string{"r"}), n1("Concat", []string{"x", "r"}, aInt("axis", -1))},
			want:  []float32{1, 2, 3, 1, 2, 3, -1, 0, 2, 0, 0, 2}, kinds: []string{"concat"}},
		{name: "Constant/value tensor", opset: 11, in: []int{3}, x: x6,
			nodes: []*onnx.NodeProto{node("Constant", nil, []string{"c"}, aTensor("value", floats("", []int{3}, 1, 2, 3))), n1("Add", []string{"x", "c"})},
			want:  []float32{2, 4, 6, 0, 2, 5}},
		{name: "Constant/value_ints as a shape", opset: 13, in: []int{2, 3}, x: append(slices.Clone(x6), x6...),
			nodes: []*onnx.NodeProto{node("Constant", nil, []string{"s"}, aInts("value_ints", -1, 6)), n1("Reshape", []string{"x", "s"})},
			want:  append(slices.Clone(x6), x6...)},
		{name: "Shape/start (opset 15)", opset: 15, in: []int{2, 3},
			nodes: []*onnx.NodeProto{node("Shape", []string{"x"}, []string{"tail"}, aInt("start", 1)),
				node("Constant", nil, []string{"m1"}, aInts("value_ints", -1)),
				node("Concat", []string{"m1", "tail"}, []string{"s"}, aInt("axis", 0)),
				node("Reshape", []string{"x", "s"}, []string{"r"}), n1("Relu", []string{"r"})}},
		{name: "Gather/scalar index of a tensor", opset: 13, in: []int{2, 3}, x: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
			nodes: []*onnx.NodeProto{n1("Gather", []string{"x", "i"}, aInt("axis", 2))}, inits: []*onnx.TensorProto{int64s("i", nil, 1)},
			want: []float32{2, 5, 8, 11}, kinds: []string{"onnx-gather"}},
		{name: "Gather/one entry of an axis of one (a scalar per sample in Gorgonia at batch 1)", opset: 13, in: []int{2, 1}, x: []float32{1, 2, 3, 4},
			nodes: []*onnx.NodeProto{n1("Gather", []string{"x", "i"}, aInt("axis", 1))}, inits: []*onnx.TensorProto{int64s("i", []int{1}, -1)},
			want: []float32{2, 4}, kinds: []string{"onnx-gather"}},
		{name: "Gather/negative indices", opset: 11, in: []int{3, 2},
			nodes: []*onnx.NodeProto{n1("Gather", []string{"x", "i"}, aInt("axis", -2))}, inits: []*onnx.TensorProto{int64s("i", []int{2}, -1, 0)}},
		{name: "Unsqueeze/opset 11 attribute", opset: 11, in: []int{3}, x: x6,
			nodes: []*onnx.NodeProto{n1("Unsqueeze", []string{"x"}, aInts("axes", 1))}, want: x6, kinds: []string{"reshape"}},
		{name: "Unsqueeze/opset 13 input", opset: 13, in: []int{3}, x: x6,
			nodes: []*onnx.NodeProto{n1("Unsqueeze", []string{"x", "a"})}, inits: []*onnx.TensorProto{int64s("a", []int{1}, -1)}, want: x6},
		{name: "Squeeze/opset 11 attribute", opset: 11, in: []int{1, 3}, x: x6,
			nodes: []*onnx.NodeProto{n1("Squeeze", []string{"x"}, aInts("axes", 1))}, want: x6, kinds: []string{"reshape"}},
		{name: "Squeeze/opset 13 input", opset: 13, in: []int{3, 1}, x: x6,
			nodes: []*onnx.NodeProto{n1("Squeeze", []string{"x", "a"})}, inits: []*onnx.TensorProto{int64s("a", []int{1}, 2)}, want: x6},
		{name: "Slice/of a tensor", opset: 13, in: []int{4}, x: []float32{1, 2, 3, 4, 5, 6, 7, 8},
			nodes: []*onnx.NodeProto{n1("Slice", []string{"x", "s", "e", "a"})},
			inits: []*onnx.TensorProto{int64s("s", []int{1}, 1), int64s("e", []int{1}, 3), int64s("a", []int{1}, 1)},
			want:  []float32{2, 3, 6, 7}, kinds: []string{"onnx-slice"}},
		{name: "Slice/batch axis whole, negative start", opset: 11, in: []int{2, 4},
			nodes: []*onnx.NodeProto{n1("Slice", []string{"x", "s", "e", "a", "st"})},
			inits: []*onnx.TensorProto{int64s("s", []int{2}, 0, -3), int64s("e", []int{2}, math.MaxInt64, 1000), int64s("a", []int{2}, 0, 2), int64s("st", []int{2}, 1, 1)},
			kinds: []string{"onnx-slice"}},
		{name: "Slice/of a shape", opset: 13, in: []int{2, 3},
			nodes: []*onnx.NodeProto{node("Shape", []string{"x"}, []string{"sh"}),
				node("Slice", []string{"sh", "s", "e"}, []string{"tail"}),
				node("Concat", []string{"m1", "tail"}, []string{"shape"}, aInt("axis", 0)),
				node("Reshape", []string{"x", "shape"}, []string{"r"}), n1("Tanh", []string{"r"})},
			inits: []*onnx.TensorProto{int64s("s", []int{1}, 1), int64s("e", []int{1}, 1<<40), int64s("m1", []int{1}, -1)}},
		{name: "Cast/shape to float", opset: 13, in: []int{3}, x: x6,
			nodes: []*onnx.NodeProto{node("Shape", []string{"x"}, []string{"sh"}),
				node("Gather", []string{"sh", "one"}, []string{"d"}),
				node("Cast", []string{"d"}, []string{"f"}, aInt("to", int64(onnx.TensorProto_FLOAT))),
				node("Cast", []string{"x"}, []string{"xf"}, aInt("to", int64(onnx.TensorProto_FLOAT))),
				n1("Mul", []string{"xf", "f"})},
			inits: []*onnx.TensorProto{int64s("one", nil, 1)},
			want:  []float32{3, 6, 9, -3, 0, 6}},
		{name: "ConstantOfShape/folded", opset: 13, in: []int{3}, x: x6,
			nodes: []*onnx.NodeProto{node("ConstantOfShape", []string{"s"}, []string{"c"}, aTensor("value", floats("", []int{1}, 2))), n1("Add", []string{"x", "c"})},
			inits: []*onnx.TensorProto{int64s("s", []int{1}, 3)},
			want:  []float32{3, 4, 5, 1, 2, 4}},
		{name: "ConstantOfShape/batch first", opset: 11, in: []int{3}, x: x6,
			nodes: []*onnx.NodeProto{node("Shape", []string{"x"}, []string{"sh"}),
				node("Gather", []string{"sh", "zero"}, []string{"n"}),
				node("Unsqueeze", []string{"n"}, []string{"n1"}, aInts("axes", 0)),
				node("Concat", []string{"n1", "three"}, []string{"shape"}, aInt("axis", 0)),
				node("ConstantOfShape", []string{"shape"}, []string{"ones"}, aTensor("value", floats("", []int{1}, 1))),
				n1("Add", []string{"x", "ones"})},
			inits: []*onnx.TensorProto{int64s("zero", nil, 0), int64s("three", []int{1}, 3)},
			want:  []float32{2, 3, 4, 0, 1, 3}, kinds: []string{"onnx-fill", "add"}},
		{name: "Pad/constant", opset: 13, in: []int{1, 2, 2}, x: []float32{1, 2, 3, 4, 0, 0, 0, 0},
			nodes: []*onnx.NodeProto{n1("Pad", []string{"x", "p", "v"})},
			inits: []*onnx.TensorProto{int64s("p", []int{8}, 0, 0, 1, 0, 0, 0, 0, 1), floats("v", nil, 5)},
			want:  []float32{5, 5, 5, 1, 2, 5, 3, 4, 5, 5, 5, 5, 0, 0, 5, 0, 0, 5}, kinds: []string{"onnx-pad"}},
		{name: "Pad/zero pads (PyTorch's avg_pool2d)", opset: 11, in: []int{1, 2, 2}, x: []float32{1, 2, 3, 4, 0, 0, 0, 0},
			nodes: []*onnx.NodeProto{node("Pad", []string{"x", "p"}, []string{"pd"}, aString("mode", "constant")), n1("AveragePool", []string{"pd"}, aInts("kernel_shape", 2, 2))},
			inits: []*onnx.TensorProto{int64s("p", []int{8}, 0, 0, 0, 0, 0, 0, 0, 0)},
			want:  []float32{2.5, 0}},
	}
}

func kindsOf(m *graph.Model) []string {
	var ks []string
	for _, nl := range m.Layers() {
		ks = append(ks, nl.Layer.Kind())
	}
	return ks
}

// Every operator imports into layers that compute what the hand-worked
// values say, and what ONNX Runtime computes from the same ONNX graph; the
// imported model exports again (export.WriteONNX) to a graph that ONNX
// Runtime runs with the same results.
func TestOperators(t *testing.T) {
	cases := operatorCases()
	type ran struct {
		c        opCase
		x, y     []float32
		exported []byte
	}
	var runs []ran
	var jobs []ortJob
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := marshal(t, modelProto(c.opset, c.in, c.nodes, c.inits...))
			m, err := onnximport.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			ks := kindsOf(m)
			for _, k := range c.kinds {
				if !slices.Contains(ks, k) {
					t.Errorf("layer kinds %v, want %s among them", ks, k)
				}
			}
			x := c.x
			if x == nil {
				x = make([]float32, 2*shapeProduct(c.in))
				for k := range x {
					x[k] = float32(rng.NormFloat64())
				}
			}
			params := map[string][]float32{}
			for _, p := range m.ParamNames() {
				params[p] = slices.Clone(m.Param(p).Data().([]float32))
			}
			data := slices.Clone(x)
			in := tensor.New(tensor.WithShape(append([]int{2}, c.in...)...), tensor.WithBacking(data))
			pr := graph.NewPredictor(m)
			out, err := pr.Forward(in)
			if err != nil {
				t.Fatal(err)
			}
			y := out.Data().([]float32)
			// Running again, whole or one sample at a time, gives the same
			// values and changes neither the input nor the parameters.
			again, err := pr.Forward(in)
			if err != nil {
				t.Fatal(err)
			}
			per := len(y) / 2
			one, err := pr.Forward(tensor.New(tensor.WithShape(append([]int{1}, c.in...)...), tensor.WithBacking(slices.Clone(x[len(x)/2:]))))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(again.Data().([]float32), y) || maxAbsDiff(one.Data().([]float32), y[per:]) > 1e-6 {
				t.Errorf("runs differ: %v, %v, then %v for the second sample alone", y, again.Data(), one.Data())
			}
			if !slices.Equal(data, x) {
				t.Errorf("running changed the input to %v (was %v)", data, x)
			}
			for name, v := range params {
				if !slices.Equal(m.Param(name).Data().([]float32), v) {
					t.Errorf("running changed parameter %s to %v (was %v)", name, m.Param(name).Data(), v)
				}
			}
			if c.want != nil {
				if d := maxAbsDiff(y, c.want); d > 1e-5 {
					t.Errorf("output %v, want %v (by hand)", y, c.want)
				}
			}
			var exported bytes.Buffer
			if err := export.WriteONNX(&exported, m); err != nil {
				t.Fatalf("export: %v", err)
			}
			runs = append(runs, ran{c, x, y, exported.Bytes()})
			inputs := []ortInput{{Name: "x", Data: x, Dims: append([]int{2}, c.in...)}}
			jobs = append(jobs, ortJob{Model: b, Batch: 1, Inputs: inputs}, ortJob{Model: exported.Bytes(), Batch: 2, Inputs: []ortInput{{Name: "input", Data: x, Dims: inputs[0].Dims}}})
		})
	}
	if _, ok := ortAvailable(); !ok {
		t.Skip("ONNX Runtime not available: checked against the hand-computed values only")
	}
	res, version := runORT(t, jobs)
	for k, r := range runs {
		orig, exp := res[2*k], res[2*k+1]
		if orig.Err != "" {
			t.Errorf("%s: ORT %s refuses the test graph: %s", r.c.name, version, orig.Err)
			continue
		}
		if exp.Err != "" {
			t.Errorf("%s: ORT %s refuses tapenet's export: %s", r.c.name, version, exp.Err)
			continue
		}
		want := orig.Outputs[0]
		if d := maxAbsDiff(r.y, want.Data); d > 1e-5 {
			t.Errorf("%s: tapenet %v, ORT %s %v (differ by %g)", r.c.name, r.y, version, want.Data, d)
		}
		if d := maxAbsDiff(exp.Outputs[0].Data, want.Data); d > 1e-5 || !slices.Equal(exp.Outputs[0].Dims, want.Dims) {
			t.Errorf("%s: tapenet's export in ORT gives %v %v, the original %v %v", r.c.name, exp.Outputs[0].Dims, exp.Outputs[0].Data, want.Dims, want.Data)
		}
	}
	t.Logf("%d operator graphs: tapenet = ONNX Runtime %s, before and after tapenet's export", len(runs), version)
}

func shapeProduct(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Every operator the importer lists has a test graph above, or, for those
// computed by onnx-op kernels only, in TestOpKernels (and every one in
// ONNX's node suite, TestNodeSuite).
func TestOperatorsCovered(t *testing.T) {
	tested := map[string]bool{}
	for _, c := range operatorCases() {
		for _, n := range c.nodes {
			tested[n.OpType] = true
		}
	}
	for _, c := range kernelCases() {
		for _, n := range c.nodes {
			tested[n.OpType] = true
		}
	}
	for _, op := range onnximport.Operators() {
		if !tested[op] {
			t.Errorf("operator %s has no test graph", op)
		}
	}
}
