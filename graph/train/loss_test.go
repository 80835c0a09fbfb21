package train

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/graph"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// lossRef is one case of testdata/loss_reference.json.
type lossRef struct {
	Name, Loss, Meaning string
	Shape               []int
	Y, T                []float64
	Want                float64
	Grad                []float64
}

func f32sOf(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// lossAndGrad builds loss l on y (of meaning m) against t in a graph of
// its own and returns the loss and its gradient with respect to y.
func lossAndGrad(t *testing.T, l Loss, m graph.Meaning, shape []int, y, target []float32) (float64, []float32) {
	t.Helper()
	g := gorgonia.NewGraph()
	yn := gorgonia.NewTensor(g, tensor.Float32, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName("y"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(y))))
	tn := gorgonia.NewTensor(g, tensor.Float32, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName("t"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(target))))
	loss, err := l.Build(yn, tn, m)
	if err != nil {
		t.Fatalf("%s on %s: %v", l, m, err)
	}
	if _, err := gorgonia.Grad(loss, yn); err != nil {
		t.Fatalf("%s: gradient: %v", l, err)
	}
	vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(yn))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatalf("%s: run: %v", l, err)
	}
	gv, err := yn.Grad()
	if err != nil {
		t.Fatal(err)
	}
	return float64(loss.Value().Data().(float32)), gv.Data().([]float32)
}

// Every built-in loss, in each form its meaning picks, gives PyTorch's
// value and gradient (torch.nn.functional, testdata/loss_reference.py) for
// the same float32 inputs.
func TestLossesMatchPyTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/loss_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct{ Cases []lossRef }
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 18 {
		t.Fatalf("%d cases", len(ref.Cases))
	}
	seen := map[string]bool{}
	for _, c := range ref.Cases {
		l, err := LossByName(c.Loss)
		if err != nil {
			t.Fatal(err)
		}
		seen[c.Loss] = true
		m, err := graph.ParseMeaning(c.Meaning)
		if err != nil {
			t.Fatal(err)
		}
		got, grad := lossAndGrad(t, l, m, c.Shape, f32sOf(c.Y), f32sOf(c.T))
		if d := math.Abs(got - c.Want); d > 2e-6*math.Max(1, math.Abs(c.Want)) {
			t.Errorf("%s: loss %.8g, PyTorch %.8g (diff %.2g)", c.Name, got, c.Want, d)
		}
		worst := 0.0
		for i, g := range grad {
			worst = math.Max(worst, math.Abs(float64(g)-c.Grad[i]))
		}
		if worst > 1e-6 {
			t.Errorf("%s: gradient differs from PyTorch's by up to %.2g", c.Name, worst)
		}
		t.Logf("%-22s loss %.6f  |Δloss| %.1e  max|Δgrad| %.1e", c.Name, got, math.Abs(got-c.Want), worst)
	}
	for _, name := range LossNames() {
		if !seen[name] {
			t.Errorf("loss %s has no PyTorch case", name)
		}
	}
}

