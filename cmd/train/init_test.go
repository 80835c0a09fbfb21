package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
	"github.com/tapenet/tapenet/models"
)

// accuracyOn returns the accuracy of the model in file on MNIST's 10,000
// test images.
func accuracyOn(t *testing.T, file string) float64 {
	t.Helper()
	m, err := models.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	test, err := datasets.MNIST(datasets.Test, datasets.Options{Normalize: true, Flatten: true})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := train.Accuracy(graph.NewPredictor(m), test.X, test.Labels, 100)
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

// Fine-tuning a PyTorch export that ends in log_softmax, or in the raw
// logits of a Gemm (testdata/make_onnx.py: trained on the first 1,000
// images), trains a classification loss, and one epoch on the first 3,000
// images raises the test accuracy (all 10,000 test images); the same epoch
// with --loss mse, what train did before, lowers it.
func TestInitONNXFineTunes(t *testing.T) {
	for _, name := range []string{"mlp_logsoftmax.onnx", "mlp_logits.onnx"} {
		src := filepath.Join("testdata", name)
		before := accuracyOn(t, src)
		acc := map[string]float64{}
		for _, loss := range []string{"", "mse"} {
			out := filepath.Join(t.TempDir(), "tuned.safetensors")
			args := []string{"--init", src, "--limit", "3000", "--epochs", "1", "--out", out}
			if loss != "" {
				args = append(args, "--loss", loss)
			}
			so, se, code := runTrain(t, args...)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", name, code, se)
			}
			// Plain values on class labels take cross_entropy (as logits); an
			// importer that says the output means log-probabilities gets nll.
			if loss == "" && !strings.Contains(so, "loss cross_entropy (the output means values, the targets are class labels)") &&
				!strings.Contains(so, "loss nll (the output means log_probabilities)") && !strings.Contains(so, "loss cross_entropy (the output means logits)") {
				t.Errorf("%s: the loss is not a classification loss on logits or log-probabilities:\n%s", name, so)
			}
			acc[loss] = accuracyOn(t, out)
		}
		t.Logf("%s: test accuracy %.4f before, %.4f after one epoch (%.4f with mse)", name, before, acc[""], acc["mse"])
		if before < 0.8 || acc[""] <= before || acc["mse"] >= before {
			t.Errorf("%s: test accuracy %.4f before, %.4f after one epoch, %.4f with mse", name, before, acc[""], acc["mse"])
		}
	}
}

// A --loss that does not fit the model's output is one line and exit 2
// before anything is trained or written; a sparse loss trains on labels.
func TestLossFlag(t *testing.T) {
	small := smallRun(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "m.safetensors")
	for _, test := range []struct {
		args []string
		want string
	}{
		{[]string{"--loss", "nll"}, "--loss nll does not fit the model's output (probabilities, shape [10])"},
		{[]string{"--loss", "binary_cross_entropy"}, "use cross_entropy"},
		{[]string{"--loss", "hinge"}, "--loss \"hinge\" is not one of cross_entropy"},
	} {
		so, se, code := runTrain(t, append(append(small, "--epochs", "1", "--out", out), test.args...)...)
		if code != 2 || !strings.Contains(se, test.want) || strings.Count(se, "\n") != 1 || so != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", test.args, code, so, se, test.want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("files written: %v", ents)
	}
	var rec map[string]any
	for _, loss := range []string{"sparse_cross_entropy", "mse"} {
		so, se, code := runTrain(t, append(small, "--epochs", "1", "--out", out, "--loss", loss, "--json")...)
		if code != 0 {
			t.Fatalf("--loss %s: exit %d: %s", loss, code, se)
		}
		if err := json.Unmarshal(bytes.TrimSpace([]byte(so)), &rec); err != nil || rec["test_accuracy"] == nil {
			t.Errorf("--loss %s: %v\n%s", loss, err, so)
		}
	}
}
