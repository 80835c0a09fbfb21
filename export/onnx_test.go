package export_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/advancedclimatesystems/gonnx"
	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/internal/testutil"
	"github.com/tapenet/tapenet/models"
	"google.golang.org/protobuf/proto"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// nImages MNIST test images are run through every exported model.
const nImages = 200

var mnistOnce = sync.OnceValues(func() (*datasets.Set, error) {
	set, err := datasets.MNIST(datasets.Test, datasets.Options{Normalize: true, Flatten: true})
	if err != nil {
		return nil, err
	}
	return set.Head(nImages), nil
})

func mnist(t *testing.T) *datasets.Set {
	t.Helper()
	set, err := mnistOnce()
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// onnxModels are the models the ONNX tests run: random-initialised nets
// with each activation, and the embedded default model when present.
func onnxModels(t *testing.T) map[string]*graph.Model {
	ms := testModels(t)
	if m, err := models.Open(models.Default); err == nil {
		ms["default-"+models.Default] = m
	} else {
		t.Logf("default model not checked: %v", err)
	}
	return ms
}

func onnxBytes(t *testing.T, m *graph.Model) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := export.WriteONNX(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// tapenetOutputs runs m on set with Gorgonia: outputs (N, classes) and
// argmax predictions.
func tapenetOutputs(t *testing.T, m *graph.Model, set *datasets.Set) ([]float32, []int) {
	t.Helper()
	pr := graph.NewPredictor(m)
	out, err := pr.Forward(set.X)
	if err != nil {
		t.Fatal(err)
	}
	preds, err := pr.Classify(set.X, 100)
	if err != nil {
		t.Fatal(err)
	}
	return out.Data().([]float32), preds
}

func argmaxRows(v []float32, classes int) []int {
	var preds []int
	for r := 0; r*classes < len(v); r++ {
		row := v[r*classes : (r+1)*classes]
		best := 0
		for j := range row {
			if row[j] > row[best] {
				best = j
			}
		}
		preds = append(preds, best)
	}
	return preds
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// runGonnx runs an ONNX model in gonnx over samples in batches of batch.
func runGonnx(t *testing.T, model []byte, x []float32, per, batch int) []float32 {
	t.Helper()
	gm, err := gonnx.NewModelFromBytes(model)
	if err != nil {
		t.Fatalf("gonnx: %v", err)
	}
	var out []float32
	n := len(x) / per
	for from := 0; from < n; from += batch {
		to := min(from+batch, n)
		in := tensor.New(tensor.WithShape(to-from, per), tensor.WithBacking(slices.Clone(x[from*per:to*per])))
		res, err := gm.Run(gonnx.Tensors{export.ONNXInput: in})
		if err != nil {
			t.Fatalf("gonnx run, batch %d: %v", to-from, err)
		}
		y := res[export.ONNXOutput]
		if y == nil || y.Shape()[0] != to-from {
			t.Fatalf("gonnx: output %v for batch %d", y, to-from)
		}
		out = append(out, y.Data().([]float32)...)
	}
	return out
}

// The exported model runs in gonnx (pure Go) on real MNIST images, at two
// batch sizes, with tapenet's predictions. gonnx has no Cast from bool, so
// step models are checked in ONNX Runtime only (TestONNXRuntime).
func TestONNXGonnx(t *testing.T) {
	set := mnist(t)
	for name, m := range onnxModels(t) {
		if name == "step" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			want, wantPreds := tapenetOutputs(t, m, set)
			model := onnxBytes(t, m)
			for _, batch := range []int{nImages, 64} {
				got := runGonnx(t, model, set.Data(), set.SampleSize(), batch)
				if preds := argmaxRows(got, 10); !slices.Equal(preds, wantPreds) {
					t.Errorf("batch %d: gonnx predictions differ from tapenet's", batch)
				}
				d := maxAbsDiff(got, want)
				if d > 1e-5 {
					t.Errorf("batch %d: outputs differ by up to %g", batch, d)
				}
				t.Logf("batch %d: gonnx predictions equal tapenet's on %d images; outputs within %.2g", batch, nImages, d)
			}
		})
	}
}

func TestONNXStructure(t *testing.T) {
	m := testModels(t)["step"]
	var mp onnx.ModelProto
	if err := proto.Unmarshal(onnxBytes(t, m), &mp); err != nil {
		t.Fatal(err)
	}
	if mp.IrVersion != 8 || len(mp.OpsetImport) != 1 || mp.OpsetImport[0].Version != 13 || mp.OpsetImport[0].Domain != "" {
		t.Errorf("ir %d opsets %v", mp.IrVersion, mp.OpsetImport)
	}
	g := mp.Graph
	shape := func(v *onnx.ValueInfoProto) string {
		var dims []string
		for _, d := range v.GetType().GetTensorType().GetShape().GetDim() {
			if p := d.GetDimParam(); p != "" {
				dims = append(dims, p)
			} else {
				dims = append(dims, fmt.Sprint(d.GetDimValue()))
			}
		}
		return v.GetName() + fmt.Sprint(dims)
	}
	if len(g.Input) != 1 || shape(g.Input[0]) != "input[N 784]" || len(g.Output) != 1 || shape(g.Output[0]) != "output[N 10]" {
		t.Errorf("inputs %v outputs %v", g.Input, g.Output)
	}
	var ops, inits []string
	for _, n := range g.Node {
		ops = append(ops, n.OpType)
	}
	for _, in := range g.Initializer {
		inits = append(inits, in.Name)
	}
	if want := []string{"Gemm", "Greater", "Cast", "Gemm", "Softmax"}; !slices.Equal(ops, want) {
		t.Errorf("ops %v, want %v", ops, want)
	}
	if want := append(m.ParamNames()[:2:2], "step1.zero", "fc2.weight", "fc2.bias"); !slices.Equal(inits, want) {
		t.Errorf("initializers %v, want %v", inits, want)
	}
	for _, in := range g.Initializer {
		if p := m.Param(in.Name); p != nil {
			if !bytes.Equal(in.RawData, f32bytes(p.Data().([]float32))) || fmt.Sprint(in.Dims) != fmt.Sprint([]int(p.Shape())) {
				t.Errorf("initializer %s: dims %v, data differs or wrong", in.Name, in.Dims)
			}
		}
	}
	gemm := g.Node[0]
	if fmt.Sprint(gemm.Input) != "[input fc1.weight fc1.bias]" || fmt.Sprint(gemm.Output) != "[fc1.out]" {
		t.Errorf("gemm %v -> %v", gemm.Input, gemm.Output)
	}
	for _, a := range gemm.Attribute {
		if a.Name == "transB" && a.I != 0 {
			t.Error("Gemm transB != 0: weights are (in, out)")
		}
	}
	if last := g.Node[len(g.Node)-1]; last.Output[0] != "output" {
		t.Errorf("last node outputs %v", last.Output)
	}
}

// unknownLayer has no ONNX form.
type unknownLayer struct{}

func (unknownLayer) Kind() string { return "mystery" }
func (unknownLayer) Forward(_ *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.Neg(x)
}

func TestONNXUnsupportedLayer(t *testing.T) {
	m, err := graph.NewSequential([]int{4}, &graph.Dense{Units: 3}, unknownLayer{})
	if err != nil {
		t.Fatal(err)
	}
	err = export.WriteONNX(&bytes.Buffer{}, m)
	if err == nil || !strings.Contains(err.Error(), "mystery1") || !strings.Contains(err.Error(), `"mystery"`) {
		t.Errorf("error %v, want one naming layer mystery1 and kind mystery", err)
	}
}

// scaleLayer multiplies by Factor and knows its own ONNX form.
type scaleLayer struct{ Factor float32 }

func (scaleLayer) Kind() string { return "scale" }
func (s scaleLayer) Forward(_ *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.Mul(x, gorgonia.NewConstant(s.Factor))
}
func (s scaleLayer) ONNXNode(b *export.ONNXBuilder, x string) (string, error) {
	c, err := b.Constant("factor", []int{1}, []float32{s.Factor})
	if err != nil {
		return "", err
	}
	return b.Node("Mul", []string{x, c}), nil
}

// shiftLayer adds 1; its ONNX form is registered by kind.
type shiftLayer struct{}

func (shiftLayer) Kind() string { return "test-shift" }
func (shiftLayer) Forward(_ *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.Add(x, gorgonia.NewConstant(float32(1)))
}
func (shiftLayer) ONNXNode(b *export.ONNXBuilder, x string) (string, error) {
	one, err := b.Constant("one", []int{1}, []float32{1})
	if err != nil {
		return "", err
	}
	return b.Node("Add", []string{x, one}), nil
}

// Layer kinds outside graph/ export to ONNX through the ONNXLayer
// interface, without editing the export package.
func TestONNXExtension(t *testing.T) {
	m, err := graph.NewSequential([]int{784}, &graph.Dense{Units: 16}, scaleLayer{Factor: 0.5}, shiftLayer{}, graph.Tanh{}, &graph.Dense{Units: 10}, graph.Identity{}, graph.Softmax{})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(5)
	set := mnist(t)
	want, wantPreds := tapenetOutputs(t, m, set)
	model := onnxBytes(t, m)
	got := runGonnx(t, model, set.Data(), set.SampleSize(), 50)
	if !slices.Equal(argmaxRows(got, 10), wantPreds) {
		t.Error("predictions differ")
	}
	if d := maxAbsDiff(got, want); d > 1e-5 {
		t.Errorf("outputs differ by up to %g", d)
	}
	var mp onnx.ModelProto
	if err := proto.Unmarshal(model, &mp); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, n := range mp.Graph.Node {
		ops = append(ops, n.OpType+"->"+n.Output[0])
	}
	want2 := []string{"Gemm->fc1.out", "Mul->scale1.out", "Add->test-shift1.out", "Tanh->tanh1.out", "Gemm->fc2.out", "Softmax->output"}
	if !slices.Equal(ops, want2) {
		t.Errorf("nodes %v, want %v", ops, want2)
	}
}

// A model of identity layers only still has an "output".
func TestONNXIdentityOnly(t *testing.T) {
	m, err := graph.NewSequential([]int{3}, graph.Identity{})
	if err != nil {
		t.Fatal(err)
	}
	var mp onnx.ModelProto
	if err := proto.Unmarshal(onnxBytes(t, m), &mp); err != nil {
		t.Fatal(err)
	}
	if n := mp.Graph.Node; len(n) != 1 || n[0].OpType != "Identity" || n[0].Input[0] != "input" || n[0].Output[0] != "output" {
		t.Errorf("nodes %v", n)
	}
}

// ortDir returns the folder whose node_modules holds onnxruntime-node:
// $TAPENET_ORT_DIR, else testdata/ort. It skips the test when node or the
// package is missing (and fails when TAPENET_ORT_DIR names a folder
// without it).
func ortDir(t *testing.T) string { return testutil.ORTDir(t, filepath.Join("testdata", "ort")) }

type ortResult struct {
	Version    string      `json:"ort_version"`
	BatchSizes []int       `json:"batch_sizes"`
	Preds      []int       `json:"preds"`
	Outputs    [][]float32 `json:"outputs"`
}

// The strongest check: ONNX Runtime itself (onnxruntime-node) loads every
// exported model and predicts as tapenet does on real MNIST images, at two
// batch sizes.
func TestONNXRuntime(t *testing.T) {
	dir := ortDir(t)
	script, _ := filepath.Abs(filepath.Join("testdata", "ort", "run.js"))
	set := mnist(t)
	tmp := t.TempDir()
	input := filepath.Join(tmp, "mnist.f32")
	if err := os.WriteFile(input, f32bytes(set.Data()), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, m := range onnxModels(t) {
		t.Run(name, func(t *testing.T) {
			want, wantPreds := tapenetOutputs(t, m, set)
			path := filepath.Join(tmp, name+".onnx")
			if err := os.WriteFile(path, onnxBytes(t, m), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, batch := range []int{nImages, 64} {
				cmd := exec.Command("node", script, path, input, fmt.Sprint(nImages), fmt.Sprint(batch))
				cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("node run.js: %v: %s", err, stderr.String())
				}
				var res ortResult
				if err := json.Unmarshal(out, &res); err != nil {
					t.Fatalf("ORT output: %v", err)
				}
				if batch == 64 && !slices.Equal(res.BatchSizes, []int{64, 64, 64, 8}) {
					t.Errorf("ORT batch sizes %v", res.BatchSizes)
				}
				if !slices.Equal(res.Preds, wantPreds) {
					diff := 0
					for i := range wantPreds {
						if i < len(res.Preds) && res.Preds[i] != wantPreds[i] {
							diff++
						}
					}
					t.Errorf("batch %d: ORT %s predictions differ from tapenet's on %d of %d images", batch, res.Version, diff, nImages)
				}
				var flat []float32
				for _, row := range res.Outputs {
					flat = append(flat, row...)
				}
				d := maxAbsDiff(flat, want)
				if d > 1e-5 {
					t.Errorf("batch %d: outputs differ by up to %g", batch, d)
				}
				t.Logf("batch %d: ORT %s predictions equal tapenet's on %d images; outputs within %.2g", batch, res.Version, len(res.Preds), d)
			}
		})
	}
}
