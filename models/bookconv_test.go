package models_test

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"github.com/tapenet/tapenet/internal/testutil"
	"github.com/tapenet/tapenet/models"
	"github.com/tapenet/tapenet/numpyio"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// zeros returns an array of the given shape.
func zeros(shape ...int) numpyio.Array {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return numpyio.Array{Shape: shape, Data: make([]float32, n)}
}

// bookArrays returns arrays of the shapes of the book's pickles:
// ch07/params.pkl (simple) or ch08/deep_convnet_params.pkl (deep).
func bookArrays(deep bool) map[string]numpyio.Array {
	if !deep {
		return map[string]numpyio.Array{
			"W1": zeros(30, 1, 5, 5), "b1": zeros(30),
			"W2": zeros(4320, 100), "b2": zeros(100),
			"W3": zeros(100, 10), "b3": zeros(10),
		}
	}
	a := map[string]numpyio.Array{}
	for i, s := range [][]int{{16, 1, 3, 3}, {16, 16, 3, 3}, {32, 16, 3, 3}, {32, 32, 3, 3}, {64, 32, 3, 3}, {64, 64, 3, 3}, {1024, 50}, {50, 10}} {
		n := string(rune('1' + i))
		a["W"+n] = zeros(s...)
		out := s[0]
		if len(s) == 2 {
			out = s[1]
		}
		a["b"+n] = zeros(out)
	}
	return a
}

func layerKinds(m *graph.Model) string {
	var kinds []string
	for _, n := range m.Nodes() {
		kinds = append(kinds, m.Layer(n.Layer).Kind())
	}
	return strings.Join(kinds, " ")
}

