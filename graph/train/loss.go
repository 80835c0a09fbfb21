package train

import (
	"fmt"
	"slices"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/ops"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Loss is the training objective of one model output: a scalar node that
// the Trainer adds to the training graph. The built-in losses are
// LossName values, which pick their formula from what the output means
// (graph.Meaning); LossFunc wraps a function of your own.
type Loss interface {
	// String names the loss, e.g. "cross_entropy".
	String() string
	// Input checks that the loss fits an output of meaning m and of
	// per-sample shape, and reports whether it takes the output's logits:
	// for an output computed by a final graph.Normalizer (softmax,
	// log-softmax, sigmoid), the input of that layer, which the training
	// graph then leaves out. An output with no such layer is passed as it
	// is either way.
	Input(m graph.Meaning, shape []int) (logits bool, err error)
	// Build adds the loss of y (batch, ...) against targets t, a node of
	// y's shape, to y's graph and returns the scalar loss node, normally
	// the mean over the batch. m is the meaning of y as passed: the
	// output's, or graph.LogitsMeaning of it when y is the logits.
	Build(y, t *gorgonia.Node, m graph.Meaning) (*gorgonia.Node, error)
}

// SparseLoss is a Loss whose targets are class labels: one integer per
// sample, a tensor of shape (N,), instead of (N, classes) one-hot rows.
// The Trainer checks each label and expands it into the graph's one-hot
// target row, so the loss and its gradient are those of the dense loss on
// the one-hot rows.
type SparseLoss interface {
	Loss
	// Sparse reports whether the targets are labels.
	Sparse() bool
}

// LossName names a built-in loss. Each is computed in the form that fits
// the meaning of the output (graph.Meaning): on the logits of a final
// softmax or sigmoid, which is exact and numerically stable, or on the
// output as it is. A loss that does not fit the output (cross-entropy on
// one value, nll on probabilities) is an error when the Trainer is made.
type LossName string

// The built-in losses, by task. Their values are the names LossByName
// takes; the formulas are PyTorch's (torch.nn.functional), and the tests
// compare values and gradients with it.
const (
	// CrossEntropy is multi-class cross-entropy on one-hot (or any
	// probability) targets t, the mean over the samples of -Σ t·log p
	// along the last axis. On logits z (a softmax's input, or a Values
	// output of at least two values taken as logits) it is fused with
	// the softmax: log p = (z - max z) - log Σ exp(z - max z)
	// (F.cross_entropy). On the output of a log-softmax it is NLL's
	// -Σ t·y; on probabilities that are not cut from their logits, the
	// book's -Σ t·log(p + 1e-7).
	CrossEntropy LossName = "cross_entropy"
	// SparseCrossEntropy is CrossEntropy on integer class labels (see
	// SparseLoss).
	SparseCrossEntropy LossName = "sparse_cross_entropy"
	// NLL is the negative log-likelihood of log-probabilities y (a
	// log-softmax's output, or Values taken as log-probabilities): the
	// mean over the samples of -Σ t·y (F.nll_loss on one-hot rows). On a
	// final log-softmax it is computed from the logits, fused as
	// CrossEntropy is. Probabilities and logits are an error: use
	// cross_entropy.
	NLL LossName = "nll"
	// SparseNLL is NLL on integer class labels (F.nll_loss).
	SparseNLL LossName = "sparse_nll"
	// BinaryCrossEntropy is binary (or multi-label) cross-entropy, the
	// mean over every element. On logits z (a sigmoid's input,
	// BinaryLogits, or Values taken as logits):
	// max(z,0) - z·t + log(1 + exp(-|z|)) (F.binary_cross_entropy_with_logits);
	// on binary probabilities not cut from their logits:
	// -(t·log(p + 1e-12) + (1-t)·log(1 - p + 1e-12)).
	BinaryCrossEntropy LossName = "binary_cross_entropy"
	// MeanSquaredError is the mean over all elements of (y - t)²
	// (F.mse_loss; the book's ½·Σ differs by a constant factor).
	MeanSquaredError LossName = "mse"
	// MeanAbsoluteError is the mean over all elements of |y - t|
	// (F.l1_loss).
	MeanAbsoluteError LossName = "mae"
	// Huber is the mean over all elements of ½d² where |d| < 1 and
	// |d| - ½ elsewhere, d = y - t (F.huber_loss with delta 1).
	Huber LossName = "huber"
)

// lossNames lists the built-in losses in the order LossNames gives.
var lossNames = []LossName{CrossEntropy, SparseCrossEntropy, NLL, SparseNLL, BinaryCrossEntropy, MeanSquaredError, MeanAbsoluteError, Huber}

// LossNames lists the names LossByName knows.
func LossNames() []string {
	out := make([]string, len(lossNames))
	for i, l := range lossNames {
		out[i] = string(l)
	}
	return out
}

// LossByName returns the built-in loss of a name (see LossNames).
func LossByName(name string) (Loss, error) {
	for _, l := range lossNames {
		if string(l) == name {
			return l, nil
		}
	}
	return nil, fmt.Errorf("unknown loss %q (want one of %v)", name, LossNames())
}

// DefaultLoss returns the loss that fits an output of meaning m:
// CrossEntropy for Probabilities and Logits, NLL for LogProbabilities,
// BinaryCrossEntropy for BinaryProbabilities and BinaryLogits. A Values
// output takes MeanSquaredError, unless classes says that its targets are
// classes (one-hot rows or labels): then the values are taken as logits
// and the loss is CrossEntropy (an imported model ending in a plain
// linear layer, say).
func DefaultLoss(m graph.Meaning, classes bool) Loss {
	switch {
	case m == graph.LogProbabilities:
		return NLL
	case m.Classes():
		return CrossEntropy
	case m.Binary():
		return BinaryCrossEntropy
	case classes:
		return CrossEntropy
	}
	return MeanSquaredError
}

// LossFor returns the default loss (DefaultLoss, the targets not said to
// be classes) of output i of the model, from the output's meaning, and
// whether it takes the logits of the output's final normalisation.
func LossFor(m *graph.Model, i int) (Loss, bool) {
	meaning := m.OutputMeaning(i)
	l := DefaultLoss(meaning, false)
	logits, err := l.Input(meaning, m.OutputShape(i))
	_, norm := m.OutputLayer(i).(graph.Normalizer)
	return l, err == nil && logits && norm
}

// String returns the name.
func (l LossName) String() string { return string(l) }

// Sparse reports whether the loss takes class labels.
func (l LossName) Sparse() bool { return l == SparseCrossEntropy || l == SparseNLL }

// dense returns the loss on one-hot rows that a sparse loss expands to.
func (l LossName) dense() LossName {
	switch l {
	case SparseCrossEntropy:
		return CrossEntropy
	case SparseNLL:
		return NLL
	}
	return l
}

// Input checks that the loss fits an output of meaning m and per-sample
// shape, and reports whether it takes the logits of a final normalisation.
func (l LossName) Input(m graph.Meaning, shape []int) (bool, error) {
	if m == "" {
		m = graph.Values
	}
	switch l.dense() {
	case CrossEntropy:
		if m.Binary() {
			return false, fmt.Errorf("%s needs class scores along the last axis, but the output is %s: use %s", l, m, BinaryCrossEntropy)
		}
		if len(shape) == 0 || shape[len(shape)-1] < 2 {
			return false, fmt.Errorf("%s needs at least 2 classes along the last axis, but the output has shape %v (a regression head? use %s)", l, shape, MeanSquaredError)
		}
		return m == graph.Probabilities || m == graph.LogProbabilities, nil
	case NLL:
		switch m {
		case graph.Probabilities, graph.Logits:
			return false, fmt.Errorf("%s needs log-probabilities, but the output is %s: use %s", l, m, CrossEntropy)
		case graph.BinaryProbabilities, graph.BinaryLogits:
			return false, fmt.Errorf("%s needs log-probabilities of classes, but the output is %s: use %s", l, m, BinaryCrossEntropy)
		}
		if len(shape) == 0 || shape[len(shape)-1] < 2 {
			return false, fmt.Errorf("%s needs at least 2 classes along the last axis, but the output has shape %v", l, shape)
		}
		return m == graph.LogProbabilities, nil
	case BinaryCrossEntropy:
		if m.Classes() {
			return false, fmt.Errorf("%s needs independent binary scores, but the output is %s: use %s", l, m, CrossEntropy)
		}
		return m == graph.BinaryProbabilities, nil
	case MeanSquaredError, MeanAbsoluteError, Huber:
		return false, nil
	}
	return false, fmt.Errorf("unknown loss %q (want one of %v)", string(l), LossNames())
}

// Build adds the loss of y, of meaning m, against targets t.
func (l LossName) Build(y, t *gorgonia.Node, m graph.Meaning) (*gorgonia.Node, error) {
	return l.build(y, t, m, negMeanRowSum)
}

// reduction turns the per-element terms t·log p of a cross-entropy, rows
// (positions) by classes, into the scalar loss; t is the targets.
type reduction func(terms, t *gorgonia.Node) (*gorgonia.Node, error)

// build is Build with the cross-entropies' terms reduced by reduce.
func (l LossName) build(y, t *gorgonia.Node, m graph.Meaning, reduce reduction) (*gorgonia.Node, error) {
	switch l.dense() {
	case CrossEntropy:
		switch m {
		case graph.Probabilities:
			return crossEntropyOnProbabilities(y, t, reduce)
		case graph.LogProbabilities:
			return nllOnLogProbabilities(y, t, reduce)
		}
		return softmaxCrossEntropy(y, t, reduce)
	case NLL:
		if m == graph.Logits {
			return softmaxCrossEntropy(y, t, reduce) // the logits of a final log-softmax
		}
		return nllOnLogProbabilities(y, t, reduce)
	case BinaryCrossEntropy:
		if m == graph.BinaryProbabilities {
			return binaryCrossEntropyOnProbabilities(y, t)
		}
		return sigmoidBinaryCrossEntropy(y, t)
	case MeanSquaredError:
		return elementwise(y, t, func(d *gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Square(d) })
	case MeanAbsoluteError:
		return elementwise(y, t, func(d *gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Abs(d) })
	case Huber:
		return elementwise(y, t, huber)
	}
	return nil, fmt.Errorf("unknown loss %q", string(l))
}

// LossFunc is a Loss of your own: Func builds it on the output (its logits
// when OnLogits) and targets of the output's shape.
type LossFunc struct {
	// Name names the loss in messages.
	Name string
	// OnLogits makes the Trainer pass the logits of a final normalisation
	// (softmax, log-softmax, sigmoid) rather than its output.
	OnLogits bool
	// Func adds the scalar loss node.
	Func func(y, t *gorgonia.Node) (*gorgonia.Node, error)
}

// String returns Name.
func (l LossFunc) String() string { return l.Name }

// Input returns OnLogits: a LossFunc takes any output.
func (l LossFunc) Input(graph.Meaning, []int) (bool, error) { return l.OnLogits, nil }

// Build calls Func.
func (l LossFunc) Build(y, t *gorgonia.Node, _ graph.Meaning) (*gorgonia.Node, error) {
	if l.Func == nil {
		return nil, fmt.Errorf("loss %q has no Func", l.Name)
	}
	return l.Func(y, t)
}

// isSparse reports whether l takes class labels.
func isSparse(l Loss) bool {
	s, ok := l.(SparseLoss)
	return ok && s.Sparse()
}

// rows reshapes y and t of rank above 2 to (rows, classes), so that a loss
// along the last axis sees one sample per row (the mean is then over every
// position, as PyTorch's is for (N, C, d...) inputs).
func rows(y, t *gorgonia.Node) (*gorgonia.Node, *gorgonia.Node, error) {
	if y.Dims() < 2 {
		return nil, nil, fmt.Errorf("needs (batch, classes) values, got shape %v", y.Shape())
	}
	if y.Dims() == 2 {
		return y, t, nil
	}
	s := y.Shape()
	c := s[len(s)-1]
	n := s.TotalSize() / c
	// Copies (ops.Reshape), not gorgonia.Reshape's views: the softmax's
	// shift runs in place.
	y2, err := ops.Reshape(y, tensor.Shape{n, c})
	if err != nil {
		return nil, nil, err
	}
	t2, err := ops.Reshape(t, tensor.Shape{n, c})
	if err != nil {
		return nil, nil, err
	}
	return y2, t2, nil
}

// negMeanRowSum returns -mean over the rows of Σ a along axis 1.
func negMeanRowSum(a, _ *gorgonia.Node) (*gorgonia.Node, error) {
	perSample, err := gorgonia.Sum(a, 1)
	if err != nil {
		return nil, err
	}
	mean, err := gorgonia.Mean(perSample)
	if err != nil {
		return nil, err
	}
	return gorgonia.Neg(mean)
}

func softmaxCrossEntropy(z, t *gorgonia.Node, reduce reduction) (*gorgonia.Node, error) {
	z, t, err := rows(z, t)
	if err != nil {
		return nil, err
	}
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
	return reduce(tl, t)
}

func nllOnLogProbabilities(y, t *gorgonia.Node, reduce reduction) (*gorgonia.Node, error) {
	y, t, err := rows(y, t)
	if err != nil {
		return nil, err
	}
	ty, err := gorgonia.HadamardProd(t, y)
	if err != nil {
		return nil, err
	}
	return reduce(ty, t)
}

func crossEntropyOnProbabilities(p, t *gorgonia.Node, reduce reduction) (*gorgonia.Node, error) {
	p, t, err := rows(p, t)
	if err != nil {
		return nil, err
	}
	guarded, err := gorgonia.Add(p, constant(1e-7))
	if err != nil {
		return nil, err
	}
	logp, err := gorgonia.Log(guarded)
	if err != nil {
		return nil, err
	}
	return nllOnLogProbabilities(logp, t, reduce)
}

func constant(v float32) *gorgonia.Node { return gorgonia.NewConstant(v) }

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

func binaryCrossEntropyOnProbabilities(p, t *gorgonia.Node) (*gorgonia.Node, error) {
	const eps = 1e-12
	pe, err := gorgonia.Add(p, constant(eps))
	if err != nil {
		return nil, err
	}
	logp, err := gorgonia.Log(pe)
	if err != nil {
		return nil, err
	}
	q, err := gorgonia.Sub(constant(1+eps), p)
	if err != nil {
		return nil, err
	}
	logq, err := gorgonia.Log(q)
	if err != nil {
		return nil, err
	}
	u, err := gorgonia.Sub(constant(1), t)
	if err != nil {
		return nil, err
	}
	a, err := gorgonia.HadamardProd(t, logp)
	if err != nil {
		return nil, err
	}
	b, err := gorgonia.HadamardProd(u, logq)
	if err != nil {
		return nil, err
	}
	s, err := gorgonia.Add(a, b)
	if err != nil {
		return nil, err
	}
	mean, err := gorgonia.Mean(s)
	if err != nil {
		return nil, err
	}
	return gorgonia.Neg(mean)
}

// elementwise returns the mean over all elements of f(y - t).
func elementwise(y, t *gorgonia.Node, f func(d *gorgonia.Node) (*gorgonia.Node, error)) (*gorgonia.Node, error) {
	if !slices.Equal([]int(y.Shape()), []int(t.Shape())) {
		return nil, fmt.Errorf("output of shape %v against targets of shape %v", y.Shape(), t.Shape())
	}
	d, err := gorgonia.Sub(y, t)
	if err != nil {
		return nil, err
	}
	e, err := f(d)
	if err != nil {
		return nil, err
	}
	return gorgonia.Mean(e)
}

// huber is ½q² + (|d| - q) with q = min(|d|, 1) = |d| - max(|d| - 1, 0):
// ½d² where |d| < 1, |d| - ½ elsewhere.
func huber(d *gorgonia.Node) (*gorgonia.Node, error) {
	a, err := gorgonia.Abs(d)
	if err != nil {
		return nil, err
	}
	over, err := gorgonia.Sub(a, constant(1))
	if err != nil {
		return nil, err
	}
	excess, err := ops.ReLU(over)
	if err != nil {
		return nil, err
	}
	q, err := gorgonia.Sub(a, excess)
	if err != nil {
		return nil, err
	}
	q2, err := gorgonia.Square(q)
	if err != nil {
		return nil, err
	}
	half, err := gorgonia.Mul(q2, constant(0.5))
	if err != nil {
		return nil, err
	}
	return gorgonia.Add(half, excess)
}
