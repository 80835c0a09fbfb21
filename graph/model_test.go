package graph_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"github.com/tapenet/tapenet/graph/train"
)

// Scale is a layer defined outside package graph: y = x ⊙ gain, with one
// learnable gain per feature. It shows the whole extension path: implement
// Layer (and ParamLayer), register the kind, and the model trains, saves,
// reloads and exports like any built-in layer.
type Scale struct {
	// Init is the initial gain.
	Init float32 `json:"init"`
}

func (*Scale) Kind() string { return "scale" }

func (s *Scale) Params(in []int) ([]graph.ParamSpec, error) {
	return []graph.ParamSpec{{Name: "gain", Shape: []int{in[len(in)-1]}, Init: func(_ *rand.Rand, _ []int, data []float32) {
		for i := range data {
			data[i] = s.Init
		}
	}}}, nil
}

func (*Scale) Forward(s *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	g, err := s.Param("gain")
	if err != nil {
		return nil, err
	}
	return gorgonia.BroadcastHadamardProd(x, g, nil, []byte{0})
}

// blobs returns n samples of 2 features in 3 well-separated classes, and
// their one-hot targets.
func blobs(n int, seed uint64) (x, t *tensor.Dense, labels []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	centres := [][2]float64{{2, 0}, {-2, 2}, {-1, -2}}
	xs := make([]float32, 2*n)
	labels = make([]int, n)
	for i := range labels {
		c := rng.IntN(3)
		labels[i] = c
		xs[2*i] = float32(centres[c][0] + 0.5*rng.NormFloat64())
		xs[2*i+1] = float32(centres[c][1] + 0.5*rng.NormFloat64())
	}
	ts := make([]float32, 3*n)
	for i, c := range labels {
		ts[3*i+c] = 1
	}
	return tensor.New(tensor.WithShape(n, 2), tensor.WithBacking(xs)), tensor.New(tensor.WithShape(n, 3), tensor.WithBacking(ts)), labels
}

func newModel(t *testing.T, layers ...graph.Layer) *graph.Model {
	t.Helper()
	m, err := graph.NewSequential([]int{2}, layers...)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	return m
}

