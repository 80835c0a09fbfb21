package onnximport_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/onnximport"
)

// What the importer cannot run exactly is an error naming the operator,
// the node and the opset (a *NodeError wrapping ErrUnsupported), never a
// model that computes something else.
func TestUnsupported(t *testing.T) {
	relu := node("Relu", []string{"x"}, []string{"h"})
	for _, tc := range []struct {
		name  string
		model *onnx.ModelProto
		op    string // the NodeError's operator
		want  string // in the message
	}{
		{"unknown operator", modelProto(13, []int{3}, []*onnx.NodeProto{relu, n1("Einsum", []string{"h"})}), "Einsum", "not supported: operator Einsum"},
		{"other domain", modelProto(13, []int{3}, []*onnx.NodeProto{{Name: "scaler", OpType: "Scaler", Domain: "ai.onnx.ml", Input: []string{"x"}, Output: []string{"y"}}}), "Scaler", `operator domain "ai.onnx.ml"`},
		{"unknown attribute", modelProto(13, []int{1, 4, 4}, []*onnx.NodeProto{n1("MaxPool", []string{"x"}, aInts("kernel_shape", 2, 2), aInt("frobnicate", 1))}), "MaxPool", "attribute frobnicate"},
		{"ceil_mode that matters", modelProto(13, []int{1, 5, 5}, []*onnx.NodeProto{n1("MaxPool", []string{"x"}, aInts("kernel_shape", 2, 2), aInts("strides", 2, 2), aInt("ceil_mode", 1))}), "MaxPool", "ceil_mode=1"},
		{"MaxPool indices", modelProto(13, []int{1, 4, 4}, []*onnx.NodeProto{node("MaxPool", []string{"x"}, []string{"p", "idx"}, aInts("kernel_shape", 2, 2)), n1("Cast", []string{"idx"}, aInt("to", 1))}),
			"MaxPool", "output 1 (idx)"},
		{"Gemm transA", modelProto(13, []int{3}, []*onnx.NodeProto{n1("Gemm", []string{"x", "w"}, aInt("transA", 1))}, floats("w", []int{3, 2}, make([]float32, 6)...)), "Gemm", "transA=1"},
		{"MatMul of two tensors", modelProto(13, []int{3, 3}, []*onnx.NodeProto{relu, n1("MatMul", []string{"x", "h"})}), "MatMul", "MatMul of two computed tensors"},
		{"softmax across the batch", modelProto(13, []int{3}, []*onnx.NodeProto{n1("Softmax", []string{"x"}, aInt("axis", 0))}), "Softmax", "along the batch axis"},
		{"reshape to a fixed batch", modelProto(13, []int{2, 3}, []*onnx.NodeProto{n1("Reshape", []string{"x", "s"})}, int64s("s", []int{2}, 1, -1)), "Reshape", "first dimension is not the batch"},
		{"reshape mixing the batch", modelProto(13, []int{2, 3}, []*onnx.NodeProto{n1("Reshape", []string{"x", "s"})}, int64s("s", []int{2}, -1, 2)), "Reshape", "mixes the batch"},
		{"squeeze without axes", modelProto(13, []int{1, 3}, []*onnx.NodeProto{n1("Squeeze", []string{"x"})}), "Squeeze", "without axes"},
		{"squeeze with an empty axes list", modelProto(11, []int{1, 3}, []*onnx.NodeProto{n1("Squeeze", []string{"x"}, aInts("axes"))}), "Squeeze", "without axes"},
		{"unsqueeze before the batch", modelProto(11, []int{3}, []*onnx.NodeProto{n1("Unsqueeze", []string{"x"}, aInts("axes", 0))}), "Unsqueeze", "axis 0"},
		{"slice with a step", modelProto(13, []int{4}, []*onnx.NodeProto{n1("Slice", []string{"x", "s", "e", "a", "st"})},
			int64s("s", []int{1}, 0), int64s("e", []int{1}, 4), int64s("a", []int{1}, 1), int64s("st", []int{1}, 2)), "Slice", "step 2"},
		{"slice of the batch", modelProto(13, []int{4}, []*onnx.NodeProto{n1("Slice", []string{"x", "s", "e"})},
			int64s("s", []int{1}, 1), int64s("e", []int{1}, 3)), "Slice", "batch axis"},
		{"concat along the batch", modelProto(13, []int{3}, []*onnx.NodeProto{relu, n1("Concat", []string{"x", "h"}, aInt("axis", 0))}), "Concat", "along the batch axis"},
		{"flatten merging the batch", modelProto(13, []int{2, 3}, []*onnx.NodeProto{n1("Flatten", []string{"x"}, aInt("axis", 2))}), "Flatten", "merges the batch"},
		{"batch norm in training mode", modelProto(15, []int{2}, []*onnx.NodeProto{n1("BatchNormalization", []string{"x", "s", "b", "m", "v"}, aInt("training_mode", 1))},
			floats("s", []int{2}, 1, 1), floats("b", []int{2}, 0, 0), floats("m", []int{2}, 0, 0), floats("v", []int{2}, 1, 1)), "BatchNormalization", "training_mode=1"},
		{"gather along the batch", modelProto(13, []int{3}, []*onnx.NodeProto{n1("Gather", []string{"x", "i"})}, int64s("i", []int{1}, 0)), "Gather", "batch axis"},
		{"dropout mask", modelProto(13, []int{3}, []*onnx.NodeProto{node("Dropout", []string{"x"}, []string{"d", "mask"}), n1("Cast", []string{"mask"}, aInt("to", 1))}), "Dropout", "output 1"},
		{"shared initializer, different layers", modelProto(13, []int{3}, []*onnx.NodeProto{node("Gemm", []string{"x", "w"}, []string{"h"}, aInt("transB", 1)), n1("MatMul", []string{"h", "w"})},
			floats("w", []int{3, 3}, make([]float32, 9)...)), "MatMul", `initializer "w" as a parameter of two different layers`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := onnximport.Decode(marshal(t, tc.model))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, onnximport.ErrUnsupported) {
				t.Errorf("error %q does not wrap ErrUnsupported", err)
			}
			var ne *onnximport.NodeError
			if !errors.As(err, &ne) {
				t.Fatalf("error %q is not a *NodeError", err)
			}
			opset := tc.model.OpsetImport[0].Version
			if ne.Op != tc.op || ne.Opset != opset || ne.Name == "" {
				t.Errorf("NodeError{Op: %q, Name: %q, Opset: %d}, want op %s, a name, opset %d", ne.Op, ne.Name, ne.Opset, tc.op, opset)
			}
			msg := err.Error()
			for _, want := range []string{tc.want, ne.Name, tc.op, fmt.Sprintf("opset %d", opset)} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not say %q", msg, want)
				}
			}
			t.Log(msg)
		})
	}
}

