package onnximport_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/onnximport"
	"gorgonia.org/tensor"
)

// typed is a tensor of one element type for the kernel tests: floats in f
// (float32 unless dt says otherwise), integers in i, booleans in b.
type typed struct {
	dt    onnx.TensorProto_DataType
	shape []int
	f     []float64
	i     []int64
	b     []bool
}

func f32(shape []int, v ...float64) typed {
	return typed{dt: onnx.TensorProto_FLOAT, shape: shape, f: v}
}
func i64(shape []int, v ...int64) typed  { return typed{dt: onnx.TensorProto_INT64, shape: shape, i: v} }
func bools(shape []int, v ...bool) typed { return typed{dt: onnx.TensorProto_BOOL, shape: shape, b: v} }

func (x typed) dense() *tensor.Dense {
	var backing any
	switch x.dt {
	case onnx.TensorProto_FLOAT:
		v := make([]float32, len(x.f))
		for k, f := range x.f {
			v[k] = float32(f)
		}
		backing = v
	case onnx.TensorProto_DOUBLE:
		backing = slices.Clone(x.f)
	case onnx.TensorProto_BOOL:
		backing = slices.Clone(x.b)
	default:
		backing = slices.Clone(x.i)
	}
	return tensor.New(tensor.WithShape(x.shape...), tensor.WithBacking(backing))
}

// kernelCase is a graph of fixed-shape inputs x0, x1, ... and output y.
type kernelCase struct {
	name  string
	opset int64
	in    []typed
	nodes []*onnx.NodeProto
	inits []*onnx.TensorProto
	want  typed
	// declare: the model declares y's type and shape (want's).
	declare bool
}

func fixedModel(c kernelCase) *onnx.ModelProto {
	var inputs []*onnx.ValueInfoProto
	for k, x := range c.in {
		var dims []*onnx.TensorShapeProto_Dimension
		for _, d := range x.shape {
			dims = append(dims, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
		}
		inputs = append(inputs, &onnx.ValueInfoProto{Name: "x" + string(rune('0'+k)), Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: &onnx.TypeProto_Tensor{
			ElemType: int32(x.dt), Shape: &onnx.TensorShapeProto{Dim: dims},
		}}}})
	}
	y := &onnx.ValueInfoProto{Name: "y"}
	if c.declare {
		var dims []*onnx.TensorShapeProto_Dimension
		for _, d := range c.want.shape {
			dims = append(dims, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
		}
		y.Type = &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: &onnx.TypeProto_Tensor{ElemType: int32(c.want.dt), Shape: &onnx.TensorShapeProto{Dim: dims}}}}
	}
	return &onnx.ModelProto{
		IrVersion:   8,
		OpsetImport: []*onnx.OperatorSetIdProto{{Version: c.opset}},
		Graph:       &onnx.GraphProto{Name: "kernel", Node: c.nodes, Initializer: c.inits, Input: inputs, Output: []*onnx.ValueInfoProto{y}},
	}
}

