package onnximport

import (
	"fmt"
	"maps"
	"slices"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
)

// The ONNX forms of this package's layers (export.ONNXLayer), so that an
// imported model, fine-tuned or not, exports again with export.WriteONNX.
// export writes opset 13: these are opset-13 nodes.

func int64s(v ...int) []int64 {
	out := make([]int64, len(v))
	for k, x := range v {
		out[k] = int64(x)
	}
	return out
}

// ONNXNode emits MatMul.
func (l *MatMul) ONNXNode(b *export.ONNXBuilder, x string) (string, error) {
	w, err := b.Param("weight")
	if err != nil {
		return "", err
	}
	return b.Node("MatMul", []string{x, w}), nil
}

// ONNXNode emits Gemm.
func (l *Gemm) ONNXNode(b *export.ONNXBuilder, x string) (string, error) {
	w, err := b.Param("weight")
	if err != nil {
		return "", err
	}
	in := []string{x, w}
	if l.Bias != nil {
		bias, err := b.Param("bias")
		if err != nil {
			return "", err
		}
		in = append(in, bias)
	}
	transB := int64(0)
	if l.TransB {
		transB = 1
	}
	return b.Node("Gemm", in, export.AttrFloat("alpha", l.Alpha), export.AttrFloat("beta", l.Beta), export.AttrInt("transB", transB)), nil
}

var binaryOps = map[string]string{"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div"}

// ONNXNode emits Add, Sub, Mul or Div.
func (l *Binary) ONNXNode(b *export.ONNXBuilder, x string) (string, error) {
	if err := l.check(); err != nil {
		return "", err
	}
	op := binaryOps[l.Op]
	if l.Param == nil {
		ins := b.Inputs()
		if len(ins) != 2 {
			return "", fmt.Errorf("onnx-binary: %d inputs", len(ins))
		}
		return b.Node(op, ins), nil
	}
	p, err := b.Param(l.paramName())
	if err != nil {
		return "", err
	}
	if l.Left {
		return b.Node(op, []string{p, x}), nil
	}
	return b.Node(op, []string{x, p}), nil
}

// ONNXNode emits Transpose, the batch axis first.
func (l *Transpose) ONNXNode(b *export.ONNXBuilder, x string) (string, error) {
	perm := []int64{0}
	for _, p := range l.Perm {
		perm = append(perm, int64(p+1))
	}
	return b.Node("Transpose", []string{x}, export.AttrInts("perm", perm...)), nil
}

// ONNXNode emits LeakyRelu.
func (l *LeakyReLU) ONNXNode(b *export.ONNXBuilder, x string) (string, error) {
	return b.Node("LeakyRelu", []string{x}, export.AttrFloat("alpha", l.Alpha)), nil
}

// ONNXNode emits Softmax or LogSoftmax along one axis (opset 13's
// meaning).
func (l *Softmax) ONNXNode(b *export.ONNXBuilder, x string) (string, error) {
	op := "Softmax"
	if l.Log {
		op = "LogSoftmax"
	}
	return b.Node(op, []string{x}, export.AttrInt("axis", int64(l.Axis+1))), nil
}

// ONNXNode emits Conv.
func (l *Conv) ONNXNode(b *export.ONNXBuilder, x string) (string, error) {
	w, err := b.Param("weight")
	if err != nil {
		return "", err
	}
	in := []string{x, w}
	if l.Bias {
		bias, err := b.Param("bias")
		if err != nil {
			return "", err
		}
		in = append(in, bias)
	}
	return b.Node("Conv", in,
		export.AttrInts("kernel_shape", int64s(l.Kernel[:]...)...), export.AttrInts("strides", int64s(l.Stride[:]...)...),
		export.AttrInts("pads", int64s(l.Pad[0], l.Pad[1], l.Pad[0], l.Pad[1])...),
		export.AttrInts("dilations", int64s(l.Dilation[:]...)...), export.AttrInt("group", 1)), nil
}