// Errors about the model as a whole: opset, inputs, outputs.
func TestModelErrors(t *testing.T) {
	ok := modelProto(13, []int{3}, []*onnx.NodeProto{n1("Relu", []string{"x"})})
	for _, tc := range []struct {
		name        string
		change      func(m *onnx.ModelProto)
		want        string
		unsupported bool
	}{
		{"opset 0", func(m *onnx.ModelProto) { m.OpsetImport[0].Version = 0 }, "not supported: opset 0 (tapenet imports opsets 1 to 21", true},
		{"opset 5 Gemm", func(m *onnx.ModelProto) {
			m.OpsetImport[0].Version = 5
			m.Graph.Node[0] = n1("Gemm", []string{"x", "w"})
			m.Graph.Initializer = []*onnx.TensorProto{floats("w", []int{3, 1}, 1, 2, 3)}
		}, "Gemm in opset 5 (an older form", true},
		{"opset 22", func(m *onnx.ModelProto) { m.OpsetImport[0].Version = 22 }, "not supported: opset 22", true},
		{"no default opset", func(m *onnx.ModelProto) { m.OpsetImport[0].Domain = "ai.onnx.ml" }, "no version of the default operator set", false},
		{"symbolic sample dimension", func(m *onnx.ModelProto) {
			m.Graph.Input[0].Type.GetTensorType().Shape.Dim[1].Value = &onnx.TensorShapeProto_Dimension_DimParam{DimParam: "L"}
		}, "not supported: a symbolic or empty sample dimension", true},
		{"integer input", func(m *onnx.ModelProto) {
			m.Graph.Input[0].Type.GetTensorType().ElemType = int32(onnx.TensorProto_INT64)
		}, "layer relu: input 0 is int64; this layer takes float32", false},
		{"no graph", func(m *onnx.ModelProto) { m.Graph = nil }, "no graph", false},
		{"unsqueeze without axes", func(m *onnx.ModelProto) {
			m.Graph.Node[0] = n1("Unsqueeze", []string{"x"}, aInts("axes"))
			m.OpsetImport[0].Version = 11
		},
			"axes are missing", false},
		{"undefined output", func(m *onnx.ModelProto) { m.Graph.Output[0].Name = "z" }, `output "z" is not computed`, false},
		{"undefined input", func(m *onnx.ModelProto) { m.Graph.Node[0].Input[0] = "q" }, `input "q" is not a graph input`, false},
		{"constant output", func(m *onnx.ModelProto) {
			m.Graph.Node[0] = node("Constant", nil, []string{"y"}, aFloat("value_float", 1))
		}, "constant", true},
		{"external data", func(m *onnx.ModelProto) {
			m.Graph.Initializer = append(m.Graph.Initializer, &onnx.TensorProto{Name: "w", DataType: 1, Dims: []int64{2}, DataLocation: onnx.TensorProto_EXTERNAL})
		}, "not supported: data stored in an external file", true},
		{"raw data too short", func(m *onnx.ModelProto) {
			m.Graph.Initializer = append(m.Graph.Initializer, &onnx.TensorProto{Name: "w", DataType: 1, Dims: []int64{1 << 20}, RawData: []byte{1, 2, 3, 4}})
		}, "4 bytes of raw data for 1048576 FLOAT values", false},
		{"huge initializer", func(m *onnx.ModelProto) {
			m.Graph.Initializer = append(m.Graph.Initializer, &onnx.TensorProto{Name: "w", DataType: 1, Dims: []int64{1 << 20, 1 << 20}})
		}, "more than", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := modelProto(13, []int{3}, []*onnx.NodeProto{n1("Relu", []string{"x"})})
			tc.change(m)
			_, err := onnximport.Decode(marshal(t, m))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want one saying %q", errString(err), tc.want)
			}
			if errors.Is(err, onnximport.ErrUnsupported) != tc.unsupported {
				t.Errorf("errors.Is(%q, ErrUnsupported) = %v", err, !tc.unsupported)
			}
		})
	}
	if _, err := onnximport.Decode(marshal(t, ok)); err != nil {
		t.Fatalf("the unchanged model: %v", err)
	}
	// A batch without a name, or written as -1, is symbolic too.
	for _, d := range []*onnx.TensorShapeProto_Dimension{{}, {Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: -1}}} {
		m := modelProto(13, []int{3}, []*onnx.NodeProto{n1("Relu", []string{"x"})})
		m.Graph.Input[0].Type.GetTensorType().Shape.Dim[0] = d
		if _, err := onnximport.Decode(marshal(t, m)); err != nil {
			t.Errorf("batch dimension %v: %v", d, err)
		}
	}
	if _, err := onnximport.Decode([]byte("not a protobuf \xff\xff")); err == nil || !strings.Contains(err.Error(), "not an ONNX model") {
		t.Errorf("garbage: %v", err)
	}
}