func kernelCases() []kernelCase {
	unary := func(op string, x, y []float64, attrs ...*onnx.AttributeProto) kernelCase {
		return kernelCase{name: op, opset: 18, in: []typed{f32([]int{len(x)}, x...)}, nodes: []*onnx.NodeProto{n1(op, []string{"x0"}, attrs...)}, want: f32([]int{len(y)}, y...)}
	}
	bin := func(name, op string, a, b, y typed, attrs ...*onnx.AttributeProto) kernelCase {
		return kernelCase{name: name, opset: 13, in: []typed{a, b}, nodes: []*onnx.NodeProto{n1(op, []string{"x0", "x1"}, attrs...)}, want: y}
	}
	x23 := f32([]int{2, 3}, 1, 5, 3, 4, 2, 6)
	sg := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	// Recurrent operators of hidden size 1 over x = (1, -1) (seq 2, batch
	// 1, features 1), by their formulas in ONNX's operator docs.
	rnnH1 := math.Tanh(0.5*1 + 0.1 + 0.2)
	rnnH2 := math.Tanh(0.5*-1 + 2*rnnH1 + 0.1 + 0.2)
	// GRU, gates z, r, h, linear_before_reset=1.
	gruStep := func(x, h float64) float64 {
		z := sg(0.3*x + 0.1*h + 0.05 + 0.02)
		r := sg(-0.4*x + 0.2*h + 0.01 - 0.03)
		n := math.Tanh(0.7*x + 0.04 + r*(-0.6*h+0.06))
		return (1-z)*n + z*h
	}
	gruH1 := gruStep(1, 0)
	gruH2 := gruStep(-1, gruH1)
	// LSTM, gates i, o, f, c.
	lstmStep := func(x, h, c float64) (float64, float64) {
		i := sg(0.5*x + 0.1*h + 0.1)
		o := sg(-0.3*x + 0.2*h - 0.2)
		f := sg(0.8*x - 0.1*h + 0.3)
		g := math.Tanh(0.6*x + 0.4*h)
		c = f*c + i*g
		return o * math.Tanh(c), c
	}
	lstmH1, lstmC1 := lstmStep(1, 0, 0)
	lstmH2, _ := lstmStep(-1, lstmH1, lstmC1)
	return []kernelCase{
		{name: "RNN/Y", opset: 13, in: []typed{f32([]int{2, 1, 1}, 1, -1)},
			nodes: []*onnx.NodeProto{n1("RNN", []string{"x0", "w", "r", "b"}, aInt("hidden_size", 1))},
			inits: []*onnx.TensorProto{floats("w", []int{1, 1, 1}, 0.5), floats("r", []int{1, 1, 1}, 2), floats("b", []int{1, 2}, 0.1, 0.2)},
			want:  f32([]int{2, 1, 1, 1}, rnnH1, rnnH2)},
		{name: "GRU/Y_h", opset: 13, in: []typed{f32([]int{2, 1, 1}, 1, -1)},
			nodes: []*onnx.NodeProto{node("GRU", []string{"x0", "w", "r", "b"}, []string{"", "y"}, aInt("hidden_size", 1), aInt("linear_before_reset", 1))},
			inits: []*onnx.TensorProto{floats("w", []int{1, 3, 1}, 0.3, -0.4, 0.7), floats("r", []int{1, 3, 1}, 0.1, 0.2, -0.6), floats("b", []int{1, 6}, 0.05, 0.01, 0.04, 0.02, -0.03, 0.06)},
			want:  f32([]int{1, 1, 1}, gruH2)},
		{name: "LSTM/Y", opset: 13, in: []typed{f32([]int{2, 1, 1}, 1, -1)},
			nodes: []*onnx.NodeProto{n1("LSTM", []string{"x0", "w", "r", "b"}, aInt("hidden_size", 1))},
			inits: []*onnx.TensorProto{floats("w", []int{1, 4, 1}, 0.5, -0.3, 0.8, 0.6), floats("r", []int{1, 4, 1}, 0.1, 0.2, -0.1, 0.4), floats("b", []int{1, 8}, 0.1, -0.2, 0.3, 0, 0, 0, 0, 0)},
			want:  f32([]int{2, 1, 1, 1}, lstmH1, lstmH2)},
		unary("Abs", []float64{-2, 3}, []float64{2, 3}),
		unary("Neg", []float64{-2, 3}, []float64{2, -3}),
		unary("Sign", []float64{-2, 0, 3}, []float64{-1, 0, 1}),
		unary("Exp", []float64{0, 1}, []float64{1, math.E}),
		unary("Log", []float64{1, math.E}, []float64{0, 1}),
		unary("Sqrt", []float64{4, 0.25}, []float64{2, 0.5}),
		unary("Reciprocal", []float64{4, -0.5}, []float64{0.25, -2}),
		unary("Floor", []float64{-1.5, 1.5}, []float64{-2, 1}),
		unary("Ceil", []float64{-1.5, 1.5}, []float64{-1, 2}),
		unary("Round", []float64{2.5, -1.5, 0.4}, []float64{2, -2, 0}),
		unary("Sin", []float64{0, math.Pi / 2}, []float64{0, 1}),
		unary("Cos", []float64{0, math.Pi}, []float64{1, -1}),
		unary("Tan", []float64{0, math.Pi / 4}, []float64{0, 1}),
		unary("Asin", []float64{0, 1}, []float64{0, math.Pi / 2}),
		unary("Acos", []float64{1, -1}, []float64{0, math.Pi}),
		unary("Atan", []float64{0, 1}, []float64{0, math.Pi / 4}),
		unary("Sinh", []float64{0}, []float64{0}),
		unary("Cosh", []float64{0}, []float64{1}),
		unary("Asinh", []float64{0}, []float64{0}),
		unary("Acosh", []float64{1}, []float64{0}),
		unary("Atanh", []float64{0}, []float64{0}),
		unary("Erf", []float64{0, 10}, []float64{0, 1}),
		unary("Relu", []float64{-1, 2}, []float64{0, 2}),
		unary("Sigmoid", []float64{0}, []float64{0.5}),
		unary("Tanh", []float64{0}, []float64{0}),
		unary("Softplus", []float64{0}, []float64{math.Ln2}),
		unary("Softsign", []float64{1, -3}, []float64{0.5, -0.75}),
		unary("Mish", []float64{0}, []float64{0}),
		unary("HardSwish", []float64{3, -3, 0}, []float64{3, 0, 0}),
		unary("Elu", []float64{-math.Ln2, 2}, []float64{-1, 2}, aFloat("alpha", 2)),
		unary("Celu", []float64{-math.Ln2, 2}, []float64{-0.5, 2}),
		unary("Selu", []float64{1, 0}, []float64{1.0507010221481323, 0}),
		unary("LeakyRelu", []float64{-1, 2}, []float64{-0.5, 2}, aFloat("alpha", 0.5)),
		unary("ThresholdedRelu", []float64{0.5, 2}, []float64{0, 2}),
		unary("HardSigmoid", []float64{0, 10}, []float64{0.5, 1}),
		{name: "Clip-11 bounds as inputs", opset: 11, in: []typed{f32([]int{3}, -5, 0.5, 5)},
			nodes: []*onnx.NodeProto{n1("Clip", []string{"x0", "lo", "hi"})}, inits: []*onnx.TensorProto{floats("lo", nil, 0), floats("hi", nil, 2)}, want: f32([]int{3}, 0, 0.5, 2)},
		{name: "Clip-6 attributes", opset: 6 + 1, in: []typed{f32([]int{3}, -5, 0.5, 5)},
			nodes: []*onnx.NodeProto{n1("Clip", []string{"x0"}, aFloat("min", -1), aFloat("max", 1))}, want: f32([]int{3}, -1, 0.5, 1)},
		bin("Add broadcast over the batch axis", "Add", x23, f32([]int{2, 1}, 10, 20), f32([]int{2, 3}, 11, 15, 13, 24, 22, 26)),
		bin("Sub int64", "Sub", i64([]int{2}, 5, 7), i64([]int{1}, 2), i64([]int{2}, 3, 5)),
		bin("Mul", "Mul", f32([]int{2}, 2, 3), f32([]int{2}, 4, 5), f32([]int{2}, 8, 15)),
		bin("Div int64 truncates", "Div", i64([]int{2}, 7, -7), i64([]int{2}, 2, 2), i64([]int{2}, 3, -3)),
		bin("Pow", "Pow", f32([]int{2}, 2, 9), f32([]int{2}, 3, 0.5), f32([]int{2}, 8, 3)),
		bin("PRelu", "PRelu", f32([]int{2, 2}, -1, 2, -3, 4), f32([]int{2}, 0.5, 0.25), f32([]int{2, 2}, -0.5, 2, -1.5, 4)),
		bin("Mod int64 sign of divisor", "Mod", i64([]int{2}, -7, 7), i64([]int{2}, 3, -3), i64([]int{2}, 2, -2)),
		bin("Mod fmod", "Mod", f32([]int{2}, -7, 7), f32([]int{2}, 3, -3), f32([]int{2}, -1, 1), aInt("fmod", 1)),
		bin("Equal", "Equal", i64([]int{3}, 1, 2, 3), i64([]int{1}, 2), bools([]int{3}, false, true, false)),
		bin("Less", "Less", f32([]int{2}, 1, 3), f32([]int{2}, 2, 2), bools([]int{2}, true, false)),
		bin("Greater", "Greater", f32([]int{2}, 1, 3), f32([]int{2}, 2, 2), bools([]int{2}, false, true)),
		bin("LessOrEqual", "LessOrEqual", f32([]int{2}, 2, 3), f32([]int{2}, 2, 2), bools([]int{2}, true, false)),
		bin("GreaterOrEqual", "GreaterOrEqual", f32([]int{2}, 2, 1), f32([]int{2}, 2, 2), bools([]int{2}, true, false)),
		bin("And", "And", bools([]int{2}, true, true), bools([]int{2}, true, false), bools([]int{2}, true, false)),
		bin("Or", "Or", bools([]int{2}, false, true), bools([]int{2}, false, false), bools([]int{2}, false, true)),
		bin("Xor", "Xor", bools([]int{2}, true, true), bools([]int{2}, false, true), bools([]int{2}, true, false)),
		{name: "Not", opset: 13, in: []typed{bools([]int{2}, true, false)}, nodes: []*onnx.NodeProto{n1("Not", []string{"x0"})}, want: bools([]int{2}, false, true)},
		{name: "IsNaN", opset: 13, in: []typed{f32([]int{2}, math.NaN(), 1)}, nodes: []*onnx.NodeProto{n1("IsNaN", []string{"x0"})}, want: bools([]int{2}, true, false)},
		{name: "IsInf negative only", opset: 13, in: []typed{f32([]int{3}, math.Inf(1), math.Inf(-1), 1)}, nodes: []*onnx.NodeProto{n1("IsInf", []string{"x0"}, aInt("detect_positive", 0))}, want: bools([]int{3}, false, true, false)},
		{name: "Where", opset: 13, in: []typed{bools([]int{2}, true, false), f32([]int{2}, 1, 2), f32([]int{1}, 9)},
			nodes: []*onnx.NodeProto{n1("Where", []string{"x0", "x1", "x2"})}, want: f32([]int{2}, 1, 9)},
		{name: "Max Min Sum Mean", opset: 13, in: []typed{f32([]int{2}, 1, 5), f32([]int{2}, 3, 2)},
			nodes: []*onnx.NodeProto{node("Max", []string{"x0", "x1"}, []string{"a"}), node("Min", []string{"x0", "x1"}, []string{"b"}),
				node("Sum", []string{"a", "b"}, []string{"c"}), n1("Mean", []string{"c", "a", "b"})},
			want: f32([]int{2}, 8.0/3, 14.0/3)}, // max 3 5, min 1 2, sum 4 7: mean of (4,3,1) and (7,5,2)
		{name: "ReduceSum over the batch axis", opset: 13, in: []typed{x23}, nodes: []*onnx.NodeProto{n1("ReduceSum", []string{"x0", "a"}, aInt("keepdims", 0))},
			inits: []*onnx.TensorProto{int64s("a", []int{1}, 0)}, want: f32([]int{3}, 5, 7, 9)},
		{name: "ReduceMean keepdims", opset: 13, in: []typed{x23}, nodes: []*onnx.NodeProto{n1("ReduceMean", []string{"x0"}, aInts("axes", 1))}, want: f32([]int{2, 1}, 3, 4)},
		{name: "ReduceMax ReduceMin", opset: 13, in: []typed{x23}, nodes: []*onnx.NodeProto{node("ReduceMax", []string{"x0"}, []string{"a"}, aInts("axes", -1)), n1("ReduceMin", []string{"a"}, aInts("axes", 0))}, want: f32([]int{1, 1}, 5)},
		{name: "ReduceProd all", opset: 13, in: []typed{f32([]int{3}, 2, 3, 4)}, nodes: []*onnx.NodeProto{n1("ReduceProd", []string{"x0"})}, want: f32([]int{1}, 24)},
		{name: "ReduceL1 ReduceL2", opset: 13, in: []typed{f32([]int{2, 2}, 3, -4, 6, 8)}, nodes: []*onnx.NodeProto{node("ReduceL2", []string{"x0"}, []string{"a"}, aInts("axes", 1), aInt("keepdims", 0)), n1("ReduceL1", []string{"a"})}, want: f32([]int{1}, 15)},
		{name: "ReduceSumSquare", opset: 13, in: []typed{f32([]int{2}, 3, 4)}, nodes: []*onnx.NodeProto{n1("ReduceSumSquare", []string{"x0"})}, want: f32([]int{1}, 25)},
		{name: "ReduceLogSum ReduceLogSumExp", opset: 13, in: []typed{f32([]int{2}, 0, 0)}, nodes: []*onnx.NodeProto{node("ReduceLogSumExp", []string{"x0"}, []string{"a"}), n1("ReduceLogSum", []string{"a"})}, want: f32([]int{1}, math.Log(math.Ln2))},
		{name: "ArgMax ArgMin", opset: 13, in: []typed{x23}, nodes: []*onnx.NodeProto{node("ArgMax", []string{"x0"}, []string{"a"}, aInt("axis", 1)), node("ArgMin", []string{"x0"}, []string{"b"}, aInt("axis", 1), aInt("keepdims", 0)),
			node("Unsqueeze", []string{"b", "ax"}, []string{"c"}), n1("Concat", []string{"a", "c"}, aInt("axis", 1))}, inits: []*onnx.TensorProto{int64s("ax", []int{1}, 1)}, want: i64([]int{2, 2}, 1, 0, 2, 1)},
		{name: "Softmax over the batch axis", opset: 13, in: []typed{f32([]int{2, 1}, 0, math.Log(3))}, nodes: []*onnx.NodeProto{n1("Softmax", []string{"x0"}, aInt("axis", 0))}, want: f32([]int{2, 1}, 0.25, 0.75)},
		{name: "LogSoftmax-11 flattened", opset: 11, in: []typed{f32([]int{1, 2, 1}, 0, 0)}, nodes: []*onnx.NodeProto{n1("LogSoftmax", []string{"x0"})}, want: f32([]int{1, 2, 1}, -math.Ln2, -math.Ln2)},
		{name: "Hardmax", opset: 13, in: []typed{f32([]int{2, 2}, 1, 2, 4, 3)}, nodes: []*onnx.NodeProto{n1("Hardmax", []string{"x0"})}, want: f32([]int{2, 2}, 0, 1, 1, 0)},
		{name: "Cast float to int64 truncates", opset: 13, in: []typed{f32([]int{2}, -1.7, 2.9)}, nodes: []*onnx.NodeProto{n1("Cast", []string{"x0"}, aInt("to", int64(onnx.TensorProto_INT64)))}, want: i64([]int{2}, -1, 2)},
		{name: "Identity", opset: 13, in: []typed{i64([]int{2}, 4, 5)}, nodes: []*onnx.NodeProto{n1("Identity", []string{"x0"})}, want: i64([]int{2}, 4, 5)},
		{name: "Transpose the batch axis", opset: 13, in: []typed{x23}, nodes: []*onnx.NodeProto{n1("Transpose", []string{"x0"})}, want: f32([]int{3, 2}, 1, 4, 5, 2, 3, 6)},
		{name: "Reshape Flatten Squeeze Unsqueeze", opset: 13, in: []typed{x23}, nodes: []*onnx.NodeProto{node("Reshape", []string{"x0", "s"}, []string{"a"}), node("Unsqueeze", []string{"a", "ax"}, []string{"b"}),
			node("Squeeze", []string{"b"}, []string{"c"}), n1("Flatten", []string{"c"}, aInt("axis", 0))},
			inits: []*onnx.TensorProto{int64s("s", []int{2}, 3, -1), int64s("ax", []int{1}, 0)}, want: f32([]int{1, 6}, 1, 5, 3, 4, 2, 6)},
		{name: "Concat along the batch axis", opset: 13, in: []typed{f32([]int{1, 2}, 1, 2)}, nodes: []*onnx.NodeProto{n1("Concat", []string{"x0", "c"}, aInt("axis", 0))},
			inits: []*onnx.TensorProto{floats("c", []int{1, 2}, 3, 4)}, want: f32([]int{2, 2}, 1, 2, 3, 4)},
		{name: "Expand", opset: 13, in: []typed{f32([]int{2, 1}, 1, 2)}, nodes: []*onnx.NodeProto{n1("Expand", []string{"x0", "s"})}, inits: []*onnx.TensorProto{int64s("s", []int{2}, 2, 2)}, want: f32([]int{2, 2}, 1, 1, 2, 2)},
		{name: "Tile", opset: 13, in: []typed{f32([]int{1, 2}, 1, 2)}, nodes: []*onnx.NodeProto{n1("Tile", []string{"x0", "r"})}, inits: []*onnx.TensorProto{int64s("r", []int{2}, 2, 1)}, want: f32([]int{2, 2}, 1, 2, 1, 2)},
		{name: "Slice with a negative step on the batch axis", opset: 13, in: []typed{x23}, nodes: []*onnx.NodeProto{n1("Slice", []string{"x0", "s", "e", "a", "st"})},
			inits: []*onnx.TensorProto{int64s("s", []int{2}, -1, 0), int64s("e", []int{2}, -3, 3), int64s("a", []int{2}, 0, 1), int64s("st", []int{2}, -1, 2)}, want: f32([]int{2, 2}, 4, 6, 1, 3)},
		{name: "Gather of int64 indices", opset: 13, in: []typed{x23, i64([]int{2}, -1, 0)}, nodes: []*onnx.NodeProto{n1("Gather", []string{"x0", "x1"}, aInt("axis", 1))}, want: f32([]int{2, 2}, 3, 1, 6, 4)},
		{name: "MatMul batched", opset: 13, in: []typed{f32([]int{2, 1, 2}, 1, 2, 3, 4), f32([]int{2, 1}, 1, 10)}, nodes: []*onnx.NodeProto{n1("MatMul", []string{"x0", "x1"})}, want: f32([]int{2, 1, 1}, 21, 43)},
		{name: "Gemm transA alpha beta", opset: 13, in: []typed{f32([]int{2, 1}, 1, 2), f32([]int{2, 2}, 1, 0, 0, 1)}, nodes: []*onnx.NodeProto{n1("Gemm", []string{"x0", "x1", "c"}, aInt("transA", 1), aFloat("alpha", 2), aFloat("beta", 0.5))},
			inits: []*onnx.TensorProto{floats("c", []int{1}, 2)}, want: f32([]int{1, 2}, 3, 5)},
		{name: "Trilu lower k=-1", opset: 14, in: []typed{f32([]int{2, 2}, 1, 2, 3, 4)}, nodes: []*onnx.NodeProto{n1("Trilu", []string{"x0", "k"}, aInt("upper", 0))},
			inits: []*onnx.TensorProto{int64s("k", nil, -1)}, want: f32([]int{2, 2}, 0, 0, 3, 0)},
		{name: "CumSum exclusive reverse", opset: 14, in: []typed{f32([]int{3}, 1, 2, 3)}, nodes: []*onnx.NodeProto{n1("CumSum", []string{"x0", "a"}, aInt("exclusive", 1), aInt("reverse", 1))},
			inits: []*onnx.TensorProto{int64s("a", nil, 0)}, want: f32([]int{3}, 5, 3, 0)},
		{name: "GatherElements", opset: 13, in: []typed{f32([]int{2, 2}, 1, 2, 3, 4), i64([]int{2, 2}, 0, 0, 1, 0)}, nodes: []*onnx.NodeProto{n1("GatherElements", []string{"x0", "x1"}, aInt("axis", 1))},
			want: f32([]int{2, 2}, 1, 1, 4, 3)},
		{name: "ScatterElements", opset: 13, in: []typed{f32([]int{1, 3}, 0, 0, 0), i64([]int{1, 2}, 2, -3), f32([]int{1, 2}, 5, 6)}, nodes: []*onnx.NodeProto{n1("ScatterElements", []string{"x0", "x1", "x2"}, aInt("axis", 1))},
			want: f32([]int{1, 3}, 6, 0, 5)},
		{name: "EyeLike k=1 int64", opset: 13, in: []typed{f32([]int{2, 3}, 0, 0, 0, 0, 0, 0)}, nodes: []*onnx.NodeProto{n1("EyeLike", []string{"x0"}, aInt("k", 1), aInt("dtype", int64(onnx.TensorProto_INT64)))},
			want: i64([]int{2, 3}, 0, 1, 0, 0, 0, 1)},
		{name: "Size", opset: 13, in: []typed{x23}, nodes: []*onnx.NodeProto{n1("Size", []string{"x0"})}, want: i64([]int{1}, 6)},
		{name: "Range of constants", opset: 13, in: []typed{f32([]int{2}, 0, 0)}, nodes: []*onnx.NodeProto{node("Range", []string{"a", "b", "c"}, []string{"r"}), n1("Add", []string{"x0", "r"})},
			inits: []*onnx.TensorProto{floats("a", nil, 1), floats("b", nil, 2), floats("c", nil, 0.5)}, want: f32([]int{2}, 1, 1.5)},
		{name: "Split sizes, second output", opset: 13, in: []typed{f32([]int{3}, 1, 2, 3)}, nodes: []*onnx.NodeProto{node("Split", []string{"x0", "s"}, []string{"a", "y"})},
			inits: []*onnx.TensorProto{int64s("s", []int{2}, 1, 2)}, want: f32([]int{2}, 2, 3)},
		{name: "TopK indices", opset: 13, in: []typed{f32([]int{4}, 3, 1, 4, 2)}, nodes: []*onnx.NodeProto{node("TopK", []string{"x0", "k"}, []string{"v", "y"})},
			inits: []*onnx.TensorProto{int64s("k", []int{1}, 2)}, want: i64([]int{2}, 2, 0)},
		{name: "LayerNormalization", opset: 17, in: []typed{f32([]int{1, 2}, 1, 3)}, nodes: []*onnx.NodeProto{n1("LayerNormalization", []string{"x0", "s", "b"}, aFloat("epsilon", 0))},
			inits: []*onnx.TensorProto{floats("s", []int{2}, 2, 2), floats("b", []int{2}, 1, 1)}, want: f32([]int{1, 2}, -1, 3)},
		{name: "NegativeLogLikelihoodLoss weighted mean", opset: 13, in: []typed{f32([]int{2, 2}, -1, -2, -3, -4), i64([]int{2}, 0, 1)},
			nodes: []*onnx.NodeProto{n1("NegativeLogLikelihoodLoss", []string{"x0", "x1", "w"})}, inits: []*onnx.TensorProto{floats("w", []int{2}, 1, 3)},
			want: f32([]int{1}, (1*1+4*3)/4.0)},
		{name: "SoftmaxCrossEntropyLoss sum, ignore_index", opset: 13, in: []typed{f32([]int{2, 2}, 0, 0, 5, 5), i64([]int{2}, 1, 0)},
			nodes: []*onnx.NodeProto{n1("SoftmaxCrossEntropyLoss", []string{"x0", "x1"}, aString("reduction", "sum"), aInt("ignore_index", 0))},
			want:  f32([]int{1}, math.Ln2)},
		{name: "InstanceNormalization", opset: 6, in: []typed{f32([]int{1, 1, 2}, 1, 3)},
			nodes: []*onnx.NodeProto{n1("InstanceNormalization", []string{"x0", "s", "b"}, aFloat("epsilon", 0))}, inits: []*onnx.TensorProto{floats("s", []int{1}, 2), floats("b", []int{1}, 1)},
			want: f32([]int{1, 1, 2}, -1, 3)},
		{name: "GlobalMaxPool", opset: 1, in: []typed{f32([]int{1, 2, 2}, 1, 5, 3, 4)}, nodes: []*onnx.NodeProto{n1("GlobalMaxPool", []string{"x0"})}, want: f32([]int{1, 2, 1}, 5, 4)},
		{name: "Dropout inference mask", opset: 13, in: []typed{f32([]int{2}, 1, 2)}, nodes: []*onnx.NodeProto{node("Dropout", []string{"x0"}, []string{"d", "y"})}, want: bools([]int{2}, true, true)},
		{name: "Conv depthwise with bias, weights an input", opset: 13, in: []typed{f32([]int{1, 2, 1, 2}, 1, 2, 3, 4), f32([]int{2, 1, 1, 1}, 2, 3)},
			nodes: []*onnx.NodeProto{n1("Conv", []string{"x0", "x1", "b"}, aInt("group", 2))}, inits: []*onnx.TensorProto{floats("b", []int{2}, 1, 1)},
			want: f32([]int{1, 2, 1, 2}, 3, 5, 10, 13)},
		{name: "Conv 1-D strided dilated asymmetric pads", opset: 13, in: []typed{f32([]int{1, 1, 5}, 1, 2, 3, 4, 5), f32([]int{1, 1, 2}, 1, 10)},
			nodes: []*onnx.NodeProto{n1("Conv", []string{"x0", "x1"}, aInts("dilations", 2), aInts("strides", 2), aInts("pads", 1, 0))},
			want:  f32([]int{1, 1, 2}, 20, 42)}, // padded 0 1 2 3 4 5: (0+20), (2+40)
		{name: "ConvTranspose 1-D", opset: 13, in: []typed{f32([]int{1, 1, 2}, 1, 2)}, nodes: []*onnx.NodeProto{n1("ConvTranspose", []string{"x0", "w"})},
			inits: []*onnx.TensorProto{floats("w", []int{1, 1, 2}, 1, 10)}, want: f32([]int{1, 1, 3}, 1, 12, 20)},
		{name: "Resize nearest asymmetric floor", opset: 13, in: []typed{f32([]int{1, 1, 1, 2}, 1, 2)},
			nodes: []*onnx.NodeProto{n1("Resize", []string{"x0", "", "s"}, aString("mode", "nearest"), aString("coordinate_transformation_mode", "asymmetric"), aString("nearest_mode", "floor"))},
			inits: []*onnx.TensorProto{floats("s", []int{4}, 1, 1, 1, 2)}, want: f32([]int{1, 1, 1, 4}, 1, 1, 2, 2)},
		{name: "Resize linear half_pixel", opset: 13, in: []typed{f32([]int{1, 1, 1, 2}, 1, 3)},
			nodes: []*onnx.NodeProto{n1("Resize", []string{"x0", "", "s"}, aString("mode", "linear"))},
			inits: []*onnx.TensorProto{floats("s", []int{4}, 1, 1, 1, 2)}, want: f32([]int{1, 1, 1, 4}, 1, 1.5, 2.5, 3)},
		{name: "Resize linear align_corners", opset: 13, in: []typed{f32([]int{1, 1, 1, 2}, 1, 3)},
			nodes: []*onnx.NodeProto{n1("Resize", []string{"x0", "", "s"}, aString("mode", "linear"), aString("coordinate_transformation_mode", "align_corners"))},
			inits: []*onnx.TensorProto{floats("s", []int{4}, 1, 1, 1, 2)}, want: f32([]int{1, 1, 1, 4}, 1, 5.0/3, 7.0/3, 3)},
		{name: "Resize linear sizes at run time", opset: 13, in: []typed{f32([]int{1, 1, 2, 1}, 1, 3), i64([]int{4}, 1, 1, 4, 1)},
			nodes: []*onnx.NodeProto{n1("Resize", []string{"x0", "", "", "x1"}, aString("mode", "linear"), aString("coordinate_transformation_mode", "asymmetric"))},
			want:  f32([]int{1, 1, 4, 1}, 1, 2, 3, 3), declare: true},
		{name: "Reshape to a shape given at run time", opset: 13, in: []typed{x23, i64([]int{2}, 3, -1)},
			nodes: []*onnx.NodeProto{n1("Reshape", []string{"x0", "x1"})}, want: f32([]int{3, 2}, 1, 5, 3, 4, 2, 6), declare: true},
		{name: "Pad reflect and edge (generic)", opset: 13, in: []typed{f32([]int{1, 3}, 1, 2, 3)},
			nodes: []*onnx.NodeProto{n1("Pad", []string{"x0", "p"}, aString("mode", "reflect"))},
			inits: []*onnx.TensorProto{int64s("p", []int{4}, 0, 2, 0, 1)}, want: f32([]int{1, 6}, 3, 2, 1, 2, 3, 2)},
		{name: "Pad edge cropping", opset: 13, in: []typed{f32([]int{2, 3}, 1, 2, 3, 4, 5, 6)},
			nodes: []*onnx.NodeProto{n1("Pad", []string{"x0", "p"}, aString("mode", "edge"))},
			inits: []*onnx.TensorProto{int64s("p", []int{4}, 0, -1, 1, 2)}, want: f32([]int{3, 4}, 2, 3, 3, 3, 5, 6, 6, 6, 5, 6, 6, 6)},
		{name: "GatherND", opset: 13, in: []typed{f32([]int{2, 2}, 0, 1, 2, 3)}, nodes: []*onnx.NodeProto{n1("GatherND", []string{"x0", "i"})},
			inits: []*onnx.TensorProto{int64s("i", []int{2, 2}, 0, 0, 1, 1)}, want: f32([]int{2}, 0, 3)},
		{name: "DepthToSpace DCR", opset: 13, in: []typed{f32([]int{1, 4, 1, 2}, 1, 2, 3, 4, 5, 6, 7, 8)}, nodes: []*onnx.NodeProto{n1("DepthToSpace", []string{"x0"}, aInt("blocksize", 2))},
			want: f32([]int{1, 1, 2, 4}, 1, 3, 2, 4, 5, 7, 6, 8)},
		{name: "SpaceToDepth, DepthToSpace's inverse", opset: 13, in: []typed{f32([]int{1, 1, 2, 4}, 1, 3, 2, 4, 5, 7, 6, 8)}, nodes: []*onnx.NodeProto{n1("SpaceToDepth", []string{"x0"}, aInt("blocksize", 2))},
			want: f32([]int{1, 4, 1, 2}, 1, 2, 3, 4, 5, 6, 7, 8)},
		{name: "Upsample-9", opset: 9, in: []typed{f32([]int{1, 1, 1, 2}, 1, 2)}, nodes: []*onnx.NodeProto{n1("Upsample", []string{"x0", "s"})},
			inits: []*onnx.TensorProto{floats("s", []int{4}, 1, 1, 2, 1)}, want: f32([]int{1, 1, 2, 2}, 1, 2, 1, 2)},
		bin("Pow int64 by float", "Pow", i64([]int{2}, 2, 3), f32([]int{2}, 3, 0.5), i64([]int{2}, 8, 1)),
		{name: "Max int64", opset: 13, in: []typed{i64([]int{2}, 1, 5), i64([]int{1}, 3)}, nodes: []*onnx.NodeProto{n1("Max", []string{"x0", "x1"})}, want: i64([]int{2}, 3, 5)},
		{name: "MaxPool 1-D ceil_mode, its Indices", opset: 12, in: []typed{f32([]int{1, 1, 5}, 1, 3, 2, 5, 4)},
			nodes: []*onnx.NodeProto{node("MaxPool", []string{"x0"}, []string{"v", "y"}, aInts("kernel_shape", 2), aInts("strides", 2), aInt("ceil_mode", 1))}, want: i64([]int{1, 1, 3}, 1, 3, 4)},
		{name: "AveragePool 1-D count_include_pad", opset: 11, in: []typed{f32([]int{1, 1, 3}, 1, 2, 3)},
			nodes: []*onnx.NodeProto{n1("AveragePool", []string{"x0"}, aInts("kernel_shape", 3), aInts("pads", 1, 1), aInt("count_include_pad", 1))}, want: f32([]int{1, 1, 3}, 1, 2, 5.0/3)},
		{name: "Shape of a fixed input as the output", opset: 13, in: []typed{x23}, nodes: []*onnx.NodeProto{n1("Shape", []string{"x0"})}, want: i64([]int{2}, 2, 3)},
		// OneHot, the node suite's cases with depth a constant: the on
		// value at the flat positions listed, off elsewhere.
		{name: "OneHot int64 values, last axis", opset: 11, in: []typed{i64([]int{3}, 0, 7, 8), i64([]int{2}, 2, 5)},
			nodes: []*onnx.NodeProto{n1("OneHot", []string{"x0", "d", "x1"})}, inits: []*onnx.TensorProto{floats("d", nil, 12)},
			want: i64([]int{3, 12}, hotInts(36, 2, 5, 0, 12+7, 24+8)...)},
		{name: "OneHot negative indices", opset: 11, in: []typed{i64([]int{3}, 0, -7, -8), f32([]int{2}, 1, 3)},
			nodes: []*onnx.NodeProto{n1("OneHot", []string{"x0", "d", "x1"}, aInt("axis", 1))}, inits: []*onnx.TensorProto{floats("d", nil, 10)},
			want: f32([]int{3, 10}, hot(30, 1, 3, 0, 10+3, 20+2)...)},
		{name: "OneHot axis 1 of rank 2", opset: 11, in: []typed{f32([]int{2, 2}, 1, 9, 2, 4), f32([]int{2}, 1, 3)},
			nodes: []*onnx.NodeProto{n1("OneHot", []string{"x0", "d", "x1"}, aInt("axis", 1))}, inits: []*onnx.TensorProto{int64s("d", nil, 10)},
			want: f32([]int{2, 10, 2}, hot(40, 1, 3, 1*2+0, 9*2+1, 20+2*2+0, 20+4*2+1)...)},
		{name: "OneHot axis -2 equals axis 1", opset: 11, in: []typed{f32([]int{2, 2}, 1, 9, 2, 4), f32([]int{2}, 1, 3)},
			nodes: []*onnx.NodeProto{n1("OneHot", []string{"x0", "d", "x1"}, aInt("axis", -2))}, inits: []*onnx.TensorProto{int64s("d", nil, 10)},
			want: f32([]int{2, 10, 2}, hot(40, 1, 3, 1*2+0, 9*2+1, 20+2*2+0, 20+4*2+1)...)},
		{name: "OneHot axis 0, outside the range all off, floats truncated", opset: 9, in: []typed{f32([]int{4}, 10, -11, 2.7, -0.5), f32([]int{2}, 0, 1)},
			nodes: []*onnx.NodeProto{n1("OneHot", []string{"x0", "d", "x1"}, aInt("axis", 0))}, inits: []*onnx.TensorProto{int64s("d", nil, 10)},
			want: f32([]int{10, 4}, hot(40, 0, 1, 2*4+2, 0*4+3)...)},
	}
}

