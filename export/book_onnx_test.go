package export_test

import (
	"path/filepath"
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/internal/testutil"
	"github.com/tapenet/tapenet/models"
)

// bookONNXImages test images are run through tapenet too.
const bookONNXImages = 1000

// The book's convnets, read from the numpy-made fixtures of
// models/testdata (book_convnets.py), export to ONNX (DeepConvNet's
// bookdropout layers as Mul by 0.5) and ONNX Runtime gives tapenet's
// classes on all 10,000 MNIST test images and tapenet's probabilities on
// the first 1,000.
func TestONNXBookConvNets(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 images through two convnets")
	}
	for _, test := range []struct {
		fixture string
		ops     []string
	}{
		{"book_simple_convnet", []string{"Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm", "Softmax"}},
		{"book_deep_convnet", []string{"Conv", "Relu", "Conv", "Relu", "MaxPool", "Conv", "Relu", "Conv", "Relu", "MaxPool",
			"Conv", "Relu", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Mul", "Gemm", "Mul", "Softmax"}},
	} {
		t.Run(test.fixture, func(t *testing.T) {
			td := filepath.Join("..", "models", "testdata")
			m, err := models.Open(filepath.Join(td, test.fixture+".pkl"))
			if err != nil {
				t.Fatal(err)
			}
			mp, model := onnxOf(t, m)
			var ops []string
			for _, n := range mp.Graph.Node {
				ops = append(ops, n.OpType)
			}
			if !slices.Equal(ops, test.ops) {
				t.Errorf("ops %v\nwant %v", ops, test.ops)
			}
			for _, n := range mp.Graph.Node {
				if n.OpType != "Mul" {
					continue
				}
				for _, init := range mp.Graph.Initializer {
					if init.Name == n.Input[1] && (len(init.Dims) != 0 || len(init.RawData) != 4 || !slices.Equal(init.RawData, f32bytes([]float32{0.5}))) {
						t.Errorf("%s multiplies by %v %x, want the scalar 0.5", n.Name, init.Dims, init.RawData)
					}
				}
			}

			dir := ortDir(t)
			want := testutil.ReadInts(t, filepath.Join(td, test.fixture+"_classes.txt"))
			x := mnistImages(t, len(want))
			// tapenet's own probabilities on the first bookONNXImages (its
			// classes on all 10,000 are models' test).
			outs, err := graph.NewPredictor(m).Predict(mnistImages(t, bookONNXImages))
			if err != nil {
				t.Fatal(err)
			}
			probs := outs[0].Data().([]float32)
			res := runORT(t, dir, model, 500, []string{export.ONNXInput}, []*tensor.Dense{x})
			got := res.Outputs[export.ONNXOutput]
			if !slices.Equal(got.Dims, []int{len(want), 10}) {
				t.Fatalf("ORT output dims %v", got.Dims)
			}
			same := 0
			for i, c := range argmaxRows(got.Data, 10) {
				if c == want[i] {
					same++
				}
			}
			if same != len(want) {
				t.Errorf("ORT %s classes equal the book's numpy classes on %d of %d images", res.Version, same, len(want))
			}
			d := maxAbsDiff(got.Data[:len(probs)], probs)
			if d > 1e-4 {
				t.Errorf("ORT %s probabilities differ from tapenet's by up to %g", res.Version, d)
			}
			t.Logf("ORT %s: classes equal the book's numpy code's on %d/%d images; probabilities within %.2g of tapenet's on the first %d", res.Version, same, len(want), d, bookONNXImages)
		})
	}
}
