package onnximport_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/numpyio"
	"github.com/tapenet/tapenet/onnximport"
	"gorgonia.org/tensor"
)

// Default exports of PyTorch models (torch.onnx.export without
// dynamic_axes, so every input has a fixed shape), with the input and
// PyTorch's own output saved beside each (testdata/torch/make_torch.py,
// Debian's python3-torch 1.13): each either runs and equals PyTorch, or is
// refused naming its blocker (what is refused is listed here, so that a
// change shows).
func TestTorchDefaultExports(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refused string // "" when it must run
	}{
		{"mlp", ""},
		{"bncnn", ""},
		{"lngelu", ""},
		{"dwsep", ""},
		{"convt", ""},
		{"embed", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "torch")
			f, err := os.Open(filepath.Join(dir, tc.name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			m, err := onnximport.Read(f)
			if tc.refused != "" {
				if err == nil || !contains(err.Error(), tc.refused) {
					t.Fatalf("err = %v, want a refusal naming %s", err, tc.refused)
				}
				t.Logf("refused: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			xa := readNPY(t, filepath.Join(dir, tc.name+"_x.npy"))
			ya := readNPY(t, filepath.Join(dir, tc.name+"_y.npy"))
			var x *tensor.Dense
			if xa.Ints != nil {
				x = tensor.New(tensor.WithShape(xa.Shape...), tensor.WithBacking(xa.Ints))
			} else {
				x = tensor.New(tensor.WithShape(xa.Shape...), tensor.WithBacking(xa.Data))
			}
			outs, err := graph.NewPredictor(m).Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			got := outs[0].Data().([]float32)
			if d := maxAbsDiff(got, ya.Data); d > 1e-4 {
				t.Errorf("differs from PyTorch by %g", d)
			}
			t.Logf("input batch %d (0: symbolic), equals PyTorch within 1e-4", m.Inputs()[0].Batch)
		})
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func readNPY(t *testing.T, path string) numpyio.Array {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := numpyio.ReadNPY(f)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
