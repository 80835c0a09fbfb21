package cmd_test

// Acceptance checks of issue 21 ([core3]) from the command line: data made
// outside the library (IDX written here, .npz by cmd/testdata/core3/
// make_core3.py), metrics recomputed independently, bad input refused.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/models"
	"github.com/tapenet/tapenet/numpyio"
	"gorgonia.org/tensor"
)

// writeIDX writes an unsigned-byte IDX file of the given shape.
func writeIDX(t *testing.T, path string, shape []int, data []byte) {
	t.Helper()
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, byte(len(shape))})
	for _, d := range shape {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// colourFolder writes a 3x32x32 IDX folder with 5 classes: class k lights
// channel k%3 at level 40(k+1), plus noise.
func colourFolder(t *testing.T, dir string) {
	r := rand.New(rand.NewSource(1))
	for _, s := range []struct {
		pre string
		n   int
	}{{"train", 100}, {"t10k", 40}} {
		labels := make([]byte, s.n)
		img := make([]byte, s.n*3*32*32)
		for i := range labels {
			k := i % 5
			labels[i] = byte(k)
			for p := 0; p < 3*32*32; p++ {
				v := r.Intn(30)
				if p/(32*32) == k%3 {
					v += 40 * (k + 1)
				}
				img[i*3*32*32+p] = byte(v)
			}
		}
		writeIDX(t, filepath.Join(dir, s.pre+"-images-idx4-ubyte"), []int{s.n, 3, 32, 32}, img)
		writeIDX(t, filepath.Join(dir, s.pre+"-labels-idx1-ubyte"), []int{s.n}, labels)
	}
}

func fixture(name string) string {
	p, _ := filepath.Abs(filepath.Join("testdata", "core3", name))
	return p
}

func TestCore3ColourIDX(t *testing.T) {
	dir := t.TempDir()
	colourFolder(t, dir)
	_, stderr, code := run(t, dir, "train", "--data", dir, "--arch", "convnet", "--epochs", "1", "--out", "m.safetensors")
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	out, stderr, code := run(t, dir, "infer", "--model", "m.safetensors", "--data", dir, "--json")
	if code != 0 {
		t.Fatalf("infer exit %d: %s", code, stderr)
	}
	var r inferJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(r.PerClass) != 5 || len(r.Confusion) != 5 || r.Samples != 40 {
		t.Errorf("%d classes, %d confusion rows, %d samples; want 5, 5, 40", len(r.PerClass), len(r.Confusion), r.Samples)
	}
}

func TestCore3NPZClassification(t *testing.T) {
	dir := t.TempDir()
	data := fixture("cls.npz")
	if _, stderr, code := run(t, dir, "train", "--data", data, "--epochs", "2", "--out", "m.safetensors"); code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	out, stderr, code := run(t, dir, "infer", "--model", "m.safetensors", "--data", data, "--json")
	if code != 0 {
		t.Fatalf("infer exit %d: %s", code, stderr)
	}
	var r inferJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// 3 classes, 60 test samples; chance is ~1/3.
	if len(r.PerClass) != 3 || r.Samples != 60 || r.Accuracy < 0.45 {
		t.Errorf("%d classes, %d samples, accuracy %.3f", len(r.PerClass), r.Samples, r.Accuracy)
	}
}

// TestCore3NPZRegression trains with --loss mse and checks infer's mse,
// mae and r2 against the same formulas applied (here, in float64) to the
// predictions infer --input writes.
func TestCore3NPZRegression(t *testing.T) {
	dir := t.TempDir()
	data := fixture("reg.npz")
	_, stderr, code := run(t, dir, "train", "--data", data, "--loss", "mse", "--epochs", "3", "--out", "m.safetensors")
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	out, stderr, code := run(t, dir, "infer", "--model", "m.safetensors", "--data", data, "--json")
	if code != 0 {
		t.Fatalf("infer exit %d: %s", code, stderr)
	}
	var m struct{ MSE, MAE, R2 *float64 }
	if err := json.Unmarshal([]byte(out), &m); err != nil || m.MSE == nil || m.MAE == nil || m.R2 == nil {
		t.Fatalf("%v: no mse/mae/r2 in %s", err, out)
	}
	if _, stderr, code := run(t, dir, "infer", "--model", "m.safetensors", "--input", fixture("reg_xtest.npy"), "--output", "p.npy"); code != 0 {
		t.Fatalf("infer --input exit %d: %s", code, stderr)
	}
	p := loadNPY(t, filepath.Join(dir, "p.npy"))
	arrs, err := numpyio.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	y := arrs["y_test"].Data
	if len(p.Data) != len(y) {
		t.Fatalf("%d predictions for %d targets", len(p.Data), len(y))
	}
	var mean, se, ae, ss float64
	for _, v := range y {
		mean += float64(v) / float64(len(y))
	}
	for i, v := range y {
		d := float64(p.Data[i]) - float64(v)
		se += d * d
		ae += math.Abs(d)
		ss += (float64(v) - mean) * (float64(v) - mean)
	}
	n := float64(len(y))
	want := map[string][2]float64{"mse": {*m.MSE, se / n}, "mae": {*m.MAE, ae / n}, "r2": {*m.R2, 1 - se/ss}}
	for k, v := range want {
		if math.Abs(v[0]-v[1]) > 1e-5*math.Max(1, math.Abs(v[1])) {
			t.Errorf("%s: infer %.7g, recomputed %.7g", k, v[0], v[1])
		}
	}
}

func loadNPY(t *testing.T, path string) numpyio.Array {
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

// TestCore3InferArrays: infer --input x.npy --output y.npy on the embedded
// mlp equals Predictor.Forward on the same array.
func TestCore3InferArrays(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewSource(2))
	x := make([]float32, 5*784)
	for i := range x {
		x[i] = r.Float32()
	}
	var b bytes.Buffer
	if err := numpyio.WriteNPY(&b, numpyio.Array{Shape: []int{5, 784}, Data: x}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "x.npy"), b.Bytes(), 0o644)
	if _, stderr, code := run(t, dir, "infer", "--input", "x.npy", "--output", "y.npy"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := loadNPY(t, filepath.Join(dir, "y.npy"))
	m, err := models.Open("mlp")
	if err != nil {
		t.Fatal(err)
	}
	want, err := graph.NewPredictor(m).Forward(tensor.New(tensor.WithShape(5, 784), tensor.WithBacking(x)))
	if err != nil {
		t.Fatal(err)
	}
	w := want.Data().([]float32)
	if len(got.Data) != len(w) || len(got.Shape) != 2 || got.Shape[1] != 10 {
		t.Fatalf("shape %v, %d values; want (5, 10)", got.Shape, len(got.Data))
	}
	// Float32 rounding only: infer's batched kernels may sum in another
	// order than a direct Forward (measured: at most 1.7e-6).
	for i := range w {
		if math.Abs(float64(got.Data[i]-w[i])) > 1e-5 {
			t.Fatalf("y[%d] = %g, Forward %g", i, got.Data[i], w[i])
		}
	}
}

// TestCore3InitONNX: --init on PyTorch exports ending in log_softmax and in
// raw logits picks a cross-entropy loss (not mse) and does not lose test
// accuracy in one epoch.
func TestCore3InitONNX(t *testing.T) {
	for _, name := range []string{"mlp_logsoftmax.onnx", "mlp_logits.onnx"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			onnx, _ := filepath.Abs(filepath.Join("train", "testdata", name))
			acc := func(model string) float64 {
				out, stderr, code := run(t, dir, "infer", "--model", model, "--limit", "1000", "--json")
				if code != 0 {
					t.Fatalf("infer exit %d: %s", code, stderr)
				}
				var r inferJSON
				if err := json.Unmarshal([]byte(out), &r); err != nil {
					t.Fatal(err)
				}
				return r.Accuracy
			}
			before := acc(onnx)
			out, stderr, code := run(t, dir, "train", "--init", onnx, "--epochs", "1", "--limit", "3000", "--out", "m.safetensors")
			if code != 0 {
				t.Fatalf("train exit %d: %s", code, stderr)
			}
			log := out + stderr
			if !strings.Contains(log, "loss cross_entropy") && !strings.Contains(log, "loss nll") {
				t.Errorf("loss not cross-entropy/nll: %s", log)
			}
			if after := acc("m.safetensors"); after < before {
				t.Errorf("accuracy %.4f -> %.4f", before, after)
			}
		})
	}
}

