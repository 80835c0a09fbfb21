package onnximport_test

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/onnximport"
)

// fixture is one model of testdata/fixtures.json, made by PyTorch
// (testdata/make_fixtures.py).
type fixture struct {
	File          string
	Opset         int      `json:"opset"`
	Operators     []string `json:"operators"`
	TorchAccuracy float64  `json:"torch_accuracy"`
	FlatInput     bool     `json:"flat_input"`
}

func fixtures(t *testing.T) []fixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fixtures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	var out []fixture
	for name, raw := range all {
		if strings.HasPrefix(name, "_") {
			continue
		}
		f := fixture{File: name}
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	if len(out) < 5 {
		t.Fatalf("%d fixtures", len(out))
	}
	return out
}

func readModel(t *testing.T, path string) (*graph.Model, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnximport.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m, b
}

// testSet returns the MNIST test images, (N, 784) when flat, else
// (N, 1, 28, 28).
func testSet(t *testing.T, flat bool) *datasets.Set {
	t.Helper()
	set, err := datasets.MNIST(datasets.Test, datasets.Options{Normalize: true, Flatten: flat})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// outputs runs m over set in batches and returns its first output.
func outputs(t *testing.T, m *graph.Model, set *datasets.Set, batch int) []float32 {
	t.Helper()
	pr := graph.NewPredictor(m)
	var out []float32
	for b := range set.Batches(batch) {
		y, err := pr.Forward(b.X)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, y.Data().([]float32)...)
	}
	return out
}

func accuracy(preds, labels []int) float64 {
	c := 0
	for k, p := range preds {
		if p == labels[k] {
			c++
		}
	}
	return float64(c) / float64(len(labels))
}

// Every fixture made by torch.onnx.export imports and runs on all 10,000
// MNIST test images with ONNX Runtime's classes and probabilities (within
// 1e-4), and so does tapenet's own ONNX export of the imported model, in
// ONNX Runtime and imported back into tapenet. With -short, on the first
// 1,000 images.
func TestFixtures(t *testing.T) {
	const batch = 100
	fs := fixtures(t)
	type run struct {
		f        fixture
		set      *datasets.Set
		original []byte
		exported []byte
		tapenet  []float32
	}
	var runs []run
	var jobs []ortJob
	for _, f := range fs {
		m, original := readModel(t, filepath.Join("testdata", f.File))
		set := testSet(t, f.FlatInput)
		if testing.Short() {
			set = set.Head(1000)
		}
		got := outputs(t, m, set, batch)
		preds := argmaxRows(got, 10)
		acc := accuracy(preds, set.Labels)
		// PyTorch's own accuracy, recorded when the fixture was made: a
		// class may flip where two are within float rounding, no more.
		if math.Abs(acc-f.TorchAccuracy) > 0.0005 && !testing.Short() {
			t.Errorf("%s: accuracy %.4f, PyTorch %.4f", f.File, acc, f.TorchAccuracy)
		}
		var exported bytes.Buffer
		if err := export.WriteONNX(&exported, m); err != nil {
			t.Fatalf("%s: export: %v", f.File, err)
		}
		// The export imports back into the same model: same outputs.
		back, err := onnximport.Decode(exported.Bytes())
		if err != nil {
			t.Fatalf("%s: re-import of the export: %v", f.File, err)
		}
		head := set.Head(1000)
		if d := maxAbsDiff(outputs(t, back, head, batch), got[:1000*10]); d > 1e-6 {
			t.Errorf("%s: re-imported export differs by %g", f.File, d)
		}
		t.Logf("%s (opset %d, %s): tapenet accuracy %.4f on %d images (PyTorch %.4f)", f.File, f.Opset, strings.Join(f.Operators, " "), acc, set.Len(), f.TorchAccuracy)
		runs = append(runs, run{f, set, original, exported.Bytes(), got})
		in := []ortInput{{Name: "input", Data: set.Data(), Dims: append([]int{set.Len()}, set.SampleShape()...)}}
		jobs = append(jobs, ortJob{Model: original, Batch: 384, Inputs: in}, ortJob{Model: exported.Bytes(), Batch: 1000, Inputs: in})
	}
	if _, ok := ortAvailable(); !ok {
		t.Skip("ONNX Runtime (node, onnxruntime-node) not available: tapenet checked against PyTorch's accuracy only")
	}
	res, version := runORT(t, jobs)
	for k, r := range runs {
		t.Run(r.f.File, func(t *testing.T) {
			orig, exp := res[2*k], res[2*k+1]
			if orig.Err != "" || exp.Err != "" {
				t.Fatalf("ORT: original: %q, export: %q", orig.Err, exp.Err)
			}
			want := orig.Outputs[0].Data
			wantPreds := argmaxRows(want, 10)
			n := len(wantPreds)
			if n != r.set.Len() {
				t.Fatalf("ORT gave %d rows for %d images", n, r.set.Len())
			}
			diff := countDiff(argmaxRows(r.tapenet, 10), wantPreds)
			d := maxAbsDiff(r.tapenet, want)
			if diff != 0 || d > 1e-4 {
				t.Errorf("tapenet vs ORT %s: classes differ on %d of %d images, probabilities by up to %.3g", version, diff, n, d)
			}
			expDiff := countDiff(argmaxRows(exp.Outputs[0].Data, 10), wantPreds)
			expD := maxAbsDiff(exp.Outputs[0].Data, want)
			if expDiff != 0 || expD > 1e-4 {
				t.Errorf("tapenet's export in ORT vs the original in ORT: classes differ on %d of %d images, probabilities by up to %.3g", expDiff, n, expD)
			}
			if !slices.Equal(exp.Outputs[0].Dims, []int{n, 10}) {
				t.Errorf("export's output dims %v", exp.Outputs[0].Dims)
			}
			t.Logf("ORT %s: classes identical on %d/%d images (export: %d/%d); max probability difference %.2g (export in ORT: %.2g)",
				version, n-diff, n, n-expDiff, n, d, expD)
		})
	}
}

// ortAvailable reports whether ONNX Runtime can run, without skipping.
func ortAvailable() (string, bool) {
	dir, set := os.LookupEnv("TAPENET_ORT_DIR")
	if set {
		return dir, true // runORT fails loudly if it is not there
	}
	dir, _ = filepath.Abs(filepath.Join("..", "export", "testdata", "ort"))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "onnxruntime-node", "package.json")); err != nil {
		return "", false
	}
	return dir, true
}