func specJSON(t *testing.T, m *graph.Model) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The two architectures have the book's layers, output shapes (DeepConvNet's
// fourth convolution pads by 2: 14×14 becomes 16×16) and parameter counts,
// and the arrays of the book's pickles, with their exact shapes, build the
// same models.
func TestBookConvNetArchitectures(t *testing.T) {
	for _, test := range []struct {
		name   string
		build  func() (*graph.Model, error)
		deep   bool
		params int
		kinds  string
		shapes [][]int
	}{
		{
			name: "SimpleConvNet", build: models.BookSimpleConvNet, params: 433890,
			kinds:  "conv2d relu maxpool2d flatten dense relu dense softmax",
			shapes: [][]int{{30, 24, 24}, {30, 24, 24}, {30, 12, 12}, {4320}, {100}, {100}, {10}, {10}},
		},
		{
			name: "DeepConvNet", build: models.BookDeepConvNet, deep: true, params: 123552,
			kinds: "conv2d relu conv2d relu maxpool2d conv2d relu conv2d relu maxpool2d conv2d relu conv2d relu maxpool2d " +
				"flatten dense relu bookdropout dense bookdropout softmax",
			shapes: [][]int{
				{16, 28, 28}, {16, 28, 28}, {16, 28, 28}, {16, 28, 28}, {16, 14, 14},
				{32, 14, 14}, {32, 14, 14}, {32, 16, 16}, {32, 16, 16}, {32, 8, 8},
				{64, 8, 8}, {64, 8, 8}, {64, 8, 8}, {64, 8, 8}, {64, 4, 4},
				{1024}, {50}, {50}, {50}, {10}, {10}, {10},
			},
		},
	} {
		t.Run(test.name, func(t *testing.T) {
			m, err := test.build()
			if err != nil {
				t.Fatal(err)
			}
			if n := m.ParamCount(); n != test.params {
				t.Errorf("%d parameters, want %d", n, test.params)
			}
			if got := layerKinds(m); got != test.kinds {
				t.Errorf("layers %s\nwant   %s", got, test.kinds)
			}
			var shapes [][]int
			for _, n := range m.Nodes() {
				shapes = append(shapes, n.Shape)
			}
			if !slices.EqualFunc(shapes, test.shapes, slices.Equal) {
				t.Errorf("output shapes %v\nwant %v", shapes, test.shapes)
			}
			fromFile, err := models.FromBook(bookArrays(test.deep), "sigmoid")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := specJSON(t, fromFile), specJSON(t, m); got != want {
				t.Errorf("FromBook of the book's shapes gives\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// Init draws the book's initial weights: N(0, 0.01²) for SimpleConvNet
// (weight_init_std), He N(0, 2/fan-in) for DeepConvNet, zero biases.
func TestBookConvNetInit(t *testing.T) {
	simple, err := models.BookSimpleConvNet()
	if err != nil {
		t.Fatal(err)
	}
	deep, err := models.BookDeepConvNet()
	if err != nil {
		t.Fatal(err)
	}
	for _, test := range []struct {
		m     *graph.Model
		param string
		std   float64
	}{
		{simple, "conv2d1.weight", 0.01},
		{simple, "fc1.weight", 0.01},
		{simple, "fc2.weight", 0.01},
		{simple, "fc2.bias", 0},
		{deep, "conv2d1.weight", math.Sqrt(2.0 / 9)},
		{deep, "conv2d4.weight", math.Sqrt(2.0 / (32 * 9))},
		{deep, "conv2d6.weight", math.Sqrt(2.0 / (64 * 9))},
		{deep, "fc1.weight", math.Sqrt(2.0 / 1024)},
		{deep, "fc2.weight", math.Sqrt(2.0 / 50)},
		{deep, "conv2d6.bias", 0},
	} {
		test.m.Init(1)
		v := test.m.Param(test.param).Data().([]float32)
		var sq float64
		for _, x := range v {
			sq += float64(x) * float64(x)
		}
		std := math.Sqrt(sq / float64(len(v)))
		if tol := 4 * test.std / math.Sqrt(float64(2*len(v))); math.Abs(std-test.std) > tol || test.std == 0 && std != 0 {
			t.Errorf("%s: std %.4g, want %.4g", test.param, std, test.std)
		}
	}
}

// Arrays that do not fit the book's convnets are refused with an error
// that names the array.
func TestFromBookConvErrors(t *testing.T) {
	with := func(deep bool, name string, a numpyio.Array) map[string]numpyio.Array {
		m := bookArrays(deep)
		m[name] = a
		return m
	}
	without := func(deep bool, name string) map[string]numpyio.Array {
		m := bookArrays(deep)
		delete(m, name)
		return m
	}
	for _, test := range []struct {
		name   string
		arrays map[string]numpyio.Array
		want   string
	}{
		{"too few layers", map[string]numpyio.Array{"W1": zeros(30, 1, 5, 5), "b1": zeros(30), "W2": zeros(4320, 10), "b2": zeros(10)}, "SimpleConvNet has 3"},
		{"far too many layers", with(false, "W999999999999", zeros(1)), "SimpleConvNet has 3"},
		{"missing bias", without(true, "b5"), "b5 is missing"},
		{"missing weight", without(true, "W7"), "W7 is missing"},
		{"conv bias", with(false, "b1", zeros(20)), "b1 has shape [20], want (30)"},
		{"dense bias", with(true, "b8", zeros(50)), "b8 has shape [50], want (10)"},
		{"3-D kernel", with(true, "W2", zeros(16, 16, 9)), "W2 has shape [16 16 9]"},
		{"not square", with(true, "W3", zeros(32, 16, 3, 2)), "square"},
		{"channels", with(true, "W3", zeros(32, 8, 3, 3)), "W3 has shape [32 8 3 3]: 8 input channels, but the layer before gives 16"},
		{"W2 rows", with(false, "W2", zeros(4000, 100)), "30×12×12 = 4320"},
		{"W7 rows (pad 2 ignored)", with(true, "W7", zeros(64*3*3, 50)), "64×4×4 = 1024"},
		{"kernel too big", with(false, "W1", zeros(30, 1, 29, 29)), "does not fit"},
		{"dense chain", with(true, "W8", zeros(40, 10)), "W8 has shape [40 10], but the previous layer gives 50"},
		{"dense is a kernel", with(false, "W3", zeros(100, 10, 1, 1)), "W3 has shape [100 10 1 1], want a matrix"},
	} {
		t.Run(test.name, func(t *testing.T) {
			_, err := models.FromBook(test.arrays, "relu")
			if err == nil || !strings.Contains(err.Error(), test.want) {
				t.Errorf("FromBook: %v, want an error containing %q", err, test.want)
			}
		})
	}
}

// The fixtures of models/testdata/book_convnets.py: the book's SimpleConvNet
// and DeepConvNet, trained briefly by the book's numpy code and saved as its
// save_params does (protocol-4 pickles of float64 arrays). tapenet's classes
// equal those of the book's predict(x, train_flg=False), run by numpy in
// float64, on all 10,000 MNIST test images, and its probabilities
// (softmax of predict) equal numpy's on the first 100 within float32
// rounding.
func TestBookConvNetsMatchNumpy(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 images through two convnets")
	}
	set, err := datasets.MNIST(datasets.Test, datasets.Options{Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, test := range []struct {
		fixture string
		kinds   string
	}{
		{"book_simple_convnet", "conv2d relu maxpool2d flatten dense relu dense softmax"},
		{"book_deep_convnet", "conv2d relu conv2d relu maxpool2d conv2d relu conv2d relu maxpool2d conv2d relu conv2d relu maxpool2d " +
			"flatten dense relu bookdropout dense bookdropout softmax"},
	} {
		t.Run(test.fixture, func(t *testing.T) {
			m, err := models.Open(filepath.Join("testdata", test.fixture+".pkl"), models.OpenOptions{Activation: "sigmoid"})
			if err != nil {
				t.Fatal(err)
			}
			if got := layerKinds(m); got != test.kinds {
				t.Fatalf("layers %s, want %s", got, test.kinds)
			}
			want := testutil.ReadInts(t, filepath.Join("testdata", test.fixture+"_classes.txt"))
			if len(want) != set.Len() {
				t.Fatalf("%d numpy classes for %d images", len(want), set.Len())
			}
			got, err := graph.NewPredictor(m).Classify(set.X, 100)
			if err != nil {
				t.Fatal(err)
			}
			same, distinct := 0, map[int]bool{}
			for i := range want {
				if got[i] == want[i] {
					same++
				}
				distinct[want[i]] = true
			}
			if same != len(want) {
				t.Errorf("classes equal numpy's on %d of %d images", same, len(want))
			}
			if len(distinct) < 10 {
				t.Errorf("the fixture predicts %d distinct classes: too few for the comparison to mean much", len(distinct))
			}

			f, err := os.Open(filepath.Join("testdata", test.fixture+"_probs.npy"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			wantP, err := numpyio.ReadNPY(f)
			if err != nil {
				t.Fatal(err)
			}
			n := wantP.Shape[0]
			p, err := graph.NewPredictor(m).Forward(set.Head(n).X)
			if err != nil {
				t.Fatal(err)
			}
			d := 0.0
			for i, v := range p.Data().([]float32) {
				d = max(d, math.Abs(float64(v-wantP.Data[i])))
			}
			if d > 1e-5 {
				t.Errorf("probabilities of the first %d images differ from numpy's by up to %g", n, d)
			}
			if strings.Contains(test.kinds, "bookdropout") {
				// The comparison sees the book's test-time dropout: with
				// graph.Dropout (inverted, identity in inference) instead,
				// the probabilities are far off.
				inv := invertedDropout(t, m)
				q, err := graph.NewPredictor(inv).Forward(set.Head(n).X)
				if err != nil {
					t.Fatal(err)
				}
				dq := 0.0
				for i, v := range q.Data().([]float32) {
					dq = max(dq, math.Abs(float64(v-wantP.Data[i])))
				}
				if dq < 0.01 {
					t.Errorf("with inverted dropout the probabilities differ from numpy's by only %g: the fixture does not test the book's dropout", dq)
				}
				t.Logf("(with inverted dropout instead of the book's they would differ by up to %.2g)", dq)
			}
			t.Logf("classes equal the book's numpy code's on %d/%d images; probabilities of the first %d within %.2g", same, len(want), n, d)
		})
	}
}

// invertedDropout returns a copy of m whose bookdropout layers are
// graph.Dropout layers of the same rate.
func invertedDropout(t *testing.T, m *graph.Model) *graph.Model {
	t.Helper()
	spec := strings.ReplaceAll(specJSON(t, m), `"kind":"bookdropout"`, `"kind":"dropout"`)
	inv, err := graph.FromSpec([]byte(spec), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range m.ParamNames() {
		p := m.Param(name)
		if err := inv.SetParam(name, p.Shape(), p.Data().([]float32)); err != nil {
			t.Fatal(err)
		}
	}
	return inv
}

// BookDropout multiplies by exactly 1 - Rate in inference; in training it
// multiplies by a 0/1 mask (no rescaling) keeping about 1 - Rate of the
// values, the same masks for the same seed.
func TestBookDropout(t *testing.T) {
	x := make([]float32, 4000)
	for i := range x {
		x[i] = float32(i%7) - 2.5
	}
	input := func() *tensor.Dense {
		return tensor.New(tensor.WithShape(10, 400), tensor.WithBacking(slices.Clone(x)))
	}
	for _, rate := range []float64{0, 0.25, 0.5} {
		m, err := graph.NewSequential([]int{400}, &models.BookDropout{Rate: rate})
		if err != nil {
			t.Fatal(err)
		}
		out, err := graph.NewPredictor(m).Forward(input())
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range out.Data().([]float32) {
			if want := x[i] * float32(1-rate); v != want {
				t.Fatalf("rate %v: inference gives %v for %v, want %v", rate, v, x[i], want)
			}
		}
		train := func(seed uint64) []float32 {
			m, err := graph.NewSequential([]int{400}, &models.BookDropout{Rate: rate, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			p, err := m.BuildWith(10, graph.BuildOptions{Training: true})
			if err != nil {
				t.Fatal(err)
			}
			vm := gorgonia.NewTapeMachine(p.Graph)
			defer vm.Close()
			if err := gorgonia.Let(p.Input(), input()); err != nil {
				t.Fatal(err)
			}
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			return slices.Clone(p.Output().Value().Data().([]float32))
		}
		a, b, c := train(1), train(1), train(2)
		if !slices.Equal(a, b) {
			t.Errorf("rate %v: one seed gave two masks", rate)
		}
		if rate > 0 && slices.Equal(a, c) {
			t.Errorf("rate %v: two seeds gave one mask", rate)
		}
		kept, nonzero := 0, 0
		for i, v := range a {
			if x[i] == 0 {
				continue
			}
			nonzero++
			switch v {
			case x[i]:
				kept++
			case 0:
			default:
				t.Fatalf("rate %v: training gives %v for %v, want it or 0", rate, v, x[i])
			}
		}
		if frac := float64(kept) / float64(nonzero); math.Abs(frac-(1-rate)) > 0.03 {
			t.Errorf("rate %v: kept %.3f of the values", rate, frac)
		}
	}
	for _, rate := range []float64{1, -0.1, math.NaN()} {
		if _, err := graph.NewSequential([]int{4}, &models.BookDropout{Rate: rate}); err == nil || !strings.Contains(err.Error(), "[0, 1)") {
			t.Errorf("rate %v: %v, want an error", rate, err)
		}
	}
}

// A DeepConvNet checkpoint (with its bookdropout layers) reloads through
// Registry and Open and predicts the same; without the registry, the
// unknown kind is named.
func TestBookDeepConvNetCheckpoint(t *testing.T) {
	m, err := models.BookDeepConvNet()
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, m); err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.Read(bytes.NewReader(buf.Bytes()), graph.Builtin()); err == nil || !strings.Contains(err.Error(), "bookdropout") {
		t.Errorf("read with graph's own kinds: %v, want an error naming bookdropout", err)
	}
	// The default registry knows bookdropout: this package registers it.
	if _, err := checkpoint.Read(bytes.NewReader(buf.Bytes()), nil); err != nil {
		t.Errorf("read with the default registry: %v", err)
	}
	path := filepath.Join(t.TempDir(), "deep.safetensors")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := models.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	set, err := datasets.MNIST(datasets.Test, datasets.Options{Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	x := set.Head(20).X
	a, err := graph.NewPredictor(m).Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	b, err := graph.NewPredictor(back).Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Data().([]float32), b.Data().([]float32)) {
		t.Error("the reloaded model predicts differently")
	}
}
