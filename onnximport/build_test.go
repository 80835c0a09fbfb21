package onnximport_test

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"
)

// Helpers that build small ONNX models in Go with the protobuf types, for
// operator-level tests.

func node(op string, in, out []string, attrs ...*onnx.AttributeProto) *onnx.NodeProto {
	return &onnx.NodeProto{Name: "/" + op + "_" + out[0], OpType: op, Input: in, Output: out, Attribute: attrs}
}

func aInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INT, I: v}
}

func aFloat(name string, v float32) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_FLOAT, F: v}
}

func aInts(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INTS, Ints: v}
}

func aString(name, v string) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_STRING, S: []byte(v)}
}

func aTensor(name string, t *onnx.TensorProto) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_TENSOR, T: t}
}

func dims64(shape []int) []int64 {
	d := make([]int64, len(shape))
	for k, v := range shape {
		d[k] = int64(v)
	}
	return d
}

// floats is a float32 tensor in raw_data, as PyTorch writes them.
func floats(name string, shape []int, v ...float32) *onnx.TensorProto {
	raw := make([]byte, 0, 4*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
	}
	return &onnx.TensorProto{Name: name, Dims: dims64(shape), DataType: int32(onnx.TensorProto_FLOAT), RawData: raw}
}

// int64s is an int64 tensor in int64_data.
func int64s(name string, shape []int, v ...int64) *onnx.TensorProto {
	return &onnx.TensorProto{Name: name, Dims: dims64(shape), DataType: int32(onnx.TensorProto_INT64), Int64Data: v}
}

// valueInfo declares a float tensor of shape (N, sample...), N symbolic.
func valueInfo(name string, sample ...int) *onnx.ValueInfoProto {
	dims := []*onnx.TensorShapeProto_Dimension{{Value: &onnx.TensorShapeProto_Dimension_DimParam{DimParam: "N"}}}
	for _, d := range sample {
		dims = append(dims, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &onnx.ValueInfoProto{Name: name, Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: &onnx.TypeProto_Tensor{
		ElemType: int32(onnx.TensorProto_FLOAT), Shape: &onnx.TensorShapeProto{Dim: dims},
	}}}}
}

// modelProto makes a model of one input "x" of the given sample shape and
// one output "y".
func modelProto(opset int64, sample []int, nodes []*onnx.NodeProto, inits ...*onnx.TensorProto) *onnx.ModelProto {
	return &onnx.ModelProto{
		IrVersion:    8,
		OpsetImport:  []*onnx.OperatorSetIdProto{{Domain: "", Version: opset}},
		ProducerName: "tapenet-test",
		Graph: &onnx.GraphProto{
			Name:        "test",
			Node:        nodes,
			Initializer: inits,
			Input:       []*onnx.ValueInfoProto{valueInfo("x", sample...)},
			Output:      []*onnx.ValueInfoProto{{Name: "y"}},
		},
	}
}

func marshal(t testing.TB, mp *onnx.ModelProto) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