func accuracy(t *testing.T, m *graph.Model, x *tensor.Dense, labels []int, batch int) float64 {
	t.Helper()
	preds, err := graph.NewPredictor(m).Classify(x, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(preds) != len(labels) {
		t.Fatalf("%d predictions for %d samples", len(preds), len(labels))
	}
	c := 0
	for i, p := range preds {
		if p == labels[i] {
			c++
		}
	}
	return float64(c) / float64(len(labels))
}

func TestUserLayerTrainsSavesReloads(t *testing.T) {
	reg := graph.Builtin()
	if err := reg.Register("scale", func() graph.Layer { return &Scale{} }); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register("scale", func() graph.Layer { return &Scale{} }); err == nil {
		t.Error("registering a kind twice succeeded")
	}
	m := newModel(t, &Scale{Init: 0.5}, &graph.Dense{Units: 8}, graph.ReLU{}, &graph.Dense{Units: 3}, graph.Softmax{})
	x, y, labels := blobs(600, 1)
	before := accuracy(t, m, x, labels, 64)
	tr, err := train.NewTrainer(m, train.Config{Optimizer: &train.Adam{}, LearningRate: 0.02, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := tr.Epoch(x, y, 32, nil); err != nil {
			t.Fatal(err)
		}
	}
	after := accuracy(t, m, x, labels, 64)
	if after < 0.95 || after <= before {
		t.Errorf("accuracy %.3f before training, %.3f after; want >= 0.95", before, after)
	}
	if gain := m.Param("scale1.gain").Data().([]float32); gain[0] == 0.5 && gain[1] == 0.5 {
		t.Error("the user layer's parameter was not trained")
	}

	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, m); err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.Read(bytes.NewReader(buf.Bytes()), nil); err == nil || !strings.Contains(err.Error(), `unknown layer kind "scale"`) {
		t.Errorf("reading without the user's registry: %v", err)
	}
	back, err := checkpoint.Read(bytes.NewReader(buf.Bytes()), reg)
	if err != nil {
		t.Fatal(err)
	}
	p1, _ := graph.NewPredictor(m).Classify(x, 100)
	p2, _ := graph.NewPredictor(back).Classify(x, 7)
	if !slices.Equal(p1, p2) {
		t.Error("reloaded model predicts differently")
	}
	spec, _ := json.Marshal(back)
	if !strings.Contains(string(spec), `{"name":"scale1","kind":"scale","config":{"init":0.5}}`) {
		t.Errorf("spec lacks the user layer: %s", spec)
	}
	// It exports like a built-in layer: its nodes in the graph JSON, its
	// cluster in the DOT graph.
	var js, dot bytes.Buffer
	if err := export.WriteJSON(&js, back); err != nil {
		t.Fatal(err)
	}
	if err := export.WriteDOT(&dot, back); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"name": "scale1.gain"`) || !strings.Contains(js.String(), `"layer": "scale1"`) {
		t.Errorf("graph JSON lacks the user layer's nodes")
	}
	if !strings.Contains(dot.String(), "cluster_scale1") {
		t.Errorf("DOT graph lacks the user layer's cluster")
	}
}

func TestSpecRoundTrip(t *testing.T) {
	m := newModel(t, &graph.Dense{Units: 4, Init: "xavier"}, graph.Tanh{}, &graph.Dense{Units: 3}, graph.Step{}, graph.Identity{}, graph.Sigmoid{})
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := graph.FromSpec(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	if string(again) != string(data) {
		t.Errorf("spec changed in a round trip:\n%s\n%s", data, again)
	}
	want := `{"format":"tapenet.model/v2","inputs":[{"name":"input","shape":[2]}],"layers":[{"name":"fc1","kind":"dense","config":{"units":4,"init":"xavier"}},{"name":"tanh1","kind":"tanh"},{"name":"fc2","kind":"dense","config":{"units":3}},{"name":"step1","kind":"step"},{"name":"identity1","kind":"identity"},{"name":"sigmoid1","kind":"sigmoid"}],"nodes":[{"layer":"fc1","inputs":["input"]},{"layer":"tanh1","inputs":["fc1"]},{"layer":"fc2","inputs":["tanh1"]},{"layer":"step1","inputs":["fc2"]},{"layer":"identity1","inputs":["step1"]},{"layer":"sigmoid1","inputs":["identity1"]}],"outputs":["sigmoid1"]}`
	if string(data) != want {
		t.Errorf("spec\n%s\nwant\n%s", data, want)
	}
	// The same stack in the first format loads to the same model.
	v1 := `{"format":"tapenet.sequential/v1","input":[2],"layers":[{"name":"fc1","kind":"dense","config":{"units":4,"init":"xavier"}},{"name":"tanh1","kind":"tanh"},{"name":"fc2","kind":"dense","config":{"units":3}},{"name":"step1","kind":"step"},{"name":"identity1","kind":"identity"},{"name":"sigmoid1","kind":"sigmoid"}]}`
	old, err := graph.FromSpec([]byte(v1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(old); string(got) != want {
		t.Errorf("v1 spec loads as\n%s\nwant\n%s", got, want)
	}
	for _, bad := range []struct{ spec, want string }{
		{`{"format":"other","input":[2],"layers":[]}`, "format"},
		{`{"format":"tapenet.sequential/v1","input":[2],"layers":[{"name":"a","kind":"conv9"}]}`, "unknown layer kind"},
		{`{"format":"tapenet.sequential/v1","input":[2],"layers":[{"name":"a","kind":"dense","config":{"units":0}}]}`, "units must be positive"},
		{`{"format":"tapenet.sequential/v1","input":[2],"layers":[{"name":"a","kind":"dense","config":{"unit":3}}]}`, "unknown field"},
		{`{"format":"tapenet.sequential/v1","input":[2],"layers":[{"name":"a","kind":"relu"},{"name":"a","kind":"relu"}]}`, "repeated"},
		{`{"format":"tapenet.sequential/v1","input":[0],"layers":[{"name":"a","kind":"relu"}]}`, "out of range"},
		{`{"format":"tapenet.sequential/v1","input":[100000,100000],"layers":[{"name":"a","kind":"relu"}]}`, "more than"},
		{`{"format":"tapenet.sequential/v1","input":[3],"layers":[{"name":"a","kind":"softmax"}],"x":1}`, "unknown field"},
		{`{"format":"tapenet.model/v2","inputs":[{"name":"x","shape":[3]}],"layers":[{"name":"a","kind":"relu"}],"nodes":[{"layer":"a","inputs":["y"]}],"outputs":["a"]}`, `input "y" is not an input or an earlier node`},
		{`{"format":"tapenet.model/v2","inputs":[{"name":"x","shape":[3]}],"layers":[{"name":"a","kind":"relu"}],"nodes":[{"layer":"b","inputs":["x"]}],"outputs":["a"]}`, `no layer "b"`},
		{`{"format":"tapenet.model/v2","inputs":[{"name":"x","shape":[3]}],"layers":[{"name":"a","kind":"relu"},{"name":"b","kind":"relu"}],"nodes":[{"layer":"a","inputs":["x"]}],"outputs":["a"]}`, "not used by any node"},
		{`{"format":"tapenet.model/v2","inputs":[{"name":"x","shape":[3]}],"layers":[{"name":"a","kind":"relu"}],"nodes":[{"layer":"a","inputs":["x"]}],"outputs":["z"]}`, `output "z" is not a node`},
		{`{"format":"tapenet.model/v2","inputs":[{"name":"x","shape":[3]}],"layers":[{"name":"x","kind":"relu"}],"nodes":[{"layer":"x","inputs":["x"]}],"outputs":["x"]}`, "repeated"},
		{`{"format":"tapenet.model/v2","inputs":[{"name":"x","shape":[3]}],"layers":[{"name":"a","kind":"relu"}],"nodes":[{"layer":"a","inputs":["x","x"]}],"outputs":["a"]}`, "takes one input"},
		{`{"format":"tapenet.model/v2","inputs":[{"name":"x","shape":[3]},{"name":"y","shape":[3]}],"layers":[{"name":"a","kind":"relu"}],"nodes":[{"layer":"a","inputs":["x"]}],"outputs":["a"]}`, `input "y" is not used`},
		{`{"format":"tapenet.model/v2","inputs":[{"name":"x","shape":[3]}],"layers":[{"name":"a","kind":"relu"},{"name":"b","kind":"relu"}],"nodes":[{"layer":"a","inputs":["x"]},{"layer":"b","inputs":["x"]}],"outputs":["a"]}`, "lead to an output"},
	} {
		if _, err := graph.FromSpec([]byte(bad.spec), nil); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("FromSpec(%s) = %v, want error with %q", bad.spec, err, bad.want)
		}
	}
}

func TestClassifyCountsEverySampleOnce(t *testing.T) {
	m := newModel(t, &graph.Dense{Units: 5}, graph.Sigmoid{}, &graph.Dense{Units: 3}, graph.Softmax{})
	x, _, labels := blobs(103, 2)
	want, err := graph.NewPredictor(m).Classify(x, 103)
	if err != nil {
		t.Fatal(err)
	}
	pr := graph.NewPredictor(m) // one predictor, many cached graphs
	for _, batch := range []int{1, 2, 10, 100, 102, 1000} {
		got, err := pr.Classify(x, batch)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) || len(got) != len(labels) {
			t.Errorf("batch %d: %d predictions differ from one full batch", batch, len(got))
		}
	}
	if _, err := pr.Classify(x, 0); err == nil {
		t.Error("batch 0 accepted")
	}
	// Classify skips the softmax; the argmax of Forward's probabilities agrees.
	probs, err := pr.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range want {
		row := probs.Data().([]float32)[3*i : 3*i+3]
		if row[p] < row[0] || row[p] < row[1] || row[p] < row[2] {
			t.Fatalf("sample %d: class %d but probabilities %v", i, p, row)
		}
	}
	bad := tensor.New(tensor.WithShape(4, 3), tensor.Of(tensor.Float32))
	if _, err := pr.Forward(bad); err == nil || !strings.Contains(err.Error(), "model wants") {
		t.Errorf("wrong input shape: %v", err)
	}
}

// The parameters are the model's tensors: a predictor built before
// training sees every update.
func TestParamsSharedAcrossGraphs(t *testing.T) {
	m := newModel(t, &graph.Dense{Units: 3}, graph.Softmax{})
	x, y, _ := blobs(50, 3)
	pr := graph.NewPredictor(m)
	before, _ := pr.Forward(x)
	tr, _ := train.NewTrainer(m, train.Config{Optimizer: &train.SGD{}, LearningRate: 0.5})
	if _, err := tr.Step(x, y); err != nil {
		t.Fatal(err)
	}
	after, _ := pr.Forward(x)
	fresh, _ := graph.NewPredictor(m).Forward(x)
	if slices.Equal(before.Data().([]float32), after.Data().([]float32)) {
		t.Error("cached graph did not see the update")
	}
	if !slices.Equal(after.Data().([]float32), fresh.Data().([]float32)) {
		t.Error("cached and fresh graphs disagree")
	}
}

func trainBytes(t *testing.T, seed uint64, opt string) []byte {
	t.Helper()
	m, err := graph.NewSequential([]int{2}, &graph.Dense{Units: 16}, graph.ReLU{}, &graph.Dense{Units: 3}, graph.Softmax{})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(seed)
	x, y, _ := blobs(250, 4)
	o, err := train.OptimizerByName(opt, train.OptimizerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.NewTrainer(m, train.Config{Optimizer: o, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := tr.Epoch(x, y, 32, nil); err != nil { // 7 full batches + 26
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTrainingIsReproducible(t *testing.T) {
	for _, opt := range []string{"sgd", "momentum", "adam"} {
		a, b, c := trainBytes(t, 5, opt), trainBytes(t, 5, opt), trainBytes(t, 6, opt)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: same seed, different checkpoints", opt)
		}
		if bytes.Equal(a, c) {
			t.Errorf("%s: different seeds, same checkpoint", opt)
		}
	}
}

func TestLossesByTask(t *testing.T) {
	for _, test := range []struct {
		out  graph.Layer
		want train.Loss
	}{
		{graph.Softmax{}, train.CrossEntropy},
		{graph.Sigmoid{}, train.BinaryCrossEntropy},
		{graph.Identity{}, train.MeanSquaredError},
	} {
		m := newModel(t, &graph.Dense{Units: 3}, test.out)
		if got, _ := train.LossFor(m, 0); got != test.want {
			t.Errorf("output %s: loss %s, want %s", test.out.Kind(), got, test.want)
		}
		x, y, _ := blobs(64, 9)
		tr, _ := train.NewTrainer(m, train.Config{Optimizer: &train.Adam{}, LearningRate: 0.05})
		first, err := tr.Step(x, y)
		if err != nil {
			t.Fatal(err)
		}
		var last float32
		for range 50 {
			if last, err = tr.Step(x, y); err != nil {
				t.Fatal(err)
			}
		}
		if !(last < first/2) {
			t.Errorf("%s: loss %v -> %v after 50 steps, want halved", test.want, first, last)
		}
	}
}

// Losses at a known point: logits all zero, so softmax is uniform (loss
// ln 3), the sigmoid is ½ (loss ln 2 per element) and MSE is the mean of t².
func TestLossValues(t *testing.T) {
	for _, test := range []struct {
		out  graph.Layer
		want float32
	}{
		{graph.Softmax{}, 1.0986123},
		{graph.Sigmoid{}, 0.6931472},
		{graph.Identity{}, 1.0 / 3},
	} {
		m := newModel(t, &graph.Dense{Units: 3, Init: "zeros"}, test.out)
		x, y, _ := blobs(10, 1)
		tr, _ := train.NewTrainer(m, train.Config{Optimizer: &train.SGD{}})
		got, err := tr.Step(x, y)
		if err != nil {
			t.Fatal(err)
		}
		if d := got - test.want; d > 1e-6 || d < -1e-6 {
			t.Errorf("%s: loss %v, want %v", test.out.Kind(), got, test.want)
		}
	}
}

func TestDivergenceStops(t *testing.T) {
	m := newModel(t, &graph.Dense{Units: 8}, graph.ReLU{}, &graph.Dense{Units: 3}, graph.Identity{})
	x, y, _ := blobs(100, 1)
	tr, _ := train.NewTrainer(m, train.Config{Optimizer: &train.SGD{}, LearningRate: 1e6})
	_, err := tr.Epoch(x, y, 10, nil)
	if !errors.Is(err, train.ErrDiverged) || !strings.Contains(err.Error(), "lower learning rate") {
		t.Errorf("got %v, want ErrDiverged with a hint", err)
	}
}

func TestStepCannotTrain(t *testing.T) {
	m := newModel(t, &graph.Dense{Units: 3}, graph.Step{}, &graph.Dense{Units: 3}, graph.Softmax{})
	x, y, _ := blobs(10, 1)
	tr, _ := train.NewTrainer(m, train.Config{})
	if _, err := tr.Step(x, y); err == nil || !strings.Contains(err.Error(), "cannot be trained") {
		t.Errorf("training through step: %v", err)
	}
}

func TestCheckpointReadableBySafetensors(t *testing.T) {
	m := newModel(t, &graph.Dense{Units: 4}, graph.ReLU{}, &graph.Dense{Units: 3}, graph.Softmax{})
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, m); err != nil {
		t.Fatal(err)
	}
	// An independent reader (github.com/nlpodyssey/safetensors).
	st, err := safetensors.Deserialize(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Names(); !slices.Equal(sorted(got), sorted(m.ParamNames())) {
		t.Errorf("tensors %v, want %v", got, m.ParamNames())
	}
	for _, name := range m.ParamNames() {
		view, ok := st.Tensor(name)
		if !ok {
			t.Fatalf("no tensor %s", name)
		}
		var shape []int
		for _, d := range view.Shape() {
			shape = append(shape, int(d))
		}
		if !slices.Equal(shape, []int(m.Param(name).Shape())) || view.DType().String() != "F32" {
			t.Errorf("%s: shape %v dtype %v", name, view.Shape(), view.DType())
		}
		want := m.Param(name).Data().([]float32)
		data := view.Data()
		for i, w := range want {
			b := data[4*i : 4*i+4]
			got := float32frombytes(b)
			if got != w {
				t.Fatalf("%s[%d] = %v, want %v", name, i, got, w)
			}
		}
	}
	_, meta, err := safetensors.ReadMetadata(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if md := meta.Metadata(); md["format"] != "tapenet" || !strings.Contains(md["spec"], `"kind":"dense"`) {
		t.Errorf("metadata %v", md)
	}
	back, err := checkpoint.Read(bytes.NewReader(buf.Bytes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	checkpoint.Write(&again, back)
	if !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Error("checkpoint changed in a round trip")
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func float32frombytes(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }
