package export_test

import (
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/models"
)

// The embedded resnet (a trained residual network: Conv, BatchNormalization,
// Relu, MaxPool, Add, Flatten, Gemm, Softmax) exported to ONNX gives in
// ONNX Runtime the classes and probabilities tapenet gives, on all 10,000
// MNIST test images.
func TestONNXEmbeddedResNetRuntime(t *testing.T) {
	dir := ortDir(t)
	m, err := models.Open("resnet")
	if err != nil {
		t.Fatal(err)
	}
	x := mnistImages(t, 10000)
	_, model := onnxOf(t, m)
	outs, err := graph.NewPredictor(m).Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	probs := outs[0].Data().([]float32)
	res := runORT(t, dir, model, 500, []string{export.ONNXInput}, []*tensor.Dense{x})
	got := res.Outputs[export.ONNXOutput]
	if !slices.Equal(got.Dims, []int{10000, 10}) {
		t.Fatalf("ORT output dims %v", got.Dims)
	}
	want, have := argmaxRows(probs, 10), argmaxRows(got.Data, 10)
	differ := 0
	for i := range want {
		if want[i] != have[i] {
			differ++
		}
	}
	if differ > 0 {
		t.Errorf("ORT %s classes differ from tapenet's on %d of 10,000 images", res.Version, differ)
	}
	if d := maxAbsDiff(got.Data, probs); d > 1e-4 {
		t.Errorf("ORT %s probabilities differ from tapenet's by up to %g", res.Version, d)
	} else {
		t.Logf("ORT %s: classes equal tapenet's on 10,000 test images; probabilities within %.2g", res.Version, d)
	}
}
