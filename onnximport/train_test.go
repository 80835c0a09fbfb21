package onnximport_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"github.com/tapenet/tapenet/graph/train"
	"github.com/tapenet/tapenet/onnximport"
)

// An imported model fine-tunes like any tapenet model: one epoch over
// part of MNIST's training set (cross-entropy, as its output is a
// softmax) raises or keeps its accuracy on the 10,000 test images; the
// result saves as a checkpoint that reloads with the package's Registry
// to the same outputs, and exports to ONNX again, which ONNX Runtime runs
// with tapenet's classes.
func TestFineTune(t *testing.T) {
	for _, tc := range []struct {
		file   string
		flat   bool
		images int // training images for the epoch
	}{
		{"mlp_op11.onnx", true, 10000},
		{"viewnet_op13.onnx", false, 10000}, // onnx-leakyrelu: a kind of this package
	} {
		t.Run(tc.file, func(t *testing.T) {
			if testing.Short() && !tc.flat {
				t.Skip("-short: the MLP only")
			}
			m, _ := readModel(t, filepath.Join("testdata", tc.file))
			opt := datasets.Options{Normalize: true, Flatten: tc.flat, OneHot: true}
			trainSet, err := datasets.MNIST(datasets.Train, opt)
			if err != nil {
				t.Fatal(err)
			}
			trainSet = trainSet.Head(tc.images)
			test := testSet(t, tc.flat)
			pr := graph.NewPredictor(m)
			classes := func() []int {
				preds, err := pr.Classify(test.X, 100)
				if err != nil {
					t.Fatal(err)
				}
				return preds
			}
			before := accuracy(classes(), test.Labels)
			tr, err := train.NewTrainer(m, train.Config{Optimizer: &train.Adam{}, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if tr.Loss() != train.CrossEntropy {
				t.Errorf("loss %s, want cross-entropy (the output is a softmax)", tr.Loss())
			}
			st, err := tr.Epoch(trainSet.X, trainSet.OneHot, 100, nil)
			if err != nil {
				t.Fatal(err)
			}
			preds := classes()
			after := accuracy(preds, test.Labels)
			t.Logf("%s: test accuracy %.4f before, %.4f after one epoch over %d training images (loss %.4f)", tc.file, before, after, tc.images, st.Loss)
			if after < before {
				t.Errorf("fine-tuning lowered the accuracy from %.4f to %.4f", before, after)
			}
			// Checkpoint round trip, with this package's kinds registered.
			var ck bytes.Buffer
			if err := checkpoint.Write(&ck, m); err != nil {
				t.Fatal(err)
			}
			if _, err := checkpoint.Read(bytes.NewReader(ck.Bytes()), graph.Builtin()); tc.file == "viewnet_op13.onnx" && err == nil {
				t.Error("a checkpoint with onnx-leakyrelu layers read with graph's own kinds only")
			}
			// The default registry holds this package's kinds (registry.go).
			if _, err := checkpoint.Read(bytes.NewReader(ck.Bytes()), nil); err != nil {
				t.Errorf("read with the default registry: %v", err)
			}
			back, err := checkpoint.Read(bytes.NewReader(ck.Bytes()), onnximport.Registry())
			if err != nil {
				t.Fatal(err)
			}
			head := test.Head(500)
			if d := maxAbsDiff(outputs(t, back, head, 100), outputs(t, m, head, 100)); d != 0 {
				t.Errorf("reloaded checkpoint's outputs differ by %g", d)
			}
			// ONNX again.
			var out bytes.Buffer
			if err := export.WriteONNX(&out, m); err != nil {
				t.Fatalf("the fine-tuned model does not export: %v", err)
			}
			if _, ok := ortAvailable(); !ok {
				return
			}
			res, version := runORT(t, []ortJob{{Model: out.Bytes(), Batch: 1000, Inputs: []ortInput{{Name: "input", Data: test.Data(), Dims: append([]int{test.Len()}, test.SampleShape()...)}}}})
			if res[0].Err != "" {
				t.Fatalf("ORT: %s", res[0].Err)
			}
			got := res[0].Outputs[0].Data
			if diff := countDiff(argmaxRows(got, 10), preds); diff != 0 {
				t.Errorf("ORT %s classes of the fine-tuned export differ from tapenet's on %d of %d images", version, diff, test.Len())
			}
			if d := maxAbsDiff(got, outputs(t, m, test, 100)); d > 1e-4 {
				t.Errorf("ORT %s probabilities of the fine-tuned export differ from tapenet's by %g", version, d)
			}
		})
	}
}

// A training step on the imported residual network updates its weights
// and its batch normalisation's running statistics (buffers, from the
// ONNX model's running_mean and running_var), and the checkpoint keeps
// them.
func TestTrainStepResNet(t *testing.T) {
	m, _ := readModel(t, filepath.Join("testdata", "resnet_op17.onnx"))
	set, err := datasets.MNIST(datasets.Train, datasets.Options{Normalize: true, OneHot: true})
	if err != nil {
		t.Fatal(err)
	}
	set = set.Head(100)
	names := []string{"net.bn1.running_mean", "net.bn1.running_var", "net.bn1.weight", "net.stem.weight", "net.fc.weight"}
	before := map[string][]float32{}
	for _, n := range names {
		if m.Param(n) == nil {
			t.Fatalf("no parameter %s in %v", n, m.ParamNames())
		}
		before[n] = append([]float32(nil), m.Param(n).Data().([]float32)...)
	}
	if !m.IsBuffer("net.bn1.running_mean") || m.IsBuffer("net.bn1.weight") {
		t.Error("running statistics must be buffers, weights learned")
	}
	tr, err := train.NewTrainer(m, train.Config{Optimizer: &train.Adam{}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	loss, err := tr.Step(set.X, set.OneHot)
	if err != nil || !(loss > 0) {
		t.Fatalf("loss %v, %v", loss, err)
	}
	for _, n := range names {
		if maxAbsDiff(before[n], m.Param(n).Data().([]float32)) == 0 {
			t.Errorf("%s unchanged by a training step", n)
		}
	}
	var ck bytes.Buffer
	if err := checkpoint.Write(&ck, m); err != nil {
		t.Fatal(err)
	}
	back, err := checkpoint.Read(&ck, onnximport.Registry())
	if err != nil {
		t.Fatal(err)
	}
	head := testSet(t, false).Head(200)
	if d := maxAbsDiff(outputs(t, back, head, 100), outputs(t, m, head, 100)); d != 0 {
		t.Errorf("reloaded checkpoint's outputs differ by %g", d)
	}
}
