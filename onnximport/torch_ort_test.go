package onnximport_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/onnximport"
	"gorgonia.org/tensor"
)

// TestTorchExportsVsORT runs default PyTorch exports (testdata/torch,
// made by make_torch.py and make_resize.py) in tapenet and in ONNX
// Runtime on the input saved beside each, and compares both with PyTorch's
// own output.
func TestTorchExportsVsORT(t *testing.T) {
	names := []string{"mlp", "bncnn", "lngelu", "dwsep", "convt", "upbil", "upbilac", "upbilsize"}
	dir := filepath.Join("testdata", "torch")
	var jobs []ortJob
	var gots, wants [][]float32
	for _, name := range names {
		raw, err := os.ReadFile(filepath.Join(dir, name+".onnx"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := onnximport.Decode(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		xa := readNPY(t, filepath.Join(dir, name+"_x.npy"))
		ya := readNPY(t, filepath.Join(dir, name+"_y.npy"))
		outs, err := graph.NewPredictor(m).Predict(tensor.New(tensor.WithShape(xa.Shape...), tensor.WithBacking(xa.Data)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := outs[0].Data().([]float32)
		if d := maxAbsDiff(got, ya.Data); d > 1e-4 {
			t.Errorf("%s: differs from PyTorch by %g", name, d)
		}
		gots, wants = append(gots, got), append(wants, ya.Data)
		jobs = append(jobs, ortJob{Model: raw, Batch: xa.Shape[0], Inputs: []ortInput{{Name: m.Inputs()[0].Name, Data: xa.Data, Dims: xa.Shape}}})
	}
	res, version := runORT(t, jobs)
	for k, r := range res {
		if r.Err != "" || len(r.Outputs) == 0 {
			t.Errorf("%s: ONNX Runtime: %q", names[k], r.Err)
			continue
		}
		d := maxAbsDiff(gots[k], r.Outputs[0].Data)
		if d > 1e-5 {
			t.Errorf("%s: differs from ONNX Runtime %s by %g", names[k], version, d)
		}
		t.Logf("%s: max |tapenet - ORT %s| = %.3g, max |tapenet - PyTorch| = %.3g", names[k], version, d, maxAbsDiff(gots[k], wants[k]))
	}
}

// Forms the importer once refused, which now become onnx-op layers with
// a symbolic batch (grouped and 3-D convolution, asymmetric padding, Pad
// in reflect mode) run at batch 3 as ONNX Runtime runs them, and a Cast
// of a computed tensor to int64 truncates as ONNX says.
func TestOnceRefusedFormsVsORT(t *testing.T) {
	w := func(name string, shape ...int) *onnx.TensorProto {
		v := make([]float32, shapeSize(shape))
		for k := range v {
			v[k] = float32((k*7)%11)/5 - 1
		}
		return floats(name, shape, v...)
	}
	cases := []struct {
		name   string
		sample []int
		model  *onnx.ModelProto
	}{
		{"grouped convolution", []int{2, 4, 4}, modelProto(13, []int{2, 4, 4}, []*onnx.NodeProto{n1("Conv", []string{"x", "w"}, aInt("group", 2))}, w("w", 2, 1, 3, 3))},
		{"3-D convolution", []int{1, 4, 4, 4}, modelProto(13, []int{1, 4, 4, 4}, []*onnx.NodeProto{n1("Conv", []string{"x", "w", "b"})}, w("w", 2, 1, 3, 3, 3), w("b", 2))},
		{"asymmetric padding", []int{1, 4, 4}, modelProto(13, []int{1, 4, 4}, []*onnx.NodeProto{n1("Conv", []string{"x", "w"}, aInts("pads", 1, 1, 0, 0))}, w("w", 1, 1, 3, 3))},
		{"pad in reflect mode", []int{1, 3, 3}, modelProto(13, []int{1, 3, 3}, []*onnx.NodeProto{n1("Pad", []string{"x", "p"}, aString("mode", "reflect"))}, int64s("p", []int{8}, 0, 0, 1, 2, 0, 0, 2, 1))},
	}
	var jobs []ortJob
	var gots [][]float32
	for _, c := range cases {
		m, err := onnximport.Decode(marshal(t, c.model))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if m.Inputs()[0].Batch != 0 {
			t.Errorf("%s: a fixed batch", c.name)
		}
		dims := append([]int{3}, c.sample...)
		x := make([]float32, shapeSize(dims))
		for k := range x {
			x[k] = float32((k*5)%13)/4 - 1.5
		}
		gots = append(gots, forward(t, m, dims, x))
		jobs = append(jobs, ortJob{Model: marshal(t, c.model), Batch: 3, Inputs: []ortInput{{Name: "x", Data: x, Dims: dims}}})
	}
	m, err := onnximport.Decode(marshal(t, modelProto(13, []int{3}, []*onnx.NodeProto{n1("Cast", []string{"x"}, aInt("to", int64(onnx.TensorProto_INT64)))})))
	if err != nil {
		t.Fatal(err)
	}
	outs, err := graph.NewPredictor(m).Predict(tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1.7, -1.7, 0.2, 3, -0.5, 2.9})))
	if err != nil {
		t.Fatal(err)
	}
	if got := outs[0].Data(); !slices.Equal(got.([]int64), []int64{1, -1, 0, 3, 0, 2}) {
		t.Errorf("Cast to int64: %v", got)
	}
	res, version := runORT(t, jobs)
	for k, r := range res {
		if r.Err != "" || len(r.Outputs) == 0 {
			t.Errorf("%s: ORT: %q", cases[k].name, r.Err)
			continue
		}
		d := maxAbsDiff(gots[k], r.Outputs[0].Data)
		if d > 1e-5 {
			t.Errorf("%s: differs from ONNX Runtime %s by %g", cases[k].name, version, d)
		}
		t.Logf("%s: max |tapenet - ORT %s| = %.3g", cases[k].name, version, d)
	}
}
