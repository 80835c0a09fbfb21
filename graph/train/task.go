package train

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
)

// What Fit needs to know of a model and its data before it trains: the
// loss that fits both, the targets in the form the loss takes, the size
// of a validation split.

// ChooseLoss returns the loss named name for the first output of m trained
// on class labels (regression false) or on regression targets, and why it
// was chosen, as a command prints it. An empty name takes DefaultLoss of
// the output's meaning and the task: cross-entropy for probabilities,
// logits and plain values on class labels, NLL for log-probabilities,
// binary cross-entropy for a sigmoid, MSE for plain values on regression
// targets. A loss that does not fit the output (Loss.Input), or a
// classification loss on regression targets, is an error that starts
// with "loss NAME".
func ChooseLoss(m *graph.Model, name string, regression bool) (Loss, string, error) {
	meaning, shape := m.OutputMeaning(0), m.OutputShape(0)
	task := "class labels"
	if regression {
		task = "regression targets"
	}
	var loss Loss
	why := fmt.Sprintf("given, on output %s of %s", meaning, task)
	if name == "" {
		loss = DefaultLoss(meaning, !regression)
		why = fmt.Sprintf("the output means %s", meaning)
		if meaning == graph.Values {
			why += ", the targets are " + task
		}
	} else {
		var err error
		if loss, err = LossByName(name); err != nil {
			return nil, "", fmt.Errorf("loss %q: %w", name, err)
		}
	}
	if _, err := loss.Input(meaning, shape); err != nil {
		return nil, "", fmt.Errorf("loss %s does not fit the model's output (%s, shape %v): %w", loss, meaning, shape, err)
	}
	if regression && TaskOf(meaning, loss) != Regression {
		return nil, "", fmt.Errorf("loss %s is a classification loss, but the data has regression targets: use mse, mae or huber", loss)
	}
	return loss, why, nil
}

// CheckTargets checks that the first output of m fits the data: as many
// values per sample as the data's regression targets (columns > 0), or,
// for class labels, one dimension of at least classes values.
func CheckTargets(m *graph.Model, classes, columns int) error {
	shape := m.OutputShape(0)
	width := 1
	for _, d := range shape {
		width *= d
	}
	switch {
	case columns > 0 && width != columns:
		return fmt.Errorf("the model's output has shape %v, but the data has %d regression targets per sample", shape, columns)
	case columns == 0 && (len(shape) != 1 || shape[0] < classes):
		return fmt.Errorf("the model's output has shape %v, but the data has %d classes", shape, classes)
	}
	return nil
}

// Targets returns the targets of the first output of m for loss, as
// FitData.T takes them: values (N, k), the regression targets, when not
// nil; else the class labels, as they are, (N,), for a SparseLoss, or as
// one-hot rows as wide as the output. A label outside the output's
// classes is an error.
func Targets(m *graph.Model, loss Loss, labels []int, values *tensor.Dense) (*tensor.Dense, error) {
	if values != nil {
		return values, nil
	}
	if isSparse(loss) {
		return tensor.New(tensor.WithShape(len(labels)), tensor.WithBacking(slices.Clone(labels))), nil
	}
	shape := m.OutputShape(0)
	if len(shape) != 1 {
		return nil, fmt.Errorf("one-hot targets: the output has shape %v, not (classes)", shape)
	}
	c := shape[0]
	t := make([]float32, len(labels)*c)
	for i, l := range labels {
		if l < 0 || l >= c {
			return nil, fmt.Errorf("label %d is %d, not one of the output's %d classes", i, l, c)
		}
		t[i*c+l] = 1
	}
	return tensor.New(tensor.WithShape(len(labels), c), tensor.WithBacking(t)), nil
}

// ValidationSize parses the size of a validation split of n samples
// (FitData.ValidationSplit): a count ("5000") or a fraction in (0, 1)
// ("0.1", rounded, at least 1). At least one sample must be left to train
// on; n = math.MaxInt checks the syntax alone. Errors start with
// "validation".
func ValidationSize(v string, n int) (int, error) {
	var k int
	if strings.ContainsAny(v, ".eE") {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0 && f < 1) {
			return 0, fmt.Errorf("validation %q is neither a count of samples nor a fraction in (0, 1)", v)
		}
		if n == math.MaxInt {
			return 1, nil
		}
		k = max(1, int(math.Round(f*float64(n))))
	} else {
		var err error
		if k, err = strconv.Atoi(v); err != nil || k < 1 {
			return 0, fmt.Errorf("validation %q is neither a count of samples nor a fraction in (0, 1)", v)
		}
	}
	if k >= n {
		return 0, fmt.Errorf("validation %s takes %d of the %d training samples: none would be left to train on", v, k, n)
	}
	return k, nil
}
