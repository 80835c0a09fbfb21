package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"github.com/tapenet/tapenet/models"
	"github.com/tapenet/tapenet/numpyio"
)

func writeModel(t *testing.T, path string, m *graph.Model) {
	t.Helper()
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDataRegressionNPZ(t *testing.T) {
	dir := t.TempDir()
	m, err := models.ForData("mlp", []int{3}, 0, 2, models.ArchOptions{Hidden: []int{8}})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(4)
	writeModel(t, filepath.Join(dir, "reg.safetensors"), m)
	data, _ := filepath.Abs("../../datasets/testdata/reg.npz")
	so, se, code := infer(t, dir, "--model", "reg.safetensors", "--data", data, "--json", "--predictions", "p.txt")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(so), &rep); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"mse", "mae", "r2"} {
		if _, ok := rep[k].(float64); !ok {
			t.Fatalf("--json %s has no %q", so, k)
		}
	}
	if rep["samples"] != 10.0 || rep["targets"] != 2.0 {
		t.Errorf("samples %v targets %v, want the 10 test rows of 2 targets", rep["samples"], rep["targets"])
	}
	// The predictions are Forward's on the test split.
	_, test, err := datasets.Open(data, datasets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := graph.NewPredictor(m).Forward(test.X)
	if err != nil {
		t.Fatal(err)
	}
	p, err := os.ReadFile(filepath.Join(dir, "p.txt"))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(p))
	for i, v := range out.Data().([]float32) {
		if i >= len(fields) || fields[i] != strconv.FormatFloat(float64(v), 'g', -1, 32) {
			t.Fatalf("prediction %d: %q, Forward %v", i, fields[min(i, len(fields)-1)], v)
		}
	}
	// numpy computes mse, mae and r2 from the predictions and y_test as
	// infer reports them (without numpy, only their presence is checked).
	if havePython() {
		py, err := exec.Command("/usr/bin/python3", "-c", `
import json, numpy as np
p = np.loadtxt("`+filepath.Join(dir, "p.txt")+`", dtype=np.float32).astype(np.float64)
y = np.load("`+data+`")["y_test"].astype(np.float32).astype(np.float64)
r2 = np.mean([1 - ((p[:, j] - y[:, j])**2).sum() / ((y[:, j] - y[:, j].mean())**2).sum() for j in range(y.shape[1])])
print(json.dumps({"mse": ((p - y)**2).mean(), "mae": np.abs(p - y).mean(), "r2": r2}))
`).CombinedOutput()
		if err != nil {
			t.Fatalf("numpy: %v %s", err, py)
		}
		var np map[string]float64
		if err := json.Unmarshal(py, &np); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"mse", "mae", "r2"} {
			if d := math.Abs(np[k] - rep[k].(float64)); d > 1e-9*math.Max(1, math.Abs(np[k])) {
				t.Errorf("%s: infer %v, numpy %v", k, rep[k], np[k])
			}
		}
	}
	// Text report; errors.
	so, _, code = infer(t, dir, "--model", "reg.safetensors", "--data", data, "--split", "train")
	if code != 0 || !strings.Contains(so, "regression: 30 samples, 2 targets each") || !strings.Contains(so, "r2: ") {
		t.Errorf("text report: %d %q", code, so)
	}
	c, err := models.ForData("mlp", []int{3}, 2, 0, models.ArchOptions{Hidden: []int{4}})
	if err != nil {
		t.Fatal(err)
	}
	writeModel(t, filepath.Join(dir, "c.safetensors"), c)
	if _, se, code := infer(t, dir, "--model", "c.safetensors", "--data", data); code != 1 || !strings.Contains(se, "model c.safetensors gives probabilities, but data set") {
		t.Errorf("classifier on regression data: %d %q", code, se)
	}
	if _, se, code := infer(t, dir, "--model", "reg.safetensors", "--data", data, "--errors", "e.png"); code != 2 || !strings.Contains(se, "--errors draws classification results") {
		t.Errorf("--errors on regression data: %d %q", code, se)
	}
	reg1, _ := filepath.Abs("../../datasets/testdata/reg1.npz")
	r1, err := models.ForData("mlp", []int{2}, 0, 1, models.ArchOptions{Hidden: []int{4}})
	if err != nil {
		t.Fatal(err)
	}
	writeModel(t, filepath.Join(dir, "r1.safetensors"), r1)
	if so, se, code := infer(t, dir, "--model", "r1.safetensors", "--data", reg1); code != 0 || !strings.Contains(so, "regression: 8 samples, 1 targets each") {
		t.Errorf("a set without a test split, no --split: %d %q %q", code, so, se)
	}
	if _, se, code := infer(t, dir, "--model", "r1.safetensors", "--data", reg1, "--split", "test"); code != 1 || !strings.Contains(se, "has no test split") {
		t.Errorf("--split test of a set without one: %d %q", code, se)
	}
}