// hot is n off values with on at the flat positions at.
func hot(n int, off, on float64, at ...int) []float64 {
	v := make([]float64, n)
	for k := range v {
		v[k] = off
	}
	for _, p := range at {
		v[p] = on
	}
	return v
}

func hotInts(n int, off, on int64, at ...int) []int64 {
	v := make([]int64, n)
	for k := range v {
		v[k] = off
	}
	for _, p := range at {
		v[p] = on
	}
	return v
}

// The onnx-op kernels compute what ONNX defines, on values worked by hand,
// for inputs of fixed shapes (the batch an ordinary axis) and other element
// types; the imported models reload from their spec.
func TestOpKernels(t *testing.T) {
	for _, c := range kernelCases() {
		t.Run(c.name, func(t *testing.T) {
			m, err := onnximport.Decode(marshal(t, fixedModel(c)))
			if err != nil {
				t.Fatal(err)
			}
			var xs []*tensor.Dense
			for _, x := range c.in {
				xs = append(xs, x.dense())
			}
			outs, err := graph.NewPredictor(m).Predict(xs...)
			if err != nil {
				t.Fatal(err)
			}
			want := c.want.dense()
			if !slices.Equal([]int(outs[0].Shape()), []int(want.Shape())) || outs[0].Dtype() != want.Dtype() {
				t.Fatalf("output %v %v, want %v %v", outs[0].Dtype(), outs[0].Shape(), want.Dtype(), want.Shape())
			}
			switch w := want.Data().(type) {
			case []float32:
				if d := maxAbsDiff(outs[0].Data().([]float32), w); d > 1e-6 {
					t.Errorf("y = %v, want %v", outs[0].Data(), w)
				}
			default:
				if !slices.Equal(toAny(outs[0].Data()), toAny(w)) {
					t.Errorf("y = %v, want %v", outs[0].Data(), w)
				}
			}
			spec, err := m.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := graph.FromSpec(spec, nil); err != nil {
				t.Errorf("spec does not reload: %v", err)
			}
		})
	}
}

