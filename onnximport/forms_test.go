package onnximport_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/onnximport"
	"gorgonia.org/tensor"
)

// A model exported with a fixed batch (torch.onnx.export without
// dynamic_axes) runs at that batch and at others: nothing the importer
// builds works along the batch axis.
func TestFixedBatch(t *testing.T) {
	nodes, _ := shapeChain(13) // x.view(x.size(0), -1)
	nodes[len(nodes)-1].Output[0] = "flat"
	nodes = append(nodes, n1("Gemm", []string{"flat", "w", "b"}, aInt("transB", 1)))
	mp := modelProto(13, []int{2, 2}, nodes, floats("w", []int{1, 4}, 1, 2, 3, 4), floats("b", []int{1}, 0.5))
	mp.Graph.Input[0].Type.GetTensorType().Shape.Dim[0].Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: 1}
	m, err := onnximport.Decode(marshal(t, mp))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		batch int
		x     []float32
		want  []float32
	}{
		{1, []float32{1, 1, 1, 1}, []float32{10.5}},
		{3, []float32{1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, -1}, []float32{10.5, 0.5, -2.5}},
	} {
		if y := forward(t, m, []int{tc.batch, 2, 2}, tc.x); !slices.Equal(y, tc.want) {
			t.Errorf("batch %d: %v, want %v", tc.batch, y, tc.want)
		}
	}
	// A graph that ties the batch into its arithmetic (a Reshape to a
	// literal first dimension) imports with its batch fixed: it runs at
	// that batch only.
	mp = modelProto(13, []int{2, 2}, []*onnx.NodeProto{n1("Reshape", []string{"x", "s"})}, int64s("s", []int{2}, 1, 4))
	mp.Graph.Input[0].Type.GetTensorType().Shape.Dim[0].Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: 1}
	m, err = onnximport.Decode(marshal(t, mp))
	if err != nil {
		t.Fatal(err)
	}
	if b := m.Inputs()[0].Batch; b != 1 {
		t.Errorf("input batch %d, want 1 (fixed)", b)
	}
	if y := forward(t, m, []int{1, 2, 2}, []float32{1, 2, 3, 4}); !slices.Equal(y, []float32{1, 2, 3, 4}) {
		t.Errorf("y = %v", y)
	}
	if _, err := graph.NewPredictor(m).Forward(tensor.New(tensor.WithShape(3, 2, 2), tensor.WithBacking(make([]float32, 12)))); err == nil {
		t.Error("a batch of 3 ran through a model tied to batch 1")
	}
}

// Each operator's older forms import as ONNX defines them in that opset.
func TestOpsetForms(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6}
	for _, tc := range []struct {
		name  string
		opset int64
		in    []int
		nodes []*onnx.NodeProto
		inits []*onnx.TensorProto
		want  []float32 // for x, two samples
		err   string    // or the error
	}{
		{"Pad-2 attributes", 7, []int{3}, []*onnx.NodeProto{n1("Pad", []string{"x"}, aInts("pads", 0, 1, 0, 2), aFloat("value", -1))}, nil,
			[]float32{-1, 1, 2, 3, -1, -1, -1, 4, 5, 6, -1, -1}, ""},
		{"Pad-11 inputs", 11, []int{3}, []*onnx.NodeProto{n1("Pad", []string{"x", "p"})}, []*onnx.TensorProto{int64s("p", []int{4}, 0, 1, 0, 0)},
			[]float32{0, 1, 2, 3, 0, 4, 5, 6}, ""},
		{"Slice-1 attributes", 9, []int{3}, []*onnx.NodeProto{n1("Slice", []string{"x"}, aInts("starts", 1), aInts("ends", 3), aInts("axes", 1))}, nil,
			[]float32{2, 3, 5, 6}, ""},
		{"Slice-10 inputs", 10, []int{3}, []*onnx.NodeProto{n1("Slice", []string{"x", "s", "e", "a"})},
			[]*onnx.TensorProto{int64s("s", []int{1}, 0), int64s("e", []int{1}, 2), int64s("a", []int{1}, 1)}, []float32{1, 2, 4, 5}, ""},
		{"BatchNormalization-7 spatial=1", 7, []int{3}, []*onnx.NodeProto{n1("BatchNormalization", []string{"x", "s", "b", "m", "v"}, aInt("spatial", 1), aFloat("epsilon", 0.5))},
			[]*onnx.TensorProto{floats("s", []int{3}, 1, 1, 1), floats("b", []int{3}, 0, 0, 0), floats("m", []int{3}, 1, 1, 1), floats("v", []int{3}, 0.5, 0.5, 0.5)},
			[]float32{0, 1, 2, 3, 4, 5}, ""}, // (x-1)/sqrt(0.5+0.5)
		{"BatchNormalization-7 spatial=0", 7, []int{3}, []*onnx.NodeProto{n1("BatchNormalization", []string{"x", "s", "b", "m", "v"}, aInt("spatial", 0))},
			[]*onnx.TensorProto{floats("s", []int{3}, 1, 1, 1), floats("b", []int{3}, 0, 0, 0), floats("m", []int{3}, 1, 1, 1), floats("v", []int{3}, 1, 1, 1)},
			nil, "spatial=0"},
		{"ConstantOfShape before opset 9", 8, []int{3}, []*onnx.NodeProto{node("ConstantOfShape", []string{"s"}, []string{"c"}), n1("Add", []string{"x", "c"})},
			[]*onnx.TensorProto{int64s("s", []int{1}, 3)}, nil, "exists from opset 9"},
		{"Pad-18 axes input", 18, []int{3}, []*onnx.NodeProto{n1("Pad", []string{"x", "p", "", "a"})},
			[]*onnx.TensorProto{int64s("p", []int{2}, 1, 0), int64s("a", []int{1}, 1)}, []float32{0, 1, 2, 3, 0, 4, 5, 6}, ""},
		{"Pad axes input before opset 18", 13, []int{3}, []*onnx.NodeProto{n1("Pad", []string{"x", "p", "", "a"})},
			[]*onnx.TensorProto{int64s("p", []int{2}, 1, 0), int64s("a", []int{1}, 1)}, nil, "opset 18"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := onnximport.Decode(marshal(t, modelProto(tc.opset, tc.in, tc.nodes, tc.inits...)))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if y := forward(t, m, []int{2, 3}, x); !slices.Equal(y, tc.want) {
				t.Errorf("y = %v, want %v", y, tc.want)
			}
		})
	}
}