// TestCore3BadInput: each bad data set ends with one line, exit 1 or 2,
// and no checkpoint.
func TestCore3BadInput(t *testing.T) {
	dir := t.TempDir()
	r5 := filepath.Join(dir, "r5")
	os.Mkdir(r5, 0o755)
	writeIDX(t, filepath.Join(r5, "train-images-idx4-ubyte"), []int{2, 1, 1, 2, 2}, make([]byte, 16))
	writeIDX(t, filepath.Join(r5, "train-labels-idx1-ubyte"), []int{2}, make([]byte, 2))
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no x", []string{"--data", fixture("nox.npz")}, "no array x"},
		{"y length", []string{"--data", fixture("len.npz")}, "10 rows"},
		{"dtype", []string{"--data", fixture("dtype.npz")}, "dtype"},
		{"IDX rank 5", []string{"--data", r5}, "5 dimensions"},
		{"cross_entropy on regression", []string{"--data", fixture("reg.npz"), "--loss", "cross_entropy"}, "cross_entropy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "out.safetensors")
			stdout, stderr, code := run(t, dir, "train", append(c.args, "--epochs", "1", "--out", out)...)
			if code != 1 && code != 2 {
				t.Errorf("exit %d", code)
			}
			msg := strings.TrimSpace(stdout + stderr)
			if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, c.want) || strings.Contains(msg, "panic") {
				t.Errorf("want one line with %q, got %q", c.want, msg)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s written", out)
			}
		})
	}
}

// TestCore3Int64Lookup: an Embedding (Gather on int64 ids) exported by
// PyTorch runs from infer --input on int64 ids and gives PyTorch's output.
func TestCore3Int64Lookup(t *testing.T) {
	for _, model := range []string{"emb_fixed.onnx", "emb_dynamic.onnx"} {
		t.Run(model, func(t *testing.T) {
			dir := t.TempDir()
			_, stderr, code := run(t, dir, "infer", "--model", fixture(model), "--input", "ids="+fixture("ids.npy"), "--output", "y.npy")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got, want := loadNPY(t, filepath.Join(dir, "y.npy")), loadNPY(t, fixture("emb_want.npy"))
			if len(got.Data) != len(want.Data) {
				t.Fatalf("shape %v, want %v", got.Shape, want.Shape)
			}
			for i := range want.Data {
				if math.Abs(float64(got.Data[i]-want.Data[i])) > 1e-6 {
					t.Errorf("y[%d] = %g, PyTorch %g", i, got.Data[i], want.Data[i])
				}
			}
		})
	}
}
