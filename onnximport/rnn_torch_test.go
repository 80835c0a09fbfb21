package onnximport_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/onnximport"
)

// torchRNNCase is one of testdata/torch/make_torch_rnn.py's exports.
type torchRNNCase struct {
	name   string   // file stem
	inputs []string // input names, x first
	outs   int      // outputs
	dyn    bool     // also exported with dynamic_axes (name_dyn.onnx)
	kinds  []string // layer kinds the import must hold
}

var torchRNNCases = []torchRNNCase{
	{"lstm", []string{"x"}, 1, true, []string{"lstm"}},
	{"bigru", []string{"x"}, 1, true, []string{"gru"}},
	{"encoder", []string{"x"}, 1, true, nil},
	{"lstmstate", []string{"x", "s1", "s2"}, 2, false, []string{"lstm"}},
	{"birnn", []string{"x", "s1"}, 2, false, []string{"simplernn"}},
}

// readTorchRNN reads a fixture's model bytes and its saved inputs and
// PyTorch outputs.
func readTorchRNN(t *testing.T, tc torchRNNCase, file string) (model []byte, xs []*tensor.Dense, ys [][]float32) {
	t.Helper()
	dir := filepath.Join("testdata", "torch")
	model, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range tc.inputs {
		a := readNPY(t, filepath.Join(dir, tc.name+"_"+in+".npy"))
		xs = append(xs, tensor.New(tensor.WithShape(a.Shape...), tensor.WithBacking(a.Data)))
	}
	for k := range tc.outs {
		ys = append(ys, readNPY(t, filepath.Join(dir, tc.name+"_y"+string(rune('0'+k))+".npy")).Data)
	}
	return model, xs, ys
}

// ortInputs returns xs as ONNX Runtime's inputs of the given names.
func ortInputs(names []string, xs []*tensor.Dense) []ortInput {
	var out []ortInput
	for k, x := range xs {
		out = append(out, ortInput{Name: names[k], Data: x.Data().([]float32), Dims: slices.Clone([]int(x.Shape()))})
	}
	return out
}

// PyTorch's recurrent models and a TransformerEncoderLayer, exported as
// torch.onnx.export writes them by default (fixed shapes) and with
// dynamic_axes (a symbolic batch), import and compute what ONNX Runtime
// and PyTorch compute on the same inputs: the default exports at their
// own batch, the dynamic ones at PyTorch's batch and at another (ORT
// computing the reference).
func TestTorchRecurrentExports(t *testing.T) {
	type run struct {
		tc    torchRNNCase
		file  string
		xs    []*tensor.Dense
		torch [][]float32 // nil: ORT only
		got   [][]float32
	}
	var runs []run
	var jobs []ortJob
	for _, tc := range torchRNNCases {
		files := []string{tc.name + ".onnx"}
		if tc.dyn {
			files = append(files, tc.name+"_dyn.onnx")
		}
		for _, file := range files {
			model, xs, ys := readTorchRNN(t, tc, file)
			m, err := onnximport.Decode(model)
			if err != nil {
				t.Errorf("%s: %v", file, err)
				continue
			}
			var kinds []string
			for _, l := range m.Layers() {
				kinds = append(kinds, l.Layer.Kind())
			}
			for _, k := range tc.kinds {
				if !slices.Contains(kinds, k) {
					t.Errorf("%s: imported layers %v lack %s", file, kinds, k)
				}
			}
			batches := [][]*tensor.Dense{xs}
			if file != tc.name+".onnx" {
				// Another batch size: 3 samples of fresh values.
				rng := rand.New(rand.NewPCG(7, 8))
				shape := append([]int{3}, xs[0].Shape()[1:]...)
				v := make([]float32, shapeSize(shape))
				for i := range v {
					v[i] = float32(rng.NormFloat64())
				}
				batches = append(batches, []*tensor.Dense{tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))})
			}
			for b, in := range batches {
				outs, err := graph.NewPredictor(m).Predict(in...)
				if err != nil {
					t.Errorf("%s: batch %d: %v", file, in[0].Shape()[0], err)
					continue
				}
				r := run{tc: tc, file: file, xs: in}
				if b == 0 {
					r.torch = ys
				}
				for _, o := range outs {
					r.got = append(r.got, o.Data().([]float32))
				}
				runs = append(runs, r)
				jobs = append(jobs, ortJob{Model: model, Batch: 0, Inputs: ortInputs(tc.inputs, in)})
			}
		}
	}
	res, version := runORT(t, jobs)
	for k, r := range runs {
		if res[k].Err != "" {
			t.Errorf("%s: ONNX Runtime: %s", r.file, res[k].Err)
			continue
		}
		if len(res[k].Outputs) != len(r.got) {
			t.Errorf("%s: %d outputs, ORT %d", r.file, len(r.got), len(res[k].Outputs))
			continue
		}
		for o, got := range r.got {
			dOrt := maxAbsDiff(got, res[k].Outputs[o].Data)
			dTorch := -1.0
			if r.torch != nil {
				dTorch = maxAbsDiff(got, r.torch[o])
			}
			if dOrt > 1e-5 || dTorch > 1e-5 {
				t.Errorf("%s batch %d output %d: differs from ORT by %.3g, from PyTorch by %.3g", r.file, r.xs[0].Shape()[0], o, dOrt, dTorch)
			}
			t.Logf("%s batch %d output %d: max |diff| vs ORT %s %.3g, vs PyTorch %.3g (-1: not run)", r.file, r.xs[0].Shape()[0], o, version, dOrt, dTorch)
		}
	}
}

func shapeSize(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}
