package graph_test

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"github.com/tapenet/tapenet/graph/train"
)

// residual declares y = softmax(Dense(relu(x + Dense(relu(Dense(x)))))) on
// 2 features: a residual block.
func residual(t *testing.T) *graph.Model {
	t.Helper()
	x := graph.Input("x", 2)
	h := graph.Apply(&graph.Dense{Units: 8}, x)
	r := graph.Apply(&graph.Dense{Units: 8}, graph.Apply(graph.ReLU{}, h))
	y := graph.Apply(graph.Add{}, h, r)
	out := graph.Apply(graph.Softmax{}, graph.Apply(&graph.Dense{Units: 3}, graph.Apply(graph.ReLU{}, y)))
	m, err := graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{out})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(5)
	return m
}

func TestResidualModelStructure(t *testing.T) {
	m := residual(t)
	var got []string
	for _, n := range m.Nodes() {
		got = append(got, fmt.Sprintf("%s(%s)%v", n.Name, strings.Join(n.Inputs, ","), n.Shape))
	}
	want := []string{"fc1(x)[8]", "relu1(fc1)[8]", "fc2(relu1)[8]", "add1(fc1,fc2)[8]", "relu2(add1)[8]", "fc3(relu2)[3]", "softmax1(fc3)[3]"}
	if !slices.Equal(got, want) {
		t.Errorf("nodes %v, want %v", got, want)
	}
	if m.IsSequential() {
		t.Error("a residual model reports itself sequential")
	}
	if n := m.ParamCount(); n != 2*8+8+8*8+8+8*3+3 {
		t.Errorf("%d parameters", n)
	}
}