func (w *window) attrs() []*onnx.AttributeProto {
	return []*onnx.AttributeProto{
		export.AttrInts("kernel_shape", int64s(w.Kernel[:]...)...), export.AttrInts("strides", int64s(w.Stride[:]...)...),
		export.AttrInts("pads", int64s(w.Pad[0], w.Pad[1], w.Pad[0], w.Pad[1])...),
	}
}

// ONNXNode emits MaxPool.
func (l *MaxPool) ONNXNode(b *export.ONNXBuilder, x string) (string, error) {
	return b.Node("MaxPool", []string{x}, l.attrs()...), nil
}

// ONNXNode emits AveragePool.
func (l *AvgPool) ONNXNode(b *export.ONNXBuilder, x string) (string, error) {
	cip := int64(1)
	if l.ExcludePad {
		cip = 0
	}
	return b.Node("AveragePool", []string{x}, append(l.attrs(), export.AttrInt("count_include_pad", cip))...), nil
}

// ONNXNode emits Gather with constant indices.
func (l *Gather) ONNXNode(b *export.ONNXBuilder, x string) (string, error) {
	shape := []int{len(l.Indices)}
	if l.Scalar {
		shape = nil
	}
	idx, err := b.ConstantInt64("indices", shape, int64s(l.Indices...))
	if err != nil {
		return "", err
	}
	return b.Node("Gather", []string{x, idx}, export.AttrInt("axis", int64(l.Axis+1))), nil
}

// ONNXNode emits Slice over the per-sample axes.
func (l *Slice) ONNXNode(b *export.ONNXBuilder, x string) (string, error) {
	n := len(l.Begin)
	starts, ends, axes := make([]int64, n), make([]int64, n), make([]int64, n)
	for k := range n {
		starts[k], ends[k], axes[k] = int64(l.Begin[k]), int64(l.Begin[k]+l.Size[k]), int64(k+1)
	}
	var in []string
	for _, c := range []struct {
		name string
		v    []int64
	}{{"starts", starts}, {"ends", ends}, {"axes", axes}} {
		t, err := b.ConstantInt64(c.name, []int{n}, c.v)
		if err != nil {
			return "", err
		}
		in = append(in, t)
	}
	return b.Node("Slice", append([]string{x}, in...)), nil
}

// ONNXNode emits ConstantOfShape of (batch size of x, Shape...).
func (l *Fill) ONNXNode(b *export.ONNXBuilder, x string) (string, error) {
	shape := b.Node("Shape", []string{x})
	zero, err := b.ConstantInt64("start", []int{1}, []int64{0})
	if err != nil {
		return "", err
	}
	one, err := b.ConstantInt64("end", []int{1}, []int64{1})
	if err != nil {
		return "", err
	}
	batch := b.Node("Slice", []string{shape, zero, one})
	rest, err := b.ConstantInt64("sample_shape", []int{len(l.Shape)}, int64s(l.Shape...))
	if err != nil {
		return "", err
	}
	full := b.Node("Concat", []string{batch, rest}, export.AttrInt("axis", 0))
	value := &onnx.TensorProto{Dims: []int64{1}, DataType: int32(onnx.TensorProto_FLOAT), FloatData: []float32{l.Value}}
	return b.Node("ConstantOfShape", []string{full}, &onnx.AttributeProto{Name: "value", Type: onnx.AttributeProto_TENSOR, T: value}), nil
}

// ONNXNode emits Pad in constant mode.
func (l *Pad) ONNXNode(b *export.ONNXBuilder, x string) (string, error) {
	pads := append(append([]int64{0}, int64s(l.Before...)...), append([]int64{0}, int64s(l.After...)...)...)
	p, err := b.ConstantInt64("pads", []int{len(pads)}, pads)
	if err != nil {
		return "", err
	}
	v, err := b.Constant("value", nil, []float32{l.Value})
	if err != nil {
		return "", err
	}
	return b.Node("Pad", []string{x, p, v}, &onnx.AttributeProto{Name: "mode", Type: onnx.AttributeProto_STRING, S: []byte("constant")}), nil
}