// Each loss checks the output it is given: the meaning and the shape.
func TestLossInput(t *testing.T) {
	for _, test := range []struct {
		loss    LossName
		meaning graph.Meaning
		shape   []int
		logits  bool
		err     string
	}{
		{CrossEntropy, graph.Probabilities, []int{10}, true, ""},
		{CrossEntropy, graph.LogProbabilities, []int{10}, true, ""},
		{CrossEntropy, graph.Logits, []int{10}, false, ""},
		{CrossEntropy, graph.Values, []int{10}, false, ""},
		{CrossEntropy, graph.Values, []int{1}, false, "at least 2 classes"},
		{CrossEntropy, graph.BinaryProbabilities, []int{3}, false, "use binary_cross_entropy"},
		{SparseCrossEntropy, graph.Probabilities, []int{10}, true, ""},
		{NLL, graph.LogProbabilities, []int{10}, true, ""},
		{NLL, graph.Values, []int{10}, false, ""},
		{NLL, graph.Probabilities, []int{10}, false, "needs log-probabilities, but the output is probabilities: use cross_entropy"},
		{NLL, graph.Logits, []int{10}, false, "use cross_entropy"},
		{NLL, graph.BinaryLogits, []int{2}, false, "use binary_cross_entropy"},
		{BinaryCrossEntropy, graph.BinaryProbabilities, []int{1}, true, ""},
		{BinaryCrossEntropy, graph.BinaryLogits, []int{1}, false, ""},
		{BinaryCrossEntropy, graph.Probabilities, []int{4}, false, "use cross_entropy"},
		{MeanSquaredError, graph.Probabilities, []int{4}, false, ""},
		{MeanAbsoluteError, graph.Values, []int{1}, false, ""},
		{Huber, graph.Values, []int{2, 3}, false, ""},
		{LossName("hinge"), graph.Values, []int{2}, false, "unknown loss"},
	} {
		logits, err := test.loss.Input(test.meaning, test.shape)
		switch {
		case test.err == "" && err != nil:
			t.Errorf("%s on %s %v: %v", test.loss, test.meaning, test.shape, err)
		case test.err != "" && (err == nil || !strings.Contains(err.Error(), test.err)):
			t.Errorf("%s on %s %v: error %v, want %q", test.loss, test.meaning, test.shape, err, test.err)
		case logits != test.logits:
			t.Errorf("%s on %s: logits %v, want %v", test.loss, test.meaning, logits, test.logits)
		}
	}
	if _, err := LossByName("hinge"); err == nil || !strings.Contains(err.Error(), "cross_entropy") {
		t.Errorf("LossByName(hinge): %v", err)
	}
}

// The default loss comes from the output's meaning, and from whether the
// targets are classes for plain values.
func TestDefaultLoss(t *testing.T) {
	for _, test := range []struct {
		m       graph.Meaning
		classes bool
		want    Loss
	}{
		{graph.Probabilities, false, CrossEntropy},
		{graph.Logits, false, CrossEntropy},
		{graph.LogProbabilities, false, NLL},
		{graph.BinaryProbabilities, false, BinaryCrossEntropy},
		{graph.BinaryLogits, true, BinaryCrossEntropy},
		{graph.Values, false, MeanSquaredError},
		{graph.Values, true, CrossEntropy},
	} {
		if got := DefaultLoss(test.m, test.classes); got != test.want {
			t.Errorf("DefaultLoss(%s, %v) = %s, want %s", test.m, test.classes, got, test.want)
		}
	}
}

// A loss that does not fit the output is an error when the Trainer is
// made, naming the output; cross-entropy on a softmax output is computed
// from the logits, on the same model without the softmax from the values
// taken as logits, with the same loss.
func TestTrainerChecksLoss(t *testing.T) {
	reg, err := graph.NewSequential([]int{3}, &graph.Dense{Units: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewTrainer(reg, Config{Losses: []Loss{CrossEntropy}}); err == nil || !strings.Contains(err.Error(), "at least 2 classes") || !strings.Contains(err.Error(), "output fc1") {
		t.Errorf("cross_entropy on a 1-unit regression head: %v", err)
	}
	m := linear3(t)
	if _, err := NewTrainer(m, Config{Losses: []Loss{NLL}}); err == nil || !strings.Contains(err.Error(), "use cross_entropy") {
		t.Errorf("nll on probabilities: %v", err)
	}
	x := tensor.New(tensor.WithShape(5, 2), tensor.WithBacking(evalX))
	soft, err := NewTrainer(m, Config{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := soft.Evaluate(x, oneHot(evalLabels, 3), 5)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := graph.NewSequential([]int{2}, &graph.Dense{Units: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"fc1.weight", "fc1.bias"} {
		if err := logits.SetParam(p, []int(m.Param(p).Shape()), m.Param(p).Data().([]float32)); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := NewTrainer(logits, Config{Losses: []Loss{DefaultLoss(logits.OutputMeaning(0), true)}})
	if err != nil {
		t.Fatal(err)
	}
	bm, err := raw.Evaluate(x, oneHot(evalLabels, 3), 5)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := wantMetrics()
	if math.Abs(a.Loss-want) > 1e-6 || math.Abs(bm.Loss-want) > 1e-6 {
		t.Errorf("cross-entropy: softmax model %v, logits model %v, by hand %v", a.Loss, bm.Loss, want)
	}
}
