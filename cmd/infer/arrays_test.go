package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"github.com/tapenet/tapenet/models"
	"github.com/tapenet/tapenet/numpyio"
)

// infer runs the command in dir and returns stdout, stderr and the exit code.
func infer(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var so, se bytes.Buffer
	code := cli.Run("infer", run, args, &so, &se)
	return so.String(), se.String(), code
}

func writeNPY(t *testing.T, path string, a numpyio.Array) {
	t.Helper()
	var buf bytes.Buffer
	if err := numpyio.WriteNPY(&buf, a); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readNPY(t *testing.T, path string) numpyio.Array {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := numpyio.ReadNPY(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// havePython reports whether /usr/bin/python3 has numpy.
func havePython() bool {
	return exec.Command("/usr/bin/python3", "-c", "import numpy").Run() == nil
}

func bitsEqual(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// infer --input x.npy --output y.npy on the embedded mlp gives exactly
// what Predictor.Forward gives, and numpy reads y.npy back.
func TestInputOutputMatchesForward(t *testing.T) {
	dir := t.TempDir()
	test, err := datasets.MNIST(datasets.Test, datasets.Options{Normalize: true, Flatten: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 7
	x := slices.Clone(test.Data()[:n*784])
	writeNPY(t, filepath.Join(dir, "x.npy"), numpyio.Array{Shape: []int{n, 784}, Data: x})
	so, se, code := infer(t, dir, "--input", "x.npy", "--output", "y.npy", "--batch-size", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	if !strings.Contains(so, "output ") || !strings.Contains(so, "float32 (7, 10) written to y.npy") {
		t.Errorf("stdout %q", so)
	}
	m, err := models.Open("mlp")
	if err != nil {
		t.Fatal(err)
	}
	want, err := graph.NewPredictor(m).Forward(tensor.New(tensor.WithShape(n, 784), tensor.WithBacking(x)))
	if err != nil {
		t.Fatal(err)
	}
	got := readNPY(t, filepath.Join(dir, "y.npy"))
	if !slices.Equal(got.Shape, []int{n, 10}) || got.DType != "float32" || !bitsEqual(got.Data, want.Data().([]float32)) {
		t.Fatalf("y.npy %v %s differs from Forward", got.Shape, got.DType)
	}
	// An .npz output holds the output by name; --json lists it.
	so, se, code = infer(t, dir, "--input", "x.npy", "--output", "y.npz", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	var rep struct {
		Outputs []outputInfo `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(so), &rep); err != nil || len(rep.Outputs) != 1 || !slices.Equal(rep.Outputs[0].Shape, []int{n, 10}) {
		t.Fatalf("--json %q: %v", so, err)
	}
	arrays, err := numpyio.Load(filepath.Join(dir, "y.npz"))
	if err != nil || !bitsEqual(arrays[m.Outputs()[0]].Data, want.Data().([]float32)) {
		t.Fatalf("y.npz: %v %v", arrays, err)
	}
	if !havePython() {
		t.Skip("/usr/bin/python3 has no numpy: y.npy not read back by numpy")
	}
	// numpy reads y.npy: float32, shape (7, 10), the same values (printed as
	// float64, which holds each float32 exactly), rows summing to 1.
	out, err := exec.Command("/usr/bin/python3", "-c", `
import json, numpy as np
y = np.load("`+filepath.Join(dir, "y.npy")+`")
z = np.load("`+filepath.Join(dir, "y.npz")+`")
print(json.dumps({"dtype": str(y.dtype), "shape": list(y.shape), "values": y.astype(np.float64).ravel().tolist(), "npz": sorted(z.files)}))
`).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy: %v: %s", err, out)
	}
	var py struct {
		DType  string    `json:"dtype"`
		Shape  []int     `json:"shape"`
		Values []float64 `json:"values"`
		NPZ    []string  `json:"npz"`
	}
	if err := json.Unmarshal(out, &py); err != nil {
		t.Fatal(err)
	}
	if py.DType != "float32" || !slices.Equal(py.Shape, []int{n, 10}) || !slices.Equal(py.NPZ, m.Outputs()) {
		t.Fatalf("numpy reads %s %v %v", py.DType, py.Shape, py.NPZ)
	}
	for i, v := range want.Data().([]float32) {
		if py.Values[i] != float64(v) {
			t.Fatalf("value %d: numpy %v, Forward %v", i, py.Values[i], v)
		}
	}
}

// A float64 .npz written by numpy goes in (converted to float32), as an
// .npz entry of any name for a model of one input.
func TestInputFromNumpy(t *testing.T) {
	if !havePython() {
		t.Skip("/usr/bin/python3 has no numpy")
	}
	dir := t.TempDir()
	out, err := exec.Command("/usr/bin/python3", "-c", `
import numpy as np
rng = np.random.default_rng(5)
np.savez_compressed("`+filepath.Join(dir, "in.npz")+`", pixels=rng.random((3, 784)))
np.save("`+filepath.Join(dir, "ints.npy")+`", np.arange(3 * 784, dtype=np.int64).reshape(3, 784))
`).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy: %v: %s", err, out)
	}
	if _, se, code := infer(t, dir, "--input", "in.npz", "--output", "o.npy"); code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	in, err := numpyio.Load(filepath.Join(dir, "in.npz"))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := models.Open("mlp")
	want, err := graph.NewPredictor(m).Forward(tensor.New(tensor.WithShape(3, 784), tensor.WithBacking(in["pixels"].Data)))
	if err != nil {
		t.Fatal(err)
	}
	if got := readNPY(t, filepath.Join(dir, "o.npy")); !bitsEqual(got.Data, want.Data().([]float32)) {
		t.Error("float64 input: output differs from Forward of the float32 values")
	}
	_, se, code := infer(t, dir, "--input", "ints.npy", "--output", "o2.npy")
	if code != 1 || !strings.Contains(se, `--input ints.npy: input "`+m.Inputs()[0].Name+`" takes float32 (N, 784); got int64 (3, 784)`) {
		t.Errorf("int64 into a float32 input: exit %d, %q", code, se)
	}
}

// twoInputs writes a checkpoint of a model of a float input "a" (3) and an
// int64 input "ids" (2): Dense(a) + the sum of the ids' embeddings.
func twoInputs(t *testing.T, path string) *graph.Model {
	t.Helper()
	a := graph.Input("a", 3)
	ids := graph.Input("ids", 2).As(graph.Int64)
	e := graph.Apply(graph.Flatten{}, graph.Apply(&graph.Embedding{Vocab: 10, Dim: 2}, ids))
	d := graph.Apply(&graph.Dense{Units: 4}, a)
	out := graph.Apply(graph.Add{}, d, e)
	m, err := graph.NewModel([]*graph.Tensor{a, ids}, []*graph.Tensor{out})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSeveralInputs(t *testing.T) {
	dir := t.TempDir()
	m := twoInputs(t, filepath.Join(dir, "two.safetensors"))
	av := []float32{1, 2, 3, -1, 0.5, 0}
	idv := []int64{0, 9, 3, 3}
	writeNPY(t, filepath.Join(dir, "a.npy"), numpyio.Array{Shape: []int{2, 3}, Data: av})
	writeNPY(t, filepath.Join(dir, "tokens.npy"), numpyio.Array{Shape: []int{2, 2}, Data: []float32{0, 9, 3, 3}, DType: "int64", Ints: idv})
	var buf bytes.Buffer
	if err := numpyio.WriteNPZ(&buf, []string{"a", "ids"}, map[string]numpyio.Array{
		"a":   {Shape: []int{2, 3}, Data: av},
		"ids": {Shape: []int{2, 2}, Data: []float32{0, 9, 3, 3}, DType: "int64", Ints: idv},
	}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "both.npz"), buf.Bytes(), 0o644)
	outs, err := graph.NewPredictor(m).Predict(
		tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(av)),
		tensor.New(tensor.WithShape(2, 2), tensor.WithBacking(idv)))
	if err != nil {
		t.Fatal(err)
	}
	want := outs[0].Data().([]float32)
	for _, args := range [][]string{
		{"--input", "a.npy", "--input", "ids=tokens.npy"},
		{"--input", "ids=tokens.npy", "--input", "a=a.npy"},
		{"--input", "both.npz"},
	} {
		_, se, code := infer(t, dir, append([]string{"--model", "two.safetensors", "--output", "o.npy"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, se)
		}
		if got := readNPY(t, filepath.Join(dir, "o.npy")); !bitsEqual(got.Data, want) {
			t.Errorf("%v: %v, want %v", args, got.Data, want)
		}
		os.Remove(filepath.Join(dir, "o.npy"))
	}
	// Text output prints the values.
	so, se, code := infer(t, dir, "--model", "two.safetensors", "--input", "both.npz")
	if code != 0 || !strings.Contains(so, "float32 (2, 4)") || len(strings.Split(strings.TrimSpace(so), "\n")) != 3 {
		t.Errorf("text output: exit %d %q %s", code, so, se)
	}
	// Errors: one line naming the input, the shape given and the shape
	// wanted; nothing written.
	writeNPY(t, filepath.Join(dir, "a3.npy"), numpyio.Array{Shape: []int{2, 4}, Data: make([]float32, 8)})
	writeNPY(t, filepath.Join(dir, "f.npy"), numpyio.Array{Shape: []int{2, 2}, Data: make([]float32, 4)})
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--input", "a=a3.npy", "--input", "ids=tokens.npy"}, 1, `--input a3.npy: input "a" takes float32 (N, 3); got float32 (2, 4)`},
		{[]string{"--input", "a=a.npy", "--input", "ids=f.npy"}, 1, `--input f.npy: input "ids" takes int64 (N, 2); got float32 (2, 2)`},
		{[]string{"--input", "a.npy"}, 2, `no array for model input "ids"`},
		{[]string{"--input", "x=a.npy", "--input", "ids=tokens.npy"}, 2, `the model has no input "x" (its inputs: a, ids)`},
		{[]string{"--input", "a.npy", "--input", "a=a.npy"}, 2, `input "a" is already given`},
		{[]string{"--input", "missing.npy"}, 1, "missing.npy"},
	} {
		_, se, code := infer(t, dir, append([]string{"--model", "two.safetensors", "--output", "o.npy"}, tc.args...)...)
		if code != tc.code || !strings.Contains(se, tc.want) || strings.Count(se, "\n") != 1 {
			t.Errorf("%v: exit %d %q, want %d and %q", tc.args, code, se, tc.code, tc.want)
		}
		if _, err := os.Stat(filepath.Join(dir, "o.npy")); err == nil {
			t.Fatalf("%v: o.npy written", tc.args)
		}
	}
}

func TestArrayFlagErrors(t *testing.T) {
	dir := t.TempDir()
	writeNPY(t, filepath.Join(dir, "x.npy"), numpyio.Array{Shape: []int{1, 784}, Data: make([]float32, 784)})
	writeNPY(t, filepath.Join(dir, "one.npy"), numpyio.Array{Shape: []int{784}, Data: make([]float32, 784)})
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--output", "y.npy"}, 2, "--output needs --input"},
		{[]string{"--input", "x.npy", "--data", "."}, 2, "--data applies to data-set runs"},
		{[]string{"--input", "x.npy", "--output", "y.txt"}, 2, "want a .npy or .npz file"},
		{[]string{"--input", "=x.npy"}, 2, "want [NAME=]FILE.npy"},
		{[]string{"--input", "x.npy", "pic.png"}, 2, "do not go together"},
		{[]string{"--input", "one.npy", "--output", "y.npy"}, 1, "got float32 (784,) (one sample: add a first axis of 1)"},
	} {
		_, se, code := infer(t, dir, tc.args...)
		if code != tc.code || !strings.Contains(se, tc.want) {
			t.Errorf("%v: exit %d %q, want %d and %q", tc.args, code, se, tc.code, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "y.npy")); err == nil {
		t.Error("y.npy written")
	}
}

// Any model --model opens runs on arrays: the book's SimpleConvNet pickle
// gives the probabilities numpy's book code gave for the same images
// (models/testdata/book_simple_convnet_probs.npy), and an ONNX model gives
// what its Predictor gives.
func TestInputOtherModels(t *testing.T) {
	dir := t.TempDir()
	want := readNPY(t, "../../models/testdata/book_simple_convnet_probs.npy")
	n := min(want.Shape[0], 20)
	test, err := datasets.MNIST(datasets.Test, datasets.Options{Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	x := slices.Clone(test.Data()[:n*784])
	writeNPY(t, filepath.Join(dir, "x.npy"), numpyio.Array{Shape: []int{n, 1, 28, 28}, Data: x})
	pkl, _ := filepath.Abs("../../models/testdata/book_simple_convnet.pkl")
	if _, se, code := infer(t, dir, "--model", pkl, "--input", "x.npy", "--output", "p.npy"); code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	got := readNPY(t, filepath.Join(dir, "p.npy"))
	for i, v := range got.Data {
		if d := math.Abs(float64(v - want.Data[i])); d > 1e-5 {
			t.Fatalf("value %d: %v, numpy %v", i, v, want.Data[i])
		}
	}
	onnx, _ := filepath.Abs("../../onnximport/testdata/mlp_op11.onnx")
	m, err := models.Open(onnx)
	if err != nil {
		t.Fatal(err)
	}
	in := m.Inputs()[0]
	flat := numpyio.Array{Shape: append([]int{n}, in.Shape...), Data: x}
	writeNPY(t, filepath.Join(dir, "flat.npy"), flat)
	if _, se, code := infer(t, dir, "--model", onnx, "--input", in.Name+"=flat.npy", "--output", "o.npz"); code != 0 {
		t.Fatalf("onnx: exit %d: %s", code, se)
	}
	ref, err := graph.NewPredictor(m).Forward(tensor.New(tensor.WithShape(flat.Shape...), tensor.WithBacking(x)))
	if err != nil {
		t.Fatal(err)
	}
	arrays, err := numpyio.Load(filepath.Join(dir, "o.npz"))
	if err != nil || !bitsEqual(arrays[m.Outputs()[0]].Data, ref.Data().([]float32)) {
		t.Fatalf("onnx output differs from Forward (%v)", err)
	}
}
