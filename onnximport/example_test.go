package onnximport_test

import (
	"fmt"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/onnximport"
	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"
)

// A model as torch.onnx.export writes nn.Linear(3, 2) followed by a
// softmax, with a symbolic batch: Gemm with transB=1 becomes a Dense layer
// (its weight transposed to (in, out)) named after the initializers, and
// Softmax graph's softmax.
func ExampleDecode() {
	mp := &onnx.ModelProto{
		IrVersion:   8,
		OpsetImport: []*onnx.OperatorSetIdProto{{Version: 13}},
		Graph: &onnx.GraphProto{
			Node: []*onnx.NodeProto{
				{Name: "/fc/Gemm", OpType: "Gemm", Input: []string{"input", "fc.weight", "fc.bias"}, Output: []string{"logits"},
					Attribute: []*onnx.AttributeProto{{Name: "transB", Type: onnx.AttributeProto_INT, I: 1}}},
				{Name: "/Softmax", OpType: "Softmax", Input: []string{"logits"}, Output: []string{"output"},
					Attribute: []*onnx.AttributeProto{{Name: "axis", Type: onnx.AttributeProto_INT, I: 1}}},
			},
			Initializer: []*onnx.TensorProto{
				{Name: "fc.weight", Dims: []int64{2, 3}, DataType: int32(onnx.TensorProto_FLOAT), FloatData: []float32{1, 0, 0, 0, 1, 0}},
				{Name: "fc.bias", Dims: []int64{2}, DataType: int32(onnx.TensorProto_FLOAT), FloatData: []float32{0, 1}},
			},
			Input:  []*onnx.ValueInfoProto{valueInfo("input", 3)}, // (N, 3)
			Output: []*onnx.ValueInfoProto{{Name: "output"}},
		},
	}
	data, err := proto.Marshal(mp)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := onnximport.Decode(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, nl := range m.Layers() {
		fmt.Println(nl.Name, nl.Layer.Kind())
	}
	fmt.Println(m.ParamNames(), m.Param("fc.weight").Shape())
	x := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{2, 1, 0, 0, 0, 5}))
	y, err := graph.NewPredictor(m).Forward(x)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.4f\n", y.Data())
	// Output:
	// fc dense
	// softmax1 softmax
	// [fc.weight fc.bias] (3, 2)
	// [0.5000 0.5000 0.2689 0.7311]
}
