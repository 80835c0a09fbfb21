package export_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
)

// nDAGImages MNIST test images (the first ones) run through the residual
// convnet in tapenet and in ONNX Runtime.
const nDAGImages = 1000

var mnist4D = sync.OnceValues(func() (*datasets.Set, error) {
	return datasets.MNIST(datasets.Test, datasets.Options{Normalize: true})
})

// mnistImages returns the first n MNIST test images, (n, 1, 28, 28), in a
// tensor of their own.
func mnistImages(t *testing.T, n int) *tensor.Dense {
	t.Helper()
	set, err := mnist4D()
	if err != nil {
		t.Fatal(err)
	}
	return tensor.New(tensor.WithShape(n, 1, 28, 28), tensor.WithBacking(slices.Clone(set.Data()[:n*784])))
}

// setBatchNormStats gives every batch-norm layer of m seeded scales,
// shifts and running statistics far from the defaults (1, 0, 0, 1), so the
// export of inference-mode batch norm is tested.
func setBatchNormStats(t *testing.T, m *graph.Model, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	uniform := func(lo, hi float64) float32 { return float32(lo + (hi-lo)*rng.Float64()) }
	for _, nl := range m.Layers() {
		if nl.Layer.Kind() != "batchnorm" {
			continue
		}
		for _, p := range m.LayerParams(nl.Name) {
			shape := []int(m.Param(p).Shape())
			v := make([]float32, m.Param(p).Shape().TotalSize())
			for i := range v {
				switch {
				case strings.HasSuffix(p, ".weight"):
					v[i] = uniform(0.5, 1.5)
				case strings.HasSuffix(p, ".bias"):
					v[i] = uniform(-0.3, 0.3)
				case strings.HasSuffix(p, ".running_mean"):
					v[i] = uniform(-0.2, 0.2)
				case strings.HasSuffix(p, ".running_var"):
					v[i] = uniform(0.25, 2)
				}
			}
			if err := m.SetParam(p, shape, v); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// residualConvNet is a small residual convnet declared with the functional
// API: a stem (conv, batch norm, ReLU, max pool), a residual block of two
// convs whose output is added to the stem's, then average pooling with
// padding, global average pooling, batch norm of the pooled features, a
// dense layer and softmax. Weights are random (seeded), batch norm
// statistics set by setBatchNormStats, except the head's: it standardises
// the pooled features with their mean and variance over x, so that the
// untrained model still tells images apart (without it, one class wins
// on every image and comparing classes would prove little).
func residualConvNet(t *testing.T, x *tensor.Dense) *graph.Model {
	t.Helper()
	in := graph.Input("image", 1, 28, 28)
	h := graph.Apply(&graph.Conv2D{Filters: 8, Kernel: 3, Padding: 1}, in)
	h = graph.Apply(graph.ReLU{}, graph.Apply(&graph.BatchNorm{}, h))
	stem := graph.Apply(&graph.MaxPool2D{Kernel: 2}, h) // (8, 14, 14)
	r := graph.Apply(&graph.Conv2D{Filters: 8, Kernel: 3, Padding: 1}, stem)
	r = graph.Apply(graph.ReLU{}, graph.Apply(&graph.BatchNorm{}, r))
	r = graph.Apply(&graph.BatchNorm{}, graph.Apply(&graph.Conv2D{Filters: 8, Kernel: 3, Padding: 1}, r))
	y := graph.Apply(graph.ReLU{}, graph.Apply(graph.Add{}, stem, r))
	y = graph.Apply(&graph.AvgPool2D{Kernel: 3, Stride: 2, Padding: 1}, y) // (8, 7, 7)
	features := graph.Apply(graph.GlobalAvgPool2D{}, y)                    // (8)
	head := &graph.BatchNorm{}
	out := graph.Apply(graph.Softmax{}, graph.Apply(&graph.Dense{Units: 10}, graph.ApplyNamed("head", head, features)))
	m, err := graph.NewModel([]*graph.Tensor{in}, []*graph.Tensor{out})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(21)
	setBatchNormStats(t, m, 22)
	// The same layers up to the features: a model of its own, given m's
	// parameters (its layers are named alike, being met in the same order).
	fm, err := graph.NewModel([]*graph.Tensor{in}, []*graph.Tensor{features})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range fm.ParamNames() {
		p := m.Param(name)
		if p == nil {
			t.Fatalf("feature model parameter %s not in the model", name)
		}
		if err := fm.SetParam(name, p.Shape(), p.Data().([]float32)); err != nil {
			t.Fatal(err)
		}
	}
	f, err := graph.NewPredictor(fm).Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	c := f.Shape()[1]
	mean, variance := make([]float32, c), make([]float32, c)
	fd := f.Data().([]float32)
	n := len(fd) / c
	for j := range c {
		var s, s2 float64
		for i := range n {
			v := float64(fd[i*c+j])
			s += v
			s2 += v * v
		}
		mu := s / float64(n)
		mean[j], variance[j] = float32(mu), float32(s2/float64(n)-mu*mu)
	}
	ones, zeros := make([]float32, c), make([]float32, c)
	for j := range ones {
		ones[j] = 2 // sharper probabilities than N(0, 1) logits give
	}
	for name, v := range map[string][]float32{"head.weight": ones, "head.bias": zeros, "head.running_mean": mean, "head.running_var": variance} {
		if err := m.SetParam(name, []int{c}, v); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// twoInputModel has inputs "image" (1, 28, 28) and "flat" (784), reshaped
// to an image; one conv layer applied to both (shared weights); the two
// joined by Multiply (three inputs), Add (three inputs) and Concat along
// channels and along width; and three outputs: class probabilities, a
// (2, 2) reshape of pooled features, and those features (4), which also
// feed the reshape.
func twoInputModel(t *testing.T) *graph.Model {
	t.Helper()
	img := graph.Input("image", 1, 28, 28)
	flat := graph.Input("flat", 784)
	conv := &graph.Conv2D{Filters: 4, Kernel: 3, Stride: 2, Padding: 1}
	ha := graph.Apply(graph.ReLU{}, graph.Apply(conv, img))                                                           // (4, 14, 14)
	hb := graph.Apply(graph.Sigmoid{}, graph.Apply(conv, graph.Apply(&graph.Reshape{Shape: []int{1, 28, 28}}, flat))) // (4, 14, 14)
	g := graph.Apply(graph.Multiply{}, ha, hb, hb)
	s := graph.Apply(graph.Add{}, ha, hb, g)
	c := graph.Apply(&graph.Concat{}, ha, g, s)                                            // (12, 14, 14)
	p := graph.Apply(&graph.AvgPool2D{}, c)                                                // (12, 7, 7)
	f := graph.Apply(&graph.Reshape{Shape: []int{-1}}, p)                                  // (588)
	cls := graph.Apply(graph.Softmax{}, graph.Apply(&graph.Dense{Units: 10}, f))           // (10)
	w := graph.Apply(graph.GlobalAvgPool2D{}, graph.Apply(&graph.Concat{Axis: -1}, ha, g)) // (4)
	out2 := graph.Apply(&graph.Reshape{Shape: []int{2, -1}}, w)                            // (2, 2)
	m, err := graph.NewModel([]*graph.Tensor{img, flat}, []*graph.Tensor{cls, out2, w})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(31)
	return m
}

// writeF32 writes a tensor's values as raw little-endian float32.
func writeF32(t *testing.T, path string, x *tensor.Dense) {
	t.Helper()
	if err := os.WriteFile(path, f32bytes(x.Data().([]float32)), 0o644); err != nil {
		t.Fatal(err)
	}
}

type ortTensor struct {
	Dims []int     `json:"dims"`
	Data []float32 `json:"data"`
}

type ortRun struct {
	Version     string               `json:"ort_version"`
	BatchSizes  []int                `json:"batch_sizes"`
	OutputNames []string             `json:"output_names"`
	Outputs     map[string]ortTensor `json:"outputs"`
}

// runORT runs an ONNX model in ONNX Runtime on named inputs, in batches of
// batch samples (testdata/ort/run_inputs.js).
func runORT(t *testing.T, dir string, model []byte, batch int, names []string, xs []*tensor.Dense) ortRun {
	t.Helper()
	tmp := t.TempDir()
	path := filepath.Join(tmp, "model.onnx")
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs(filepath.Join("testdata", "ort", "run_inputs.js"))
	args := []string{script, path, fmt.Sprint(batch)}
	for i, x := range xs {
		file := filepath.Join(tmp, fmt.Sprintf("x%d", i))
		dims := strings.Trim(strings.ReplaceAll(fmt.Sprint([]int(x.Shape())), " ", ","), "[]")
		if ids, ok := x.Data().([]int64); ok {
			raw := make([]byte, 0, 8*len(ids))
			for _, v := range ids {
				raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
			}
			if err := os.WriteFile(file, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			dims += ":int64"
		} else if bs, ok := x.Data().([]bool); ok {
			raw := make([]byte, len(bs))
			for i, v := range bs {
				if v {
					raw[i] = 1
				}
			}
			if err := os.WriteFile(file, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			dims += ":bool"
		} else {
			writeF32(t, file, x)
		}
		args = append(args, names[i]+"="+file+":"+dims)
	}
	cmd := exec.Command("node", args...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node run_inputs.js: %v: %s", err, stderr.String())
	}
	var res ortRun
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ORT output: %v", err)
	}
	return res
}

// onnxOf parses the ONNX form of m.
func onnxOf(t *testing.T, m *graph.Model) (*onnx.ModelProto, []byte) {
	t.Helper()
	b := onnxBytes(t, m)
	var mp onnx.ModelProto
	if err := proto.Unmarshal(b, &mp); err != nil {
		t.Fatal(err)
	}
	return &mp, b
}

// The residual convnet (Conv, BatchNormalization with non-trivial
// statistics, Relu, MaxPool, Add, AveragePool with padding,
// GlobalAveragePool, Gemm, Softmax) gives in ONNX Runtime the classes and
// probabilities tapenet gives on nDAGImages real MNIST images, run in
// batches of 128.
func TestONNXResidualRuntime(t *testing.T) {
	x := mnistImages(t, nDAGImages)
	m := residualConvNet(t, x)
	mp, model := onnxOf(t, m)
	var ops []string
	for _, n := range mp.Graph.Node {
		ops = append(ops, n.OpType)
	}
	want := []string{"Conv", "BatchNormalization", "Relu", "MaxPool", "Conv", "BatchNormalization", "Relu", "Conv", "BatchNormalization", "Add", "Relu", "AveragePool", "GlobalAveragePool", "Flatten", "BatchNormalization", "Gemm", "Softmax"}
	if !slices.Equal(ops, want) {
		t.Errorf("ops %v, want %v", ops, want)
	}
	add := mp.Graph.Node[slices.Index(ops, "Add")]
	if !slices.Equal(add.Input, []string{"maxpool2d1.out", "batchnorm3.out"}) {
		t.Errorf("Add inputs %v, want the stem's and the block's outputs", add.Input)
	}
	for _, a := range mp.Graph.Node[slices.Index(ops, "AveragePool")].Attribute {
		if a.Name == "count_include_pad" && a.I != 1 {
			t.Errorf("AveragePool count_include_pad %d", a.I)
		}
	}

	dir := ortDir(t)
	outs, err := graph.NewPredictor(m).Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	probs := outs[0].Data().([]float32)
	res := runORT(t, dir, model, 128, []string{export.ONNXInput}, []*tensor.Dense{x})
	got := res.Outputs[export.ONNXOutput]
	if !slices.Equal(got.Dims, []int{nDAGImages, 10}) {
		t.Fatalf("ORT output dims %v", got.Dims)
	}
	if !slices.Equal(argmaxRows(got.Data, 10), argmaxRows(probs, 10)) {
		t.Errorf("ORT %s classes differ from tapenet's", res.Version)
	}
	d := maxAbsDiff(got.Data, probs)
	if d > 1e-4 {
		t.Errorf("ORT %s probabilities differ from tapenet's by up to %g", res.Version, d)
	}
	classes := map[int]int{}
	for _, c := range argmaxRows(probs, 10) {
		classes[c]++
	}
	if len(classes) < 5 {
		t.Errorf("the model predicts %d distinct classes: too few for the comparison to mean much", len(classes))
	}
	t.Logf("ORT %s: classes equal tapenet's on %d MNIST test images (batches %v, %d distinct classes); probabilities within %.2g; smallest top-2 margin %.3g",
		res.Version, nDAGImages, res.BatchSizes[:2], len(classes), d, minMargin(probs, 10))
}

// minMargin returns the smallest difference between the two largest
// values of a row: how close the classification came to a tie.
func minMargin(v []float32, classes int) float64 {
	m := math.Inf(1)
	for r := 0; r*classes < len(v); r++ {
		row := slices.Clone(v[r*classes : (r+1)*classes])
		slices.Sort(row)
		m = min(m, float64(row[classes-1]-row[classes-2]))
	}
	return m
}

// int64Initializer returns the values of an INT64 initializer, or false.
func int64Initializer(g *onnx.GraphProto, name string) ([]int64, bool) {
	for _, in := range g.Initializer {
		if in.Name == name && in.DataType == int32(onnx.TensorProto_INT64) && len(in.Dims) == 1 && len(in.RawData) == 8*int(in.Dims[0]) {
			v := make([]int64, in.Dims[0])
			for i := range v {
				v[i] = int64(binary.LittleEndian.Uint64(in.RawData[8*i:]))
			}
			return v, true
		}
	}
	return nil, false
}

// The two-input model's ONNX graph: inputs named after the model's,
// outputs after their nodes, one initializer for the shared conv used by
// two Conv nodes, Reshape shapes as INT64 initializers with 0 for the
// batch, Concat on axis per-sample + 1, Add and Mul chained.
func TestONNXTwoInputStructure(t *testing.T) {
	m := twoInputModel(t)
	mp, _ := onnxOf(t, m)
	g := mp.Graph
	var ins, outs []string
	for _, v := range g.Input {
		ins = append(ins, v.Name)
	}
	for _, v := range g.Output {
		outs = append(outs, v.Name)
	}
	if !slices.Equal(ins, []string{"image", "flat"}) || !slices.Equal(outs, m.Outputs()) {
		t.Errorf("graph inputs %v outputs %v, want [image flat] and %v", ins, outs, m.Outputs())
	}
	if want := []string{"softmax1", "reshape3", "globalavgpool2d1"}; !slices.Equal(m.Outputs(), want) {
		t.Errorf("model outputs %v, want %v (names the test relies on)", m.Outputs(), want)
	}
	inits := map[string]int{}
	for _, in := range g.Initializer {
		inits[in.Name]++
	}
	convs := 0
	byOut := map[string]*onnx.NodeProto{}
	for _, n := range g.Node {
		byOut[n.Output[0]] = n
		if n.OpType == "Conv" {
			convs++
			if n.Input[1] != "conv2d1.weight" || n.Input[2] != "conv2d1.bias" {
				t.Errorf("Conv %s computes with %v, want the shared conv2d1 parameters", n.Name, n.Input[1:])
			}
		}
	}
	if convs != 2 || inits["conv2d1.weight"] != 1 || inits["conv2d1.bias"] != 1 {
		t.Errorf("%d Conv nodes, initializers %v: want 2 nodes sharing one weight and bias", convs, inits)
	}
	if len(g.Initializer) != len(inits) {
		t.Errorf("initializer names repeat: %v", inits)
	}
	names := map[string]bool{}
	for _, n := range g.Node {
		if names[n.Name] {
			t.Errorf("node name %q repeated", n.Name)
		}
		names[n.Name] = true
	}
	for _, tc := range []struct {
		node  string
		shape []int64
	}{{"reshape1", []int64{0, 1, 28, 28}}, {"reshape2", []int64{0, 588}}, {"reshape3", []int64{0, 2, 2}}} {
		n := byOut[tc.node+".out"]
		if tc.node == "reshape3" { // an output: named after its node
			n = byOut["reshape3"]
		}
		if n == nil || n.OpType != "Reshape" {
			t.Errorf("no Reshape node for %s", tc.node)
			continue
		}
		if v, ok := int64Initializer(g, n.Input[1]); !ok || !slices.Equal(v, tc.shape) {
			t.Errorf("%s: shape initializer %s = %v, %v; want INT64 %v", tc.node, n.Input[1], v, ok, tc.shape)
		}
	}
	axis := func(n *onnx.NodeProto) int64 {
		for _, a := range n.Attribute {
			if a.Name == "axis" {
				return a.I
			}
		}
		return -100
	}
	if c := byOut["concat1.out"]; c == nil || c.OpType != "Concat" || len(c.Input) != 3 || axis(c) != 1 {
		t.Errorf("concat1: %v", c)
	}
	if c := byOut["concat2.out"]; c == nil || c.OpType != "Concat" || len(c.Input) != 2 || axis(c) != 3 {
		t.Errorf("concat2 (axis -1 of (4, 14, 28)): %v", c)
	}
	// Three-input merges: two chained binary ops.
	count := map[string]int{}
	for _, n := range g.Node {
		count[n.OpType]++
	}
	if count["Mul"] != 2 || count["Add"] != 2 {
		t.Errorf("ops %v: want 2 Mul and 2 Add", count)
	}
	// The output also consumed by the reshape keeps its output name.
	if r := byOut["reshape3"]; r == nil || r.Input[0] != "globalavgpool2d1" {
		t.Errorf("reshape3 reads %v, want the output globalavgpool2d1", r)
	}
}

// The two-input, three-output model runs in ONNX Runtime on real MNIST
// images ("image": image i, "flat": image i+1 flattened) and every output
// equals tapenet's.
func TestONNXTwoInputRuntime(t *testing.T) {
	dir := ortDir(t)
	m := twoInputModel(t)
	const n = 300
	all := mnistImages(t, n+1)
	img := tensor.New(tensor.WithShape(n, 1, 28, 28), tensor.WithBacking(slices.Clone(all.Data().([]float32)[:n*784])))
	flat := tensor.New(tensor.WithShape(n, 784), tensor.WithBacking(slices.Clone(all.Data().([]float32)[784:])))
	want, err := graph.NewPredictor(m).Predict(img, flat)
	if err != nil {
		t.Fatal(err)
	}
	res := runORT(t, dir, onnxBytes(t, m), 64, []string{"image", "flat"}, []*tensor.Dense{img, flat})
	if !slices.Equal(res.OutputNames, m.Outputs()) {
		t.Errorf("ORT outputs %v, want %v", res.OutputNames, m.Outputs())
	}
	for i, name := range m.Outputs() {
		got, ok := res.Outputs[name]
		if !ok {
			t.Errorf("ORT gave no output %s", name)
			continue
		}
		if !slices.Equal(got.Dims, []int(want[i].Shape())) {
			t.Errorf("output %s: ORT dims %v, tapenet %v", name, got.Dims, want[i].Shape())
			continue
		}
		w := want[i].Data().([]float32)
		d := maxAbsDiff(got.Data, w)
		if d > 1e-4 {
			t.Errorf("output %s: ORT %s differs from tapenet by up to %g", name, res.Version, d)
		}
		if name == "softmax1" && !slices.Equal(argmaxRows(got.Data, 10), argmaxRows(w, 10)) {
			t.Errorf("output %s: classes differ", name)
		}
		t.Logf("output %s %v: ORT %s within %.2g of tapenet on %d image pairs", name, got.Dims, res.Version, d, n)
	}
}

// Names the ONNX graph cannot give two tensors, and outputs that are model
// inputs, are errors, not panics or wrong graphs; merges of one input pass
// it through.
func TestONNXDAGEdgeCases(t *testing.T) {
	x := graph.Input("x", 3)
	fc := graph.Apply(&graph.Dense{Units: 3}, x)
	asOutput, err := graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{fc, x})
	if err != nil {
		t.Skipf("graph refuses an input as an output (%v): nothing to check", err)
	}
	if err := export.WriteONNX(&bytes.Buffer{}, asOutput); err == nil || !strings.Contains(err.Error(), `output "x"`) {
		t.Errorf("input as output: error %v", err)
	}

	clash := graph.Input("fc1.weight", 3)
	m, err := graph.NewModel([]*graph.Tensor{clash, x}, []*graph.Tensor{graph.Apply(graph.Add{}, graph.Apply(&graph.Dense{Units: 3}, clash), x)})
	if err != nil {
		t.Fatal(err)
	}
	if err := export.WriteONNX(&bytes.Buffer{}, m); err == nil || !strings.Contains(err.Error(), `"fc1.weight"`) {
		t.Errorf("input named like a parameter: error %v", err)
	}

	one := graph.Apply(graph.Add{}, graph.Apply(&graph.Concat{}, graph.Apply(graph.Multiply{}, x)))
	m, err = graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{graph.Apply(graph.ReLU{}, one)})
	if err != nil {
		t.Fatal(err)
	}
	mp, _ := onnxOf(t, m)
	if n := mp.Graph.Node; len(n) != 1 || n[0].OpType != "Relu" || n[0].Input[0] != "input" || n[0].Output[0] != "output" {
		t.Errorf("merges of one input: nodes %v, want one Relu from input to output", n)
	}
}