// IsONNX tells ONNX files from tapenet's other formats by their first
// bytes.
func TestIsONNX(t *testing.T) {
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"testdata/mlp_op11.onnx", true},
		{"testdata/resnet_op17.onnx", true},
		{"../models/weights/mlp.safetensors", false},
		{"../models/weights/convnet.safetensors", false},
		{"../numpyio/testdata/book.npz", false},
		{"../numpyio/testdata/small_p4.pkl", false},
		{"../numpyio/testdata/c32.npy", false},
		{"testdata/make_fixtures.py", false},
	} {
		b, err := os.ReadFile(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := onnximport.IsONNX(b[:min(len(b), 16)]); got != tc.want {
			t.Errorf("%s: IsONNX %v", tc.path, got)
		}
	}
	// tapenet's own export opens as ONNX too.
	var out bytes.Buffer
	m, _ := readModel(t, "testdata/mlp_op11.onnx")
	if err := export.WriteONNX(&out, m); err != nil {
		t.Fatal(err)
	}
	if !onnximport.IsONNX(out.Bytes()[:16]) {
		t.Error("tapenet's ONNX export is not told as ONNX")
	}
}

// Registry holds graph's kinds and every kind of this package, each
// decodable from its JSON configuration.
func TestRegistry(t *testing.T) {
	reg := onnximport.Registry()
	kinds := reg.Kinds()
	for _, k := range onnximport.Kinds() {
		if !strings.HasPrefix(k, "onnx-") {
			t.Errorf("kind %q lacks the onnx- prefix", k)
		}
		if _, err := reg.Decode(k, nil); err != nil {
			t.Errorf("kind %s: %v", k, err)
		}
	}
	if len(kinds) != len(graph.Builtin().Kinds())+len(onnximport.Kinds()) {
		t.Errorf("registry kinds %v", kinds)
	}
	if err := onnximport.Register(onnximport.Registry()); err == nil {
		t.Error("registering the kinds twice is no error")
	}
}
