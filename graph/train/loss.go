package train

import (
	"fmt"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/ops"
	"gorgonia.org/gorgonia"
)

// Loss is the training objective of one model output: a scalar node that
// the Trainer adds to the training graph. The built-in losses are
// LossName values; LossFunc wraps a function of your own.
type Loss interface {
	// String names the loss, e.g. "cross_entropy".
	String() string
	// Logits reports whether Build takes the output's logits: for an
	// output computed by a final Softmax or Sigmoid, the input of that
	// layer, which the training graph then leaves out. (An output with no
	// such layer is passed as it is either way.)
	Logits() bool
	// Build adds the loss of output y (batch, ...) against targets t, a
	// node of y's shape, to y's graph and returns the scalar loss node,
	// normally the mean over the batch.
	Build(y, t *gorgonia.Node) (*gorgonia.Node, error)
}

// LossName names a built-in loss. Each pairs with the output activation
// the book chooses by task, and is computed from the pre-activation values
// (the logits), which is exact and numerically stable.
type LossName string

// The built-in losses, by task.
const (
	// CrossEntropy is softmax + cross-entropy for multi-class
	// classification on one-hot (or any probability) targets: mean over
	// the batch of -Σ t·log softmax(z), with log softmax(z) = (z - max z) -
	// log Σ exp(z - max z). The book adds 1e-7 inside the log instead; the
	// fused form needs no such guard.
	CrossEntropy LossName = "cross_entropy"
	// SparseCrossEntropy is CrossEntropy on integer class labels: the
	// targets of the output are one class index per sample, a tensor of
	// shape (N,) holding ints (or float32 whole numbers) in [0, classes),
	// instead of (N, classes) one-hot rows. The Trainer checks each label
	// and expands it into the graph's one-hot target row, so the loss and
	// its gradient are exactly CrossEntropy's on the one-hot rows.
	SparseCrossEntropy LossName = "sparse_cross_entropy"
	// BinaryCrossEntropy is sigmoid + binary cross-entropy for binary (or
	// multi-label) tasks: mean of max(z,0) - z·t + log(1 + exp(-|z|)).
	BinaryCrossEntropy LossName = "binary_cross_entropy"
	// MeanSquaredError is mean squared error for regression: the mean over
	// all elements of (y - t)². (The book's ½·Σ differs by a constant
	// factor.)
	MeanSquaredError LossName = "mse"
)

// String returns the name.
func (l LossName) String() string { return string(l) }

// Logits reports whether the loss takes logits: all but MeanSquaredError.
func (l LossName) Logits() bool { return l != MeanSquaredError }

// Build adds the loss of output y against targets t.
func (l LossName) Build(y, t *gorgonia.Node) (*gorgonia.Node, error) {
	switch l {
	case CrossEntropy, SparseCrossEntropy:
		return softmaxCrossEntropy(y, t)
	case BinaryCrossEntropy:
		return sigmoidBinaryCrossEntropy(y, t)
	case MeanSquaredError:
		d, err := gorgonia.Sub(y, t)
		if err != nil {
			return nil, err
		}
		sq, err := gorgonia.Square(d)
		if err != nil {
			return nil, err
		}
		return gorgonia.Mean(sq)
	}
	return nil, fmt.Errorf("unknown loss %q", string(l))
}

// LossFunc is a Loss of your own: Func builds it on the output (its logits
// when OnLogits) and targets of the output's shape.
type LossFunc struct {
	// Name names the loss in messages.
	Name string
	// OnLogits makes the Trainer pass the logits of a final Softmax or
	// Sigmoid rather than its output.
	OnLogits bool
	// Func adds the scalar loss node.
	Func func(y, t *gorgonia.Node) (*gorgonia.Node, error)
}

// String returns Name.
func (l LossFunc) String() string { return l.Name }

// Logits returns OnLogits.
func (l LossFunc) Logits() bool { return l.OnLogits }

// Build calls Func.
func (l LossFunc) Build(y, t *gorgonia.Node) (*gorgonia.Node, error) {
	if l.Func == nil {
		return nil, fmt.Errorf("loss %q has no Func", l.Name)
	}
	return l.Func(y, t)
}

// LossFor returns the loss the book pairs with output i of the model, by
// the layer that computes it, and whether the loss fuses with that layer
// (a final softmax or sigmoid, left out of the training graph so the loss
// is computed from the logits).
func LossFor(m *graph.Model, i int) (Loss, bool) {
	switch m.OutputLayer(i).(type) {
	case graph.Softmax:
		return CrossEntropy, true
	case graph.Sigmoid:
		return BinaryCrossEntropy, true
	}
	return MeanSquaredError, false
}

func softmaxCrossEntropy(z, t *gorgonia.Node) (*gorgonia.Node, error) {
	e, shifted, err := ops.ShiftedExp(z)
	if err != nil {
		return nil, err
	}
	sum, err := gorgonia.Sum(e, 1)
	if err != nil {
		return nil, err
	}
	lse, err := gorgonia.Log(sum)
	if err != nil {
		return nil, err
	}
	logp, err := gorgonia.BroadcastSub(shifted, lse, nil, []byte{1})
	if err != nil {
		return nil, err
	}
	tl, err := gorgonia.HadamardProd(t, logp)
	if err != nil {
		return nil, err
	}
	perSample, err := gorgonia.Sum(tl, 1)
	if err != nil {
		return nil, err
	}
	mean, err := gorgonia.Mean(perSample)
	if err != nil {
		return nil, err
	}
	return gorgonia.Neg(mean)
}

func sigmoidBinaryCrossEntropy(z, t *gorgonia.Node) (*gorgonia.Node, error) {
	pos, err := ops.ReLU(z) // max(z, 0), as gorgonia.Rectify, without its global counter
	if err != nil {
		return nil, err
	}
	zt, err := gorgonia.HadamardProd(z, t)
	if err != nil {
		return nil, err
	}
	abs, err := gorgonia.Abs(z)
	if err != nil {
		return nil, err
	}
	negAbs, err := gorgonia.Neg(abs)
	if err != nil {
		return nil, err
	}
	ex, err := gorgonia.Exp(negAbs)
	if err != nil {
		return nil, err
	}
	soft, err := gorgonia.Log1p(ex)
	if err != nil {
		return nil, err
	}
	a, err := gorgonia.Sub(pos, zt)
	if err != nil {
		return nil, err
	}
	b, err := gorgonia.Add(a, soft)
	if err != nil {
		return nil, err
	}
	return gorgonia.Mean(b)
}
