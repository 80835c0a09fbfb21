package graph

import (
	"fmt"
	"math"
)

// Meaning says what the values of a layer's output are: what a loss, a
// prediction (Classify, top-k), a metric and the server ask of a model
// output. A layer says it by implementing Meaner; a layer that does not
// computes Values.
type Meaning string

// The meanings of an output.
const (
	// Values are plain numbers: a regression's predictions, features, or
	// scores of no stated kind.
	Values Meaning = "values"
	// Probabilities are class probabilities along the last axis (a
	// softmax's output): each row sums to 1.
	Probabilities Meaning = "probabilities"
	// LogProbabilities are the logarithms of class probabilities along the
	// last axis (a log-softmax's output).
	LogProbabilities Meaning = "log_probabilities"
	// Logits are unnormalised class scores along the last axis: softmax
	// turns them into Probabilities.
	Logits Meaning = "logits"
	// BinaryProbabilities are independent probabilities, one per element
	// (a sigmoid's output): binary or multi-label tasks.
	BinaryProbabilities Meaning = "binary_probabilities"
	// BinaryLogits are the logits of BinaryProbabilities: the sigmoid
	// turns them into probabilities.
	BinaryLogits Meaning = "binary_logits"
)

// Meanings lists every Meaning.
var meanings = []Meaning{Values, Probabilities, LogProbabilities, Logits, BinaryProbabilities, BinaryLogits}

// ParseMeaning returns the Meaning named s ("" is Values).
func ParseMeaning(s string) (Meaning, error) {
	if s == "" {
		return Values, nil
	}
	for _, m := range meanings {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown output meaning %q (known: %v)", s, meanings)
}

// Classes reports whether the meaning is one of the multi-class kinds
// (Probabilities, LogProbabilities, Logits): an argmax over the last axis
// picks the predicted class.
func (m Meaning) Classes() bool {
	return m == Probabilities || m == LogProbabilities || m == Logits
}

// Binary reports whether the meaning is BinaryProbabilities or BinaryLogits.
func (m Meaning) Binary() bool { return m == BinaryProbabilities || m == BinaryLogits }

// Classification reports whether the output predicts classes (Classes or
// Binary), as opposed to Values.
func (m Meaning) Classification() bool { return m.Classes() || m.Binary() }

// Meaner is implemented by a layer that says what its output means.
// Softmax says Probabilities, Sigmoid BinaryProbabilities; imported ONNX
// layers implement it too.
type Meaner interface {
	Layer
	// Meaning says what the layer's output values are.
	Meaning() Meaning
}

// Normalizer is a Meaner whose output is a normalisation (softmax,
// log-softmax or sigmoid over its single input) of logits: its input's
// meaning is Logits (or BinaryLogits for a sigmoid). A training graph may
// leave such a final layer out and compute a fused loss from the logits
// (BuildOptions.Logits), and an argmax may skip it.
type Normalizer interface {
	Meaner
	// NormalizesLogits marks the layer; it has no behaviour.
	NormalizesLogits()
}

// MeaningOf returns what a layer's output means: the layer's own answer if
// it is a Meaner, Values otherwise.
func MeaningOf(l Layer) Meaning {
	if m, ok := l.(Meaner); ok {
		if v := m.Meaning(); v != "" {
			return v
		}
	}
	return Values
}

// LogitsMeaning returns the meaning of the input of a Normalizer of the
// given output meaning: Logits for Probabilities and LogProbabilities,
// BinaryLogits for BinaryProbabilities, and m itself otherwise.
func LogitsMeaning(m Meaning) Meaning {
	switch m {
	case Probabilities, LogProbabilities:
		return Logits
	case BinaryProbabilities:
		return BinaryLogits
	}
	return m
}

// OutputMeaning returns what output i of the model means: the answer of
// the layer that computes it (see Meaner).
func (m *Model) OutputMeaning(i int) Meaning { return MeaningOf(m.OutputLayer(i)) }

// ToProbabilities turns rows of an output of the given meaning into
// probabilities in place: softmax (with each row's own maximum subtracted)
// over rows of width cols for Logits, exp for LogProbabilities, the
// logistic function for BinaryLogits. Probabilities and
// BinaryProbabilities are left as they are; Values is an error, since
// regression values are not probabilities. This is the one place outside
// the graph that computes a softmax.
func ToProbabilities(m Meaning, data []float32, cols int) error {
	switch m {
	case Probabilities, BinaryProbabilities:
		return nil
	case Logits:
		if cols < 1 || len(data)%cols != 0 {
			return fmt.Errorf("softmax: %d values are not rows of %d", len(data), cols)
		}
		for r := 0; r < len(data); r += cols {
			SoftmaxRow(data[r : r+cols])
		}
		return nil
	case LogProbabilities:
		for i, v := range data {
			data[i] = float32(math.Exp(float64(v)))
		}
		return nil
	case BinaryLogits:
		for i, v := range data {
			data[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
		return nil
	}
	return fmt.Errorf("an output of meaning %q is not probabilities", m)
}

// SoftmaxRow replaces row by its softmax, subtracting the row's maximum
// first (the book's overflow guard), in float64 sums.
func SoftmaxRow(row []float32) {
	if len(row) == 0 {
		return
	}
	mx := row[0]
	for _, v := range row[1:] {
		if v > mx {
			mx = v
		}
	}
	var sum float64
	for i, v := range row {
		e := math.Exp(float64(v - mx))
		row[i] = float32(e)
		sum += e
	}
	for i := range row {
		row[i] = float32(float64(row[i]) / sum)
	}
}

// LayerError is the error of declaring, building or loading one layer of a
// model: the layer's name (empty while it is being applied, before
// NewModel names it), its kind and the cause. Use errors.As to get it.
type LayerError struct {
	// Layer is the layer's name in its model ("" if not yet named).
	Layer string
	// Kind is the layer's kind.
	Kind string
	// Err is the cause.
	Err error
}

// Error names the layer and its kind, then the cause.
func (e *LayerError) Error() string {
	if e.Layer == "" {
		return fmt.Sprintf("layer %s: %v", e.Kind, e.Err)
	}
	return fmt.Sprintf("layer %s (%s): %v", e.Layer, e.Kind, e.Err)
}

// Unwrap returns the cause.
func (e *LayerError) Unwrap() error { return e.Err }