// ONNXNode emits the operator with its attributes, its constant operands
// as initializers (float32 and int64 ones; others are an error).
func (l *Op) ONNXNode(b *export.ONNXBuilder, x string) (string, error) {
	if l.Op == constKernel {
		return "", fmt.Errorf("onnx-op: a constant output does not export")
	}
	// export writes opset 13: the node must mean there what it meant in
	// the model's opset.
	const to = 13
	switch {
	case since[l.Op] > to:
		return "", fmt.Errorf("onnx-op %s: the operator is newer than opset %d, which export writes", l.Op, to)
	case (l.Op == "Softmax" || l.Op == "LogSoftmax" || l.Op == "Hardmax") && l.Opset < 13:
		return "", fmt.Errorf("onnx-op %s of opset %d (its 2-D form) does not export to opset %d", l.Op, l.Opset, to)
	}
	for name, last := range attrsUntil[l.Op] {
		if _, ok := l.Ints[name]; ok && to > last {
			return "", fmt.Errorf("onnx-op %s: attribute %s does not export to opset %d", l.Op, name, to)
		}
		if _, ok := l.Floats[name]; ok && to > last {
			return "", fmt.Errorf("onnx-op %s: attribute %s does not export to opset %d", l.Op, name, to)
		}
	}
	for k, first := range inputsFrom[l.Op] {
		if k < len(l.Inputs) && l.Inputs[k] != "absent" && to < first {
			return "", fmt.Errorf("onnx-op %s: input %d does not export to opset %d", l.Op, k, to)
		}
	}
	tensors := b.Inputs()
	var ins []string
	t, c, p := 0, 0, 0
	for _, in := range l.Inputs {
		switch in {
		case "param":
			if p >= len(l.Learned) {
				return "", fmt.Errorf("onnx-op %s: %d parameters", l.Op, len(l.Learned))
			}
			name, err := b.Param(l.Learned[p].Name)
			if err != nil {
				return "", err
			}
			ins = append(ins, name)
			p++
		case "":
			if t >= len(tensors) {
				return "", fmt.Errorf("onnx-op %s: %d inputs", l.Op, len(tensors))
			}
			ins = append(ins, tensors[t])
			t++
		case "const":
			k := l.Consts[c]
			c++
			var name string
			var err error
			switch k.DType.Or() {
			case graph.Float32:
				v := make([]float32, len(k.F))
				for j, f := range k.F {
					v[j] = float32(f)
				}
				name, err = b.Constant(fmt.Sprintf("c%d", c), k.Shape, v)
			case graph.Int64:
				name, err = b.ConstantInt64(fmt.Sprintf("c%d", c), k.Shape, k.I)
			default:
				err = fmt.Errorf("onnx-op %s: a %s constant does not export", l.Op, k.DType)
			}
			if err != nil {
				return "", err
			}
			ins = append(ins, name)
		default:
			ins = append(ins, "")
		}
	}
	var attrs []*onnx.AttributeProto
	for _, name := range slices.Sorted(maps.Keys(l.Ints)) {
		v := l.Ints[name]
		if len(v) == 1 && !slices.Contains([]string{"axes", "perm"}, name) {
			attrs = append(attrs, export.AttrInt(name, v[0]))
		} else {
			attrs = append(attrs, export.AttrInts(name, v...))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(l.Floats)) {
		v := l.Floats[name]
		if len(v) != 1 {
			return "", fmt.Errorf("onnx-op %s: attribute %s of %d floats does not export", l.Op, name, len(v))
		}
		attrs = append(attrs, export.AttrFloat(name, float32(v[0])))
	}
	for _, name := range slices.Sorted(maps.Keys(l.Strings)) {
		attrs = append(attrs, &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_STRING, S: []byte(l.Strings[name])})
	}
	return b.Node(l.Op, ins, attrs...), nil
}
