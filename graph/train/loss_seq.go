package train

// Sparse losses over sequences: per-step class labels, (N, time...) of
// them for an output (time..., classes), and labels that count for
// nothing (PyTorch's ignore_index).

import (
	"fmt"
	"math"
	"strings"

	"github.com/tapenet/tapenet/graph"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// IgnoreIndex is a sparse loss (SparseCrossEntropy, the default, or
// SparseNLL) in which the label Index counts for nothing, as PyTorch's
// ignore_index: positions labelled Index add nothing to the loss or its
// gradient, and the loss is the mean over the other positions (PyTorch's
// reduction="mean"). For an output of per-sample shape (time, classes)
// the targets are (N, time) labels (any shape (N, positions...) matching
// the output's axes before classes), as F.cross_entropy on a (batch,
// classes, time) input; Index may be a padding id within [0, classes) or
// outside it (PyTorch's default -100). A batch in which every position is
// ignored has loss 0 and no gradient (PyTorch gives NaN). The formula per
// meaning is SparseCrossEntropy's or SparseNLL's. Trainer.Evaluate
// scores (accuracy, top-k, per class) only the labelled positions; its
// loss is the mean of the batches' losses weighted by their samples, which
// equals PyTorch's over the whole set when it is one batch.
type IgnoreIndex struct {
	// Loss is SparseCrossEntropy ("" means it) or SparseNLL.
	Loss LossName
	// Index is the label to ignore.
	Index int
}

func (l IgnoreIndex) base() LossName {
	if l.Loss == "" {
		return SparseCrossEntropy
	}
	return l.Loss
}

// String names the loss and the index, e.g.
// "sparse_cross_entropy(ignore_index=-100)".
func (l IgnoreIndex) String() string {
	return fmt.Sprintf("%s(ignore_index=%d)", l.base(), l.Index)
}

// Sparse reports true: the targets are labels.
func (l IgnoreIndex) Sparse() bool { return true }

// Input checks the output as the underlying sparse loss does.
func (l IgnoreIndex) Input(m graph.Meaning, shape []int) (bool, error) {
	if !l.base().Sparse() {
		return false, fmt.Errorf("ignore_index needs %s or %s, not %s", SparseCrossEntropy, SparseNLL, l.base())
	}
	return l.base().Input(m, shape)
}

// Build adds the loss against one-hot targets t whose ignored positions
// are rows of zeros (as the Trainer expands the labels): -Σ t·log p over
// every position divided by the number of labelled positions Σ t.
func (l IgnoreIndex) Build(y, t *gorgonia.Node, m graph.Meaning) (*gorgonia.Node, error) {
	return l.base().build(y, t, m, negSumPerLabel)
}

// negSumPerLabel returns -Σ terms / Σ t, with Σ t counted as 1 when it is
// 0 (every position ignored: the loss is then 0).
func negSumPerLabel(terms, t *gorgonia.Node) (*gorgonia.Node, error) {
	sum, err := gorgonia.Sum(terms)
	if err != nil {
		return nil, err
	}
	count, err := gorgonia.Sum(t)
	if err != nil {
		return nil, err
	}
	none, err := gorgonia.Lt(count, constant(0.5), true)
	if err != nil {
		return nil, err
	}
	if count, err = gorgonia.Add(count, none); err != nil {
		return nil, err
	}
	mean, err := gorgonia.Div(sum, count)
	if err != nil {
		return nil, err
	}
	return gorgonia.Neg(mean)
}

// ignored returns the label a sparse loss ignores, if any.
func ignored(l Loss) (int, bool) {
	if ig, ok := l.(IgnoreIndex); ok {
		return ig.Index, true
	}
	if ig, ok := l.(*IgnoreIndex); ok && ig != nil {
		return ig.Index, true
	}
	return 0, false
}

// sparseClasses returns the number of classes of a sparse loss's output
// of per-sample shape: its last axis. Every other axis is a position with
// a label of its own.
func sparseClasses(l Loss, shape []int) (int, error) {
	if len(shape) < 1 || shape[len(shape)-1] < 1 {
		return 0, fmt.Errorf("%s needs an output with a classes axis, not %v", l, shape)
	}
	return shape[len(shape)-1], nil
}

// sparseLabels returns the labels of n samples in t for a sparse loss l
// of an output of per-sample shape: t of shape (n) for an output
// (classes), else (n, shape without its last axis...), each label an
// integer in [0, classes) or the ignored label, which is returned as -1.
func sparseLabels(l Loss, t *tensor.Dense, n int, shape []int) ([]int, error) {
	classes, err := sparseClasses(l, shape)
	if err != nil {
		return nil, err
	}
	want := append([]int{n}, shape[:len(shape)-1]...)
	if t == nil || !t.Shape().Eq(tensor.Shape(want)) {
		if len(shape) == 1 {
			return nil, fmt.Errorf("labels have shape %v, want (N,)", shapeOf(t))
		}
		return nil, fmt.Errorf("labels have shape %v, want (N, %s): one per position of the output %v without its classes", shapeOf(t), strings.Trim(fmt.Sprint(shape[:len(shape)-1]), "[]"), shape)
	}
	c, err := graph.Contiguous(t)
	if err != nil {
		return nil, err
	}
	size := c.Shape().TotalSize()
	out := make([]int, size)
	switch d := c.Data().(type) {
	case []int:
		copy(out, d[:size])
	case []int64:
		for i := range out {
			if d[i] < math.MinInt32 || d[i] > math.MaxInt32 {
				return nil, fmt.Errorf("label %d is %d, not in [0, %d)", i, d[i], classes)
			}
			out[i] = int(d[i])
		}
	case []int32:
		for i := range out {
			out[i] = int(d[i])
		}
	case []float32:
		for i := range out {
			if d[i] != float32(math.Trunc(float64(d[i]))) || math.Abs(float64(d[i])) > 1<<30 {
				return nil, fmt.Errorf("label %d is %v, not a whole number", i, d[i])
			}
			out[i] = int(d[i])
		}
	default:
		return nil, fmt.Errorf("labels are %v, want ints or float32", c.Dtype())
	}
	ignore, hasIgnore := ignored(l)
	for i, v := range out {
		switch {
		case hasIgnore && v == ignore:
			out[i] = -1
		case v < 0 || v >= classes:
			if hasIgnore {
				return nil, fmt.Errorf("label %d is %d, not in [0, %d) nor the ignored %d", i, v, classes, ignore)
			}
			return nil, fmt.Errorf("label %d is %d, not in [0, %d)", i, v, classes)
		}
	}
	return out, nil
}

// fillOneHot writes the one-hot rows of the samples idx of labels (steps
// labels per sample, -1 for an ignored position: a row of zeros) into
// dst, which holds len(idx)·steps rows of classes values.
func fillOneHot(dst []float32, labels, idx []int, classes, steps int) error {
	if len(dst) != len(idx)*steps*classes {
		return fmt.Errorf("%d labels of %d classes per sample do not fit the model's %d values per sample", steps, classes, len(dst)/max(len(idx), 1))
	}
	clear(dst)
	for i, j := range idx {
		for s := 0; s < steps; s++ {
			if l := labels[j*steps+s]; l >= 0 {
				dst[(i*steps+s)*classes+l] = 1
			}
		}
	}
	return nil
}

// allSamples returns the indices 0..n-1.
func allSamples(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}