func TestFunctionalModelTrainsSavesReloads(t *testing.T) {
	m := residual(t)
	x, y, labels := blobs(600, 2)
	tr, err := train.NewTrainer(m, train.Config{Optimizer: &train.Adam{}, LearningRate: 0.02, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := tr.Epoch(x, y, 32, nil); err != nil {
			t.Fatal(err)
		}
	}
	if acc := accuracy(t, m, x, labels, 50); acc < 0.95 {
		t.Errorf("accuracy %.3f after training, want >= 0.95", acc)
	}
	back := roundTrip(t, m)
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
	if !slices.Equal(m.ParamNames(), back.ParamNames()) {
		t.Errorf("parameters %v reload as %v", m.ParamNames(), back.ParamNames())
	}
}

// TestTwoInputModel declares a model of two inputs joined by Concat, with
// one Dense applied to both (weight tying, as in a siamese network), and
// two outputs.
func TestTwoInputModel(t *testing.T) {
	a := graph.Input("a", 2)
	b := graph.Input("b", 2)
	shared := &graph.Dense{Units: 4}
	ha := graph.Apply(graph.ReLU{}, graph.Apply(shared, a))
	hb := graph.Apply(graph.ReLU{}, graph.Apply(shared, b))
	j := graph.Apply(&graph.Concat{}, ha, hb)
	cls := graph.Apply(graph.Softmax{}, graph.Apply(&graph.Dense{Units: 3}, j))
	reg := graph.Apply(&graph.Dense{Units: 1}, j)
	m, err := graph.NewModel([]*graph.Tensor{a, b}, []*graph.Tensor{cls, reg})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	if got := m.ParamNames(); !slices.Equal(got, []string{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"}) {
		t.Errorf("parameters %v: the shared layer must declare its parameters once", got)
	}
	var names []string
	for _, n := range m.Nodes() {
		names = append(names, n.Name)
	}
	if want := []string{"fc1", "relu1", "fc1:1", "relu2", "concat1", "fc2", "softmax1", "fc3"}; !slices.Equal(names, want) {
		t.Errorf("nodes %v, want %v", names, want)
	}
	// Class: which of a and b has the larger first feature; regression:
	// the sum of all features.
	xa, _, _ := blobs(400, 3)
	xb, _, _ := blobs(400, 4)
	da, db := xa.Data().([]float32), xb.Data().([]float32)
	cl := make([]float32, 400*3)
	sum := make([]float32, 400)
	labels := make([]int, 400)
	for i := range 400 {
		c := 0
		if da[2*i] > db[2*i] {
			c = 1
		}
		labels[i] = c
		cl[3*i+c] = 1
		sum[i] = da[2*i] + da[2*i+1] + db[2*i] + db[2*i+1]
	}
	ts := []*tensor.Dense{tensor.New(tensor.WithShape(400, 3), tensor.WithBacking(cl)), tensor.New(tensor.WithShape(400, 1), tensor.WithBacking(sum))}
	tr, err := train.NewTrainer(m, train.Config{LearningRate: 0.01, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Losses(); !slices.Equal(got, []train.Loss{train.CrossEntropy, train.MeanSquaredError}) {
		t.Errorf("losses %v", got)
	}
	first, err := tr.EpochInputs([]*tensor.Dense{xa, xb}, ts, 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	var last train.EpochStats
	for range 15 {
		if last, err = tr.EpochInputs([]*tensor.Dense{xa, xb}, ts, 20, nil); err != nil {
			t.Fatal(err)
		}
	}
	if last.Loss > first.Loss/4 {
		t.Errorf("loss %.4f after the first epoch, %.4f after 16", first.Loss, last.Loss)
	}
	pr := graph.NewPredictor(m)
	preds, err := pr.ClassifyInputs([]*tensor.Dense{xa, xb}, 64)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i, p := range preds {
		if p == labels[i] {
			correct++
		}
	}
	if correct < 340 {
		t.Errorf("%d/400 correct", correct)
	}
	outs, err := pr.Predict(xa, xb)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || !slices.Equal([]int(outs[0].Shape()), []int{400, 3}) || !slices.Equal([]int(outs[1].Shape()), []int{400, 1}) {
		t.Fatalf("outputs %v", outs)
	}
	back := roundTrip(t, m)
	again, err := graph.NewPredictor(back).Predict(xa, xb)
	if err != nil {
		t.Fatal(err)
	}
	for i := range outs {
		if !slices.Equal(outs[i].Data().([]float32), again[i].Data().([]float32)) {
			t.Errorf("output %d differs after a checkpoint round trip", i)
		}
	}
	if _, err := pr.Predict(xa); err == nil || !strings.Contains(err.Error(), "1 input tensors, model has 2") {
		t.Errorf("one input for two: %v", err)
	}
}

func TestMergeLayerValues(t *testing.T) {
	a := graph.Input("a", 2, 1, 2)
	b := graph.Input("b", 1, 1, 2)
	two := graph.Input("two", 2, 1, 2)
	outs := []*graph.Tensor{
		graph.Apply(graph.Add{}, a, two),
		graph.Apply(graph.Multiply{}, a, two),
		graph.Apply(&graph.Concat{}, a, b),
		graph.Apply(&graph.Concat{Axis: -1}, a, two),
		graph.Apply(&graph.Reshape{Shape: []int{-1}}, b),
		graph.Apply(graph.GlobalAvgPool2D{}, a),
	}
	m, err := graph.NewModel([]*graph.Tensor{a, b, two}, outs)
	if err != nil {
		t.Fatal(err)
	}
	xa := tensor.New(tensor.WithShape(1, 2, 1, 2), tensor.WithBacking([]float32{1, 2, 3, 4}))
	xb := tensor.New(tensor.WithShape(1, 1, 1, 2), tensor.WithBacking([]float32{5, 6}))
	x2 := tensor.New(tensor.WithShape(1, 2, 1, 2), tensor.WithBacking([]float32{2, 2, 2, 2}))
	got, err := graph.NewPredictor(m).Predict(xa, xb, x2)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		shape []int
		data  []float32
	}{
		{[]int{1, 2, 1, 2}, []float32{3, 4, 5, 6}},
		{[]int{1, 2, 1, 2}, []float32{2, 4, 6, 8}},
		{[]int{1, 3, 1, 2}, []float32{1, 2, 3, 4, 5, 6}},
		{[]int{1, 2, 1, 4}, []float32{1, 2, 2, 2, 3, 4, 2, 2}},
		{[]int{1, 2}, []float32{5, 6}},
		{[]int{1, 2}, []float32{1.5, 3.5}},
	} {
		if !slices.Equal([]int(got[i].Shape()), want.shape) || !slices.Equal(got[i].Data().([]float32), want.data) {
			t.Errorf("output %d (%s): %v %v, want %v %v", i, m.Outputs()[i], got[i].Shape(), got[i].Data(), want.shape, want.data)
		}
	}
}

func TestAvgPool2D(t *testing.T) {
	x := make([]float32, 16)
	for i := range x {
		x[i] = float32(i)
	}
	for _, test := range []struct {
		pool *graph.AvgPool2D
		want []float32
	}{
		{&graph.AvgPool2D{}, []float32{2.5, 4.5, 10.5, 12.5}},
		{&graph.AvgPool2D{Kernel: 3, Stride: 1}, []float32{5, 6, 9, 10}},
		// Zero padding counts in the average: the corner window holds 0, 1, 4, 5 and five zeros.
		{&graph.AvgPool2D{Kernel: 3, Stride: 3, Padding: 1}, []float32{10.0 / 9, 18.0 / 9, 42.0 / 9, 50.0 / 9}},
	} {
		got := runModel(t, []int{1, 4, 4}, x, test.pool)
		if d := got.Data().([]float32); !closeAll(d, test.want, 1e-6) {
			t.Errorf("%+v: %v, want %v", *test.pool, d, test.want)
		}
	}
}

func runModel(t *testing.T, in []int, x []float32, layers ...graph.Layer) *tensor.Dense {
	t.Helper()
	m, err := graph.NewSequential(in, layers...)
	if err != nil {
		t.Fatal(err)
	}
	per := 1
	for _, d := range in {
		per *= d
	}
	out, err := graph.NewPredictor(m).Forward(tensor.New(tensor.WithShape(append([]int{len(x) / per}, in...)...), tensor.WithBacking(x)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func closeAll(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > tol {
			return false
		}
	}
	return true
}

func TestDeclarationErrors(t *testing.T) {
	x := graph.Input("x", 4)
	y := graph.Input("y", 3)
	for _, test := range []struct {
		name    string
		inputs  []*graph.Tensor
		outputs func() []*graph.Tensor
		want    string
	}{
		{"add of different shapes", []*graph.Tensor{x, y}, func() []*graph.Tensor {
			return []*graph.Tensor{graph.Apply(graph.Add{}, x, y)}
		}, "same shape"},
		{"dense of two inputs", []*graph.Tensor{x}, func() []*graph.Tensor {
			return []*graph.Tensor{graph.Apply(&graph.Dense{Units: 2}, x, x)}
		}, "takes one input"},
		{"input not declared", []*graph.Tensor{x}, func() []*graph.Tensor {
			return []*graph.Tensor{graph.Apply(&graph.Concat{}, x, y)}
		}, `input "y", which is not among`},
		{"input not used", []*graph.Tensor{x, y}, func() []*graph.Tensor {
			return []*graph.Tensor{graph.Apply(graph.ReLU{}, x)}
		}, `input "y" is not used`},
		{"shared layer on another shape", []*graph.Tensor{x, y}, func() []*graph.Tensor {
			d := &graph.Dense{Units: 2}
			return []*graph.Tensor{graph.Apply(d, x), graph.Apply(d, y)}
		}, "other shapes"},
		{"one layer two names", []*graph.Tensor{x}, func() []*graph.Tensor {
			d := &graph.Dense{Units: 4}
			return []*graph.Tensor{graph.ApplyNamed("a", d, graph.ApplyNamed("b", d, x))}
		}, `named both`},
		{"an error early in the chain", []*graph.Tensor{x}, func() []*graph.Tensor {
			return []*graph.Tensor{graph.Apply(graph.ReLU{}, graph.Apply(&graph.Conv2D{Filters: 1, Kernel: 3}, x))}
		}, "conv2d: input must be (channels, height, width)"},
		{"no outputs", []*graph.Tensor{x}, func() []*graph.Tensor { return nil }, "at least one input and one output"},
		{"an input as output", []*graph.Tensor{x}, func() []*graph.Tensor {
			return []*graph.Tensor{graph.Apply(&graph.Dense{Units: 2}, x), x}
		}, `output 1 is the input "x" itself`},
		{"reshape that does not fit", []*graph.Tensor{x}, func() []*graph.Tensor {
			return []*graph.Tensor{graph.Apply(&graph.Reshape{Shape: []int{3, -1}}, x)}
		}, "do not fill"},
	} {
		_, err := graph.NewModel(test.inputs, test.outputs())
		if err == nil || !strings.Contains(err.Error(), test.want) {
			t.Errorf("%s: %v, want an error with %q", test.name, err, test.want)
		}
	}
}

// TestConcurrentPredictors runs 8 goroutines, each with its own Predictor
// of one shared model, compiling graphs of different batch sizes and
// classifying at the same time; `go test -race` checks they share nothing
// writable.
func TestConcurrentPredictors(t *testing.T) {
	m, err := graph.NewSequential([]int{1, 6, 6},
		&graph.Conv2D{Filters: 3, Kernel: 3, Padding: 1}, &graph.BatchNorm{}, graph.ReLU{},
		&graph.MaxPool2D{}, graph.Flatten{}, &graph.Dense{Units: 8}, graph.Sigmoid{},
		&graph.Dense{Units: 4}, graph.Softmax{})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(9)
	xs := make([]float32, 50*36)
	for i := range xs {
		xs[i] = float32(math.Sin(float64(i)))
	}
	x := tensor.New(tensor.WithShape(50, 1, 6, 6), tensor.WithBacking(xs))
	want, err := graph.NewPredictor(m).Classify(x, 50)
	if err != nil {
		t.Fatal(err)
	}
	probs, err := graph.NewPredictor(m).Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr := graph.NewPredictor(m)
			pr.Workers = 1 + g%2
			for round := range 3 {
				got, err := pr.Classify(x, 3+g+round)
				if err != nil {
					errs[g] = err
					return
				}
				if !slices.Equal(got, want) {
					errs[g] = fmt.Errorf("goroutine %d, batch %d: classes differ", g, 3+g+round)
					return
				}
				out, err := pr.Forward(x)
				if err != nil {
					errs[g] = err
					return
				}
				if !closeAll(out.Data().([]float32), probs.Data().([]float32), 1e-6) {
					errs[g] = fmt.Errorf("goroutine %d: probabilities differ", g)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestStridedInputs feeds column slices and transposes (views whose values
// are not contiguous): they give the classes of their packed copies.
func TestStridedInputs(t *testing.T) {
	m := newModel(t, &graph.Dense{Units: 6}, graph.ReLU{}, &graph.Dense{Units: 3}, graph.Softmax{})
	x, y, _ := blobs(40, 8)
	// A wider tensor whose columns 1 and 2 are x: column slice view.
	wide := make([]float32, 40*4)
	xd := x.Data().([]float32)
	for i := range 40 {
		wide[4*i+0] = 100
		wide[4*i+1] = xd[2*i]
		wide[4*i+2] = xd[2*i+1]
		wide[4*i+3] = -100
	}
	w := tensor.New(tensor.WithShape(40, 4), tensor.WithBacking(wide))
	view, err := w.Slice(nil, tensor.S(1, 3))
	if err != nil {
		t.Fatal(err)
	}
	// A (2, 40) tensor transposed.
	tt := tensor.New(tensor.WithShape(2, 40), tensor.Of(tensor.Float32))
	td := tt.Data().([]float32)
	for i := range 40 {
		td[i], td[40+i] = xd[2*i], xd[2*i+1]
	}
	if err := tt.T(); err != nil {
		t.Fatal(err)
	}
	pr := graph.NewPredictor(m)
	want, err := pr.Classify(x, 16)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]*tensor.Dense{"column slice": view.(*tensor.Dense), "transpose": tt} {
		got, err := pr.Classify(in, 16)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: classes %v, want %v", name, got, want)
		}
		out, err := pr.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := pr.Forward(x)
		if !slices.Equal(out.Data().([]float32), ref.Data().([]float32)) {
			t.Errorf("%s: Forward differs from the packed input's", name)
		}
	}
	// Training on a strided view takes the same steps as on its copy.
	a, b := newModel(t, &graph.Dense{Units: 3}, graph.Softmax{}), newModel(t, &graph.Dense{Units: 3}, graph.Softmax{})
	for i, in := range []*tensor.Dense{x, view.(*tensor.Dense)} {
		tr, err := train.NewTrainer([]*graph.Model{a, b}[i], train.Config{Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Epoch(in, y, 8, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(a.Param("fc1.weight").Data().([]float32), b.Param("fc1.weight").Data().([]float32)) {
		t.Error("training on a column slice gives other weights than on its copy")
	}
}

// TestRetainedOutputs: what Forward and Predict return is the caller's,
// unchanged by later runs, whatever the model's last op.
func TestRetainedOutputs(t *testing.T) {
	for _, last := range []graph.Layer{graph.Sigmoid{}, graph.ReLU{}, graph.Tanh{}, graph.Softmax{}} {
		m := newModel(t, &graph.Dense{Units: 3}, last)
		pr := graph.NewPredictor(m)
		x1 := tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float32{1, 2}))
		x2 := tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float32{-3, 5}))
		a, err := pr.Forward(x1)
		if err != nil {
			t.Fatal(err)
		}
		keep := slices.Clone(a.Data().([]float32))
		if _, err := pr.Forward(x2); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.Data().([]float32), keep) {
			t.Errorf("%s: a returned output changed at the next run", last.Kind())
		}
	}
}

func TestEmptyInputs(t *testing.T) {
	m := newModel(t, &graph.Dense{Units: 3}, graph.Softmax{})
	empty := tensor.New(tensor.WithShape(0, 2), tensor.WithBacking([]float32{}))
	emptyT := tensor.New(tensor.WithShape(0, 3), tensor.WithBacking([]float32{}))
	pr := graph.NewPredictor(m)
	if _, err := pr.Classify(empty, 10); err == nil || !strings.Contains(err.Error(), "empty (0 samples)") {
		t.Errorf("Classify: %v", err)
	}
	if _, err := pr.Forward(empty); err == nil || !strings.Contains(err.Error(), "empty (0 samples)") {
		t.Errorf("Forward: %v", err)
	}
	tr, err := train.NewTrainer(m, train.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Epoch(empty, emptyT, 10, nil); err == nil || !strings.Contains(err.Error(), "empty (0 samples)") {
		t.Errorf("Epoch: %v", err)
	}
	if _, err := tr.Step(empty, emptyT); err == nil || !strings.Contains(err.Error(), "empty (0 samples)") {
		t.Errorf("Step: %v", err)
	}
}

// roundTrip saves m as a checkpoint and reads it back.
func roundTrip(t *testing.T, m *graph.Model) *graph.Model {
	t.Helper()
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, m); err != nil {
		t.Fatal(err)
	}
	back, err := checkpoint.Read(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	return back
}
