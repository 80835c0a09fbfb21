package onnximport_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
	"github.com/tapenet/tapenet/onnximport"
)

// torchRNNCase is one of testdata/torch/make_torch_rnn.py's exports.
type torchRNNCase struct {
	name   string   // file stem
	inputs []string // input names, x first
	outs   int      // outputs
	dyn    bool     // also exported with dynamic_axes (name_dyn.onnx)
	kinds  []string // layer kinds the import must hold
	// dynRefused is what the dynamic_axes export's refusal names ("": it runs).
	dynRefused string
}

var torchRNNCases = []torchRNNCase{
	{"lstm", []string{"x"}, 1, true, []string{"lstm"}, ""},
	{"bigru", []string{"x"}, 1, true, []string{"gru"}, ""},
	// nn.MultiheadAttention reshapes (seq, batch, E) to (seq, batch·heads,
	// E/heads): the batch merges with another axis, which a symbolic
	// batch cannot express; the default export runs.
	{"encoder", []string{"x"}, 1, true, nil, "MatMul of a tensor whose batch is at axis 1"},
	{"lstmstate", []string{"x", "s1", "s2"}, 3, false, []string{"onnx-lstm-state"}, ""},
	{"birnn", []string{"x", "s1"}, 2, false, []string{"simplernn"}, ""},
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
		batch int // the imported model's input batch (0: symbolic)
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
			if want := tc.dynRefused; want != "" && file == tc.name+"_dyn.onnx" {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%s: error %v, want a refusal naming %q", file, err, want)
				}
				t.Logf("%s refused: %v", file, err)
				continue
			}
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
			ortModel := model
			if tc.dyn && m.Inputs()[0].Batch == 0 {
				// The symbolic batch: at another batch size too, with
				// ORT running the dynamic_axes export (the same weights).
				// Another batch size: 3 samples of fresh values.
				rng := rand.New(rand.NewPCG(7, 8))
				shape := append([]int{3}, xs[0].Shape()[1:]...)
				v := make([]float32, rnnSize(shape))
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
				r := run{tc: tc, file: file, xs: in, batch: m.Inputs()[0].Batch}
				if b == 0 {
					r.torch = ys
				}
				for _, o := range outs {
					r.got = append(r.got, o.Data().([]float32))
				}
				runs = append(runs, r)
				if b > 0 && file == tc.name+".onnx" {
					if ortModel, err = os.ReadFile(filepath.Join("testdata", "torch", tc.name+"_dyn.onnx")); err != nil {
						t.Fatal(err)
					}
				}
				jobs = append(jobs, ortJob{Model: ortModel, Batch: 0, Inputs: ortInputs(tc.inputs, in)})
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
			t.Logf("%s (imported batch %d, 0: symbolic) at batch %d, output %d: max |diff| vs ORT %s %.3g, vs PyTorch %.3g", r.file, r.batch, r.xs[0].Shape()[0], o, version, dOrt, dTorch)
		}
	}
}

// rnnSize returns the number of values of a shape.
func rnnSize(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// The imported recurrent models fine-tune: ten Adam steps on one batch
// (mean squared error against fixed targets, the output being logits)
// lower the loss and move the recurrent layers' weights; the result
// exports to ONNX again, which ONNX Runtime runs to tapenet's outputs.
func TestTorchRecurrentFineTune(t *testing.T) {
	var jobs []ortJob
	var want [][]float32
	var names []string
	for _, file := range []string{"lstm.onnx", "lstm_dyn.onnx", "bigru.onnx", "bigru_dyn.onnx"} {
		model, err := os.ReadFile(filepath.Join("testdata", "torch", file))
		if err != nil {
			t.Fatal(err)
		}
		m, err := onnximport.Decode(model)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		batch := 2 // the default exports' batch
		x := make([]float32, batch*5*4)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		y := make([]float32, batch*3)
		for i := range y {
			y[i] = float32(rng.NormFloat64())
		}
		xt := tensor.New(tensor.WithShape(batch, 5, 4), tensor.WithBacking(x))
		yt := tensor.New(tensor.WithShape(batch, 3), tensor.WithBacking(y))
		var rnnParams []string
		for _, l := range m.Layers() {
			if k := l.Layer.Kind(); k == "lstm" || k == "gru" {
				rnnParams = append(rnnParams, l.Name+".weight_hh")
			}
		}
		if len(rnnParams) == 0 {
			t.Fatalf("%s: no recurrent layer in %v", file, m.ParamNames())
		}
		before := slices.Clone(m.Param(rnnParams[0]).Data().([]float32))
		tr, err := train.NewTrainer(m, train.Config{Optimizer: &train.Adam{}, LearningRate: 0.01, Seed: 1})
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var losses []float32
		for range 10 {
			l, err := tr.Step(xt, yt)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			losses = append(losses, l)
		}
		if !(losses[9] < losses[0]) {
			t.Errorf("%s: loss %v does not go down", file, losses)
		}
		if maxAbsDiff(before, m.Param(rnnParams[0]).Data().([]float32)) == 0 {
			t.Errorf("%s: %s unchanged by training", file, rnnParams[0])
		}
		t.Logf("%s: loss %.4f -> %.4f over 10 steps (%s %s)", file, losses[0], losses[9], tr.Loss(), rnnParams)
		out, err := graph.NewPredictor(m).Predict(xt)
		if err != nil {
			t.Fatal(err)
		}
		mp, err := export.ONNXModel(m)
		if err != nil {
			t.Errorf("%s: the fine-tuned model does not export: %v", file, err)
			continue
		}
		b, err := proto.Marshal(mp)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, ortJob{Model: b, Batch: 0, Inputs: []ortInput{{Name: mp.Graph.Input[0].Name, Data: x, Dims: []int{batch, 5, 4}}}})
		want = append(want, out[0].Data().([]float32))
		names = append(names, file)
	}
	res, version := runORT(t, jobs)
	for k, r := range res {
		if r.Err != "" {
			t.Errorf("%s: ORT on the export: %s", names[k], r.Err)
			continue
		}
		d := maxAbsDiff(r.Outputs[0].Data, want[k])
		if d > 1e-5 {
			t.Errorf("%s: ORT %s on the fine-tuned export differs from tapenet by %.3g", names[k], version, d)
		}
		t.Logf("%s: fine-tuned export, ORT %s vs tapenet max |diff| %.3g", names[k], version, d)
	}
}
