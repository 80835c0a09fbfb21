package onnximport_test

import (
	"os"
	"path/filepath"
	"testing"

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
