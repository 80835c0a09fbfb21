package export_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/advancedclimatesystems/gonnx"
	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
)

// spatialModel is a small convnet with every layer of graph's conv set;
// its batch-norm running statistics are made non-trivial.
func spatialModel(t *testing.T, withPoolAndNorm bool) *graph.Model {
	t.Helper()
	layers := []graph.Layer{&graph.Conv2D{Filters: 4, Kernel: 3, Stride: 2, Padding: 1}}
	if withPoolAndNorm {
		layers = append(layers, &graph.BatchNorm{}, graph.ReLU{}, &graph.MaxPool2D{Kernel: 3, Stride: 2, Padding: 1}, &graph.Dropout{Rate: 0.5})
	} else {
		layers = append(layers, graph.ReLU{})
	}
	layers = append(layers, graph.Flatten{}, &graph.Dense{Units: 10}, graph.Softmax{})
	m, err := graph.NewSequential([]int{1, 28, 28}, layers...)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(4)
	if withPoolAndNorm {
		for name, v := range map[string][]float32{
			"batchnorm1.weight": {1.5, 0.5, 1, 2}, "batchnorm1.bias": {0.1, -0.2, 0, 0.3},
			"batchnorm1.running_mean": {0.05, -0.1, 0.2, 0}, "batchnorm1.running_var": {0.5, 2, 1, 0.25},
		} {
			if err := m.SetParam(name, []int{4}, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	return m
}

func images(t *testing.T, n int) *datasets.Set {
	t.Helper()
	s, err := datasets.MNIST(datasets.Test, datasets.Options{Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	return s.Head(n)
}

func TestONNXSpatialStructure(t *testing.T) {
	var b bytes.Buffer
	if err := export.WriteONNX(&b, spatialModel(t, true)); err != nil {
		t.Fatal(err)
	}
	var mp onnx.ModelProto
	if err := proto.Unmarshal(b.Bytes(), &mp); err != nil {
		t.Fatal(err)
	}
	var ops []string
	attrs := map[string]map[string][]int64{}
	for _, n := range mp.Graph.Node {
		ops = append(ops, n.OpType)
		attrs[n.OpType] = map[string][]int64{}
		for _, a := range n.Attribute {
			attrs[n.OpType][a.Name] = append(a.Ints, a.I)
		}
	}
	// Dropout is elided; Dense sees a (N, 196) input, so adds no Flatten.
	want := []string{"Conv", "BatchNormalization", "Relu", "MaxPool", "Flatten", "Gemm", "Softmax"}
	if !slices.Equal(ops, want) {
		t.Fatalf("ops %v, want %v", ops, want)
	}
	if c := attrs["Conv"]; !slices.Equal(c["kernel_shape"], []int64{3, 3, 0}) || !slices.Equal(c["strides"], []int64{2, 2, 0}) || !slices.Equal(c["pads"], []int64{1, 1, 1, 1, 0}) {
		t.Errorf("Conv attributes %v", c)
	}
	if p := attrs["MaxPool"]; !slices.Equal(p["kernel_shape"], []int64{3, 3, 0}) || !slices.Equal(p["strides"], []int64{2, 2, 0}) || !slices.Equal(p["pads"], []int64{1, 1, 1, 1, 0}) {
		t.Errorf("MaxPool attributes %v", p)
	}
	names := map[string]bool{}
	for _, init := range mp.Graph.Initializer {
		names[init.Name] = true
	}
	for _, n := range []string{"conv2d1.weight", "conv2d1.bias", "batchnorm1.running_mean", "batchnorm1.running_var"} {
		if !names[n] {
			t.Errorf("initializer %s missing", n)
		}
	}
}

// gonnx (pure Go) has Conv and Flatten but no MaxPool or
// BatchNormalization: the model without them runs there.
func TestONNXSpatialGonnx(t *testing.T) {
	m := spatialModel(t, false)
	set := images(t, 20)
	want, err := graph.NewPredictor(m).Forward(set.X)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := export.WriteONNX(&b, m); err != nil {
		t.Fatal(err)
	}
	gm, err := gonnx.NewModelFromBytes(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(tensor.WithShape(20, 1, 28, 28), tensor.WithBacking(slices.Clone(set.X.Data().([]float32))))
	res, err := gm.Run(gonnx.Tensors{export.ONNXInput: x})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(res[export.ONNXOutput].Data().([]float32), want.Data().([]float32)); d > 1e-5 {
		t.Errorf("gonnx outputs differ from tapenet's by up to %g", d)
	}
}

const ort4d = `'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');
(async () => {
  const [model, input, ...dims] = process.argv.slice(1);
  const x = new Float32Array(new Uint8Array(fs.readFileSync(input)).buffer);
  const s = await ort.InferenceSession.create(model);
  const out = (await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, dims.map(Number)) }))[s.outputNames[0]];
  process.stdout.write(JSON.stringify({ ort_version: ort.env.versions.common, outputs: [Array.from(out.data)] }));
})().catch(e => { console.error(e); process.exit(1); });
`

// ONNX Runtime runs the full model (Conv, BatchNormalization, MaxPool with
// padding, Flatten) on (N, 1, 28, 28) images as tapenet does.
func TestONNXSpatialRuntime(t *testing.T) {
	dir := ortDir(t)
	m := spatialModel(t, true)
	set := images(t, 20)
	want, err := graph.NewPredictor(m).Forward(set.X)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	var b bytes.Buffer
	if err := export.WriteONNX(&b, m); err != nil {
		t.Fatal(err)
	}
	model, input := filepath.Join(tmp, "conv.onnx"), filepath.Join(tmp, "x.f32")
	if err := os.WriteFile(model, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(input, f32bytes(set.X.Data().([]float32)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "-e", ort4d, model, input, "20", "1", "28", "28")
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v: %s", err, stderr.String())
	}
	var res ortResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(res.Outputs[0], want.Data().([]float32)); d > 1e-5 {
		t.Errorf("ORT %s outputs differ from tapenet's by up to %g", res.Version, d)
	} else {
		t.Logf("ORT %s matches tapenet within %.2g", res.Version, d)
	}
}
