package onnximport_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
	"github.com/tapenet/tapenet/onnximport"
	"gorgonia.org/tensor"
)

// Default PyTorch exports whose operators become onnx-op layers
// (LayerNormalization's ReduceMean/Pow/Sqrt, GELU's Erf, a depthwise
// convolution, Hardswish, ReLU6's Clip, bilinear Resize) fine-tune: 30
// Adam steps towards fixed random targets (mean squared error) lower the
// loss, change the onnx-op layers' own weights, and the tuned model
// exports to ONNX, which ONNX Runtime runs to tapenet's outputs.
func TestFineTuneTorchExports(t *testing.T) {
	for _, name := range []string{"lngelu", "dwsep", "upbil", "upbilac", "convt"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "torch", name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := onnximport.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			in, outShape := m.Inputs()[0], m.OutputShape(0)
			if in.Batch != 0 {
				t.Fatalf("imported with a fixed batch %d: want a symbolic one", in.Batch)
			}
			var opParams []string
			for _, nl := range m.Layers() {
				if op, ok := nl.Layer.(*onnximport.Op); ok {
					for _, p := range op.Learned {
						opParams = append(opParams, nl.Name+"."+p.Name)
					}
				}
			}
			before := map[string][]float32{}
			for _, p := range opParams {
				before[p] = append([]float32(nil), m.Param(p).Data().([]float32)...)
			}
			const batch = 8
			rng := rand.New(rand.NewPCG(1, 2))
			randn := func(shape ...int) *tensor.Dense {
				v := make([]float32, shapeSize(shape))
				for k := range v {
					v[k] = float32(rng.NormFloat64())
				}
				return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
			}
			x := randn(append([]int{batch}, in.Shape...)...)
			y := randn(append([]int{batch}, outShape...)...)
			tr, err := train.NewTrainer(m, train.Config{Optimizer: &train.Adam{}, LearningRate: 0.01, Losses: []train.Loss{train.MeanSquaredError}, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			var first, last float32
			for step := range 30 {
				loss, err := tr.Step(x, y)
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				if step == 0 {
					first = loss
				}
				last = loss
			}
			if !(last < 0.97*first) {
				t.Errorf("loss %.4f after 30 steps, %.4f before", last, first)
			}
			for _, p := range opParams {
				if maxAbsDiff(before[p], m.Param(p).Data().([]float32)) == 0 {
					t.Errorf("onnx-op parameter %s unchanged by training", p)
				}
			}
			var buf bytes.Buffer
			if err := export.WriteONNX(&buf, m); err != nil {
				t.Fatalf("the tuned model does not export: %v", err)
			}
			outs, err := graph.NewPredictor(m).Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			got := outs[0].Data().([]float32)
			if _, ok := ortAvailable(); !ok {
				t.Logf("loss %.4f -> %.4f; onnx-op parameters %v", first, last, opParams)
				return
			}
			res, version := runORT(t, []ortJob{{Model: buf.Bytes(), Batch: batch, Inputs: []ortInput{{Name: "input", Data: x.Data().([]float32), Dims: x.Shape()}}}})
			if res[0].Err != "" {
				t.Fatalf("ORT: %s", res[0].Err)
			}
			d := maxAbsDiff(res[0].Outputs[0].Data, got)
			if d > 1e-5 {
				t.Errorf("ORT %s differs from tapenet on the tuned export by %g", version, d)
			}
			t.Logf("loss %.4f -> %.4f in 30 steps; onnx-op parameters %s; tuned export vs ORT %s: max |diff| %.3g", first, last, strings.Join(opParams, " "), version, d)
		})
	}
}

func shapeSize(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Training through an onnx-op without a gradient fails at the first step
// with one line naming the operator and the ONNX node, not deep inside
// Gorgonia.
func TestTrainThroughOpWithoutGradient(t *testing.T) {
	c := kernelCase{opset: 13, in: []typed{f32([]int{2, 1, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1)},
		nodes: []*onnx.NodeProto{
			node("Conv", []string{"x0", "w", "b"}, []string{"c"}, aInts("kernel_shape", 1, 1)),
			n1("InstanceNormalization", []string{"c", "s", "b2"}),
		},
		inits: []*onnx.TensorProto{floats("w", []int{2, 1, 1, 1}, 1, -1), floats("b", []int{2}, 0, 0.5), floats("s", []int{2}, 1, 2), floats("b2", []int{2}, 0, 0)},
	}
	m, err := onnximport.Decode(marshal(t, fixedModel(c)))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.NewTrainer(m, train.Config{Losses: []train.Loss{train.MeanSquaredError}})
	if err == nil {
		x := c.in[0].dense()
		_, err = tr.Step(x, tensor.New(tensor.WithShape(2, 2, 3, 3), tensor.Of(tensor.Float32)))
	}
	if err == nil || !strings.Contains(err.Error(), "InstanceNormalization") || !strings.Contains(err.Error(), "/InstanceNormalization_y") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want one line naming InstanceNormalization and its node", err)
	}
	t.Log(err)
}
