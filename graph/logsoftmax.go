package graph

import (
	"gorgonia.org/gorgonia"

	"github.com/tapenet/tapenet/graph/ops"
)

// LogSoftmax is the logarithm of Softmax over each row (sample) of a
// (batch, classes) input: x - max - log(sum(exp(x - max))), with each
// row's own maximum subtracted first, so that no exponential overflows.
// Its output means LogProbabilities: the layer to end a model trained with
// the negative log-likelihood (PyTorch's log_softmax + nll_loss). It is a
// Normalizer: BuildOptions.Logits leaves it out.
type LogSoftmax struct{}

// Kind returns "log_softmax".
func (LogSoftmax) Kind() string { return "log_softmax" }

// Forward adds the row-wise log-softmax of x.
func (LogSoftmax) Forward(_ *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return ops.LogSoftmax(x)
}

// Meaning returns LogProbabilities.
func (LogSoftmax) Meaning() Meaning { return LogProbabilities }

// NormalizesLogits marks LogSoftmax as a Normalizer of Logits.
func (LogSoftmax) NormalizesLogits() {}
