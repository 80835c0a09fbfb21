package train

import (
	"fmt"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/ops"
	"gorgonia.org/gorgonia"
)

// Loss names a training objective. Each pairs with the output activation
// the book chooses by task, and is computed from the pre-activation values
// (the logits) when fused with it, which is exact and numerically stable.
type Loss string

// The losses, by task.
const (
	// CrossEntropy is softmax + cross-entropy for multi-class
	// classification: mean over the batch of -Σ t·log softmax(z), with
	// log softmax(z) = (z - max z) - log Σ exp(z - max z). The book adds 1e-7
	// inside the log instead; the fused form needs no such guard.
	CrossEntropy Loss = "cross_entropy"
	// BinaryCrossEntropy is sigmoid + binary cross-entropy for binary (or
	// multi-label) tasks: mean of max(z,0) - z·t + log(1 + exp(-|z|)).
	BinaryCrossEntropy Loss = "binary_cross_entropy"
	// MeanSquaredError is identity + mean squared error for regression:
	// the mean over all elements of (y - t)². (The book's ½·Σ differs by a
	// constant factor.)
	MeanSquaredError Loss = "mse"
)

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

// build adds the loss of output z (logits when fused) against targets t,
// both (batch, outputs), and returns the scalar loss node.
func (l Loss) build(z, t *gorgonia.Node) (*gorgonia.Node, error) {
	switch l {
	case CrossEntropy:
		return softmaxCrossEntropy(z, t)
	case BinaryCrossEntropy:
		return sigmoidBinaryCrossEntropy(z, t)
	case MeanSquaredError:
		d, err := gorgonia.Sub(z, t)
		if err != nil {
			return nil, err
		}
		sq, err := gorgonia.Square(d)
		if err != nil {
			return nil, err
		}
		return gorgonia.Mean(sq)
	}
	return nil, fmt.Errorf("unknown loss %q", l)
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
	pos, err := gorgonia.Rectify(z)
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