func toAny(v any) []any {
	var out []any
	switch d := v.(type) {
	case []int64:
		for _, x := range d {
			out = append(out, x)
		}
	case []bool:
		for _, x := range d {
			out = append(out, x)
		}
	}
	return out
}

// An operand read at run time that gives another shape than the model
// declares is an error naming both, and a model not declaring its output
// is refused naming the output.
func TestRuntimeOperandShape(t *testing.T) {
	c := kernelCase{name: "Reshape", opset: 13, in: []typed{f32([]int{2, 3}, 1, 2, 3, 4, 5, 6), i64([]int{2}, 3, -1)},
		nodes: []*onnx.NodeProto{n1("Reshape", []string{"x0", "x1"})}, want: f32([]int{3, 2}), declare: true}
	m, err := onnximport.Decode(marshal(t, fixedModel(c)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = graph.NewPredictor(m).Predict(c.in[0].dense(), i64([]int{2}, 6, 1).dense())
	if err == nil || !strings.Contains(err.Error(), "[6 1]") || !strings.Contains(err.Error(), "declares float32 [3 2]") {
		t.Errorf("err = %v, want one naming the shape given and the one declared", err)
	}
	c.declare = false
	if _, err := onnximport.Decode(marshal(t, fixedModel(c))); err == nil || !strings.Contains(err.Error(), `fixed shape of output "y"`) {
		t.Errorf("undeclared output: err = %v", err)
	}
}