// Constant targets: R² is undefined, reported as null (and said so in
// the text report), not as a number.
func TestDataConstantTargets(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := numpyio.WriteNPZ(&buf, []string{"x", "y"}, map[string]numpyio.Array{
		"x": {Shape: []int{4, 1}, Data: []float32{1, 2, 3, 4}},
		"y": {Shape: []int{4}, Data: []float32{5, 5, 5, 5}},
	}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "c.npz"), buf.Bytes(), 0o644)
	m, err := models.ForData("mlp", []int{1}, 0, 1, models.ArchOptions{Hidden: []int{3}})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	writeModel(t, filepath.Join(dir, "m.safetensors"), m)
	so, se, code := infer(t, dir, "--model", "m.safetensors", "--data", "c.npz", "--json")
	if code != 0 || !strings.Contains(so, `"r2":null`) {
		t.Errorf("--json: %d %q %s", code, so, se)
	}
	so, _, _ = infer(t, dir, "--model", "m.safetensors", "--data", "c.npz")
	if !strings.Contains(so, "r2: undefined (a target column is constant)") {
		t.Errorf("text: %q", so)
	}
}

func TestDataClassificationNPZ(t *testing.T) {
	dir := t.TempDir()
	m, err := models.ForData("mlp", []int{1, 4, 4}, 4, 0, models.ArchOptions{Hidden: []int{8}})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(2)
	writeModel(t, filepath.Join(dir, "cls.safetensors"), m)
	data, _ := filepath.Abs("../../datasets/testdata/cls.npz")
	so, se, code := infer(t, dir, "--model", "cls.safetensors", "--data", data, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	var rep report
	if err := json.Unmarshal([]byte(so), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Samples != 6 || len(rep.PerClass) != 4 || len(rep.Confusion) != 4 {
		t.Errorf("%d samples, %d classes; want the 6 test samples of 4 classes", rep.Samples, len(rep.PerClass))
	}
}

// idx encodes an IDX file of unsigned bytes, gzip-compressed.
func idx(dims []int, data []byte) []byte {
	b := []byte{0, 0, 8, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(append(b, data...))
	w.Close()
	return buf.Bytes()
}

// A 3x32x32 colour IDX folder of 5 classes: infer --data DIR reports 5
// classes, with a convnet built for it by models.ForData.
func TestDataColourIDX(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "colour")
	os.Mkdir(data, 0o755)
	for _, split := range []struct {
		prefix string
		n      int
	}{{"train", 20}, {"t10k", 10}} {
		px := make([]byte, split.n*3*32*32)
		for i := range px {
			px[i] = byte(i * 31)
		}
		labels := make([]byte, split.n)
		for i := range labels {
			labels[i] = byte(i % 5)
		}
		os.WriteFile(filepath.Join(data, split.prefix+"-images-idx4-ubyte.gz"), idx([]int{split.n, 3, 32, 32}, px), 0o644)
		os.WriteFile(filepath.Join(data, split.prefix+"-labels-idx1-ubyte.gz"), idx([]int{split.n}, labels), 0o644)
	}
	m, err := models.ForData("convnet", []int{3, 32, 32}, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	writeModel(t, filepath.Join(dir, "c.safetensors"), m)
	for _, split := range []string{"test", "train"} {
		so, se, code := infer(t, dir, "--model", "c.safetensors", "--data", data, "--split", split, "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, se)
		}
		var rep report
		if err := json.Unmarshal([]byte(so), &rep); err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"test": 10, "train": 20}[split]
		if rep.Samples != want || len(rep.PerClass) != 5 || len(rep.Confusion) != 5 {
			t.Errorf("%s: %d samples, %d classes; want %d of 5", split, rep.Samples, len(rep.PerClass), want)
		}
	}
	// The MNIST mlp on colour images: one line naming the file and shapes.
	_, se, code := infer(t, dir, "--data", data)
	if code != 1 || !strings.Contains(se, "images are 3x32x32, samples of shape [3072]; want [784]") {
		t.Errorf("mlp on colour: %d %q", code, se)
	}
}
