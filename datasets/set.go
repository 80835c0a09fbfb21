package datasets

import (
	"fmt"
	"iter"
	"sync"

	"gorgonia.org/tensor"
)

// Options are the book's load_mnist options.
type Options struct {
	// Normalize scales pixels to float32 in [0, 1] (pixel/255); otherwise
	// they keep their raw values 0-255 (as float32).
	Normalize bool
	// Flatten gives each image as a vector of channels*rows*cols values
	// ((N, 784) for MNIST); otherwise as (N, channels, rows, cols),
	// channels first ((N, 1, 28, 28) for MNIST).
	Flatten bool
	// OneHot fills Set.OneHot with (N, classes) one-hot label rows.
	OneHot bool
	// SampleShape, when not nil, is the per-sample shape the caller needs
	// ([784] flattened, [1 28 28] not): images of another size are refused
	// from the file's header, before any pixel is read.
	SampleShape []int
}

// Set is a labelled data set held in memory: N samples of one shape.
type Set struct {
	// X holds the samples, float32, shape (N, sample shape...).
	X *tensor.Dense
	// Labels holds the class of each sample.
	Labels []int
	// OneHot is the (N, Classes) one-hot form of Labels when
	// Options.OneHot was set, else nil.
	OneHot *tensor.Dense
	// Classes is the number of classes (0 for a regression set).
	Classes int
	// Targets holds the float32 regression targets of a regression set,
	// shape (N, k), one row per sample; nil for a classification set,
	// whose Labels, OneHot and Classes are then nil, nil and 0.
	Targets *tensor.Dense
}

// Regression reports whether s is a regression set: its samples have
// targets (Targets), not classes.
func (s *Set) Regression() bool { return s.Targets != nil }

// TargetColumns returns the number of regression targets per sample (k of
// Targets' (N, k)), 0 for a classification set.
func (s *Set) TargetColumns() int {
	if s.Targets == nil {
		return 0
	}
	return s.Targets.Shape()[1]
}

// NewSet builds a Set from raw bytes (one per element, N samples of the
// given per-sample shape) and their labels. N must be at least 1.
func NewSet(raw []byte, sample []int, labels []int, classes int, opt Options) (*Set, error) {
	per := 1
	for _, d := range sample {
		per *= d
	}
	n := len(labels)
	if n == 0 {
		return nil, fmt.Errorf("no samples: a set needs at least one")
	}
	if per == 0 || len(raw) != n*per {
		return nil, fmt.Errorf("%d bytes do not hold %d samples of shape %v", len(raw), n, sample)
	}
	xs := make([]float32, len(raw))
	// The book divides float32 pixels by 255 in float32: so does this table.
	var lut [256]float32
	for i := range lut {
		lut[i] = float32(i)
	}
	if opt.Normalize {
		for i := range lut {
			lut[i] = float32(i) / 255
		}
	}
	// Two halves on two goroutines: the 47 million training pixels take a
	// noticeable part of start-up on one core.
	half := len(raw) / 2
	var wg sync.WaitGroup
	wg.Go(func() {
		for i, b := range raw[:half] {
			xs[i] = lut[b]
		}
	})
	for i, b := range raw[half:] {
		xs[half+i] = lut[b]
	}
	wg.Wait()
	s := &Set{
		X:       tensor.New(tensor.WithShape(append([]int{n}, sample...)...), tensor.WithBacking(xs)),
		Labels:  labels,
		Classes: classes,
	}
	if opt.OneHot {
		s.OneHot = OneHot(labels, classes)
	}
	return s, nil
}

// OneHot returns the (len(labels), classes) float32 one-hot matrix of labels.
// Labels outside [0, classes) give an all-zero row.
func OneHot(labels []int, classes int) *tensor.Dense {
	t := make([]float32, len(labels)*classes)
	for i, l := range labels {
		if l >= 0 && l < classes {
			t[i*classes+l] = 1
		}
	}
	return tensor.New(tensor.WithShape(len(labels), classes), tensor.WithBacking(t))
}

// Len returns the number of samples.
func (s *Set) Len() int {
	if s.X == nil {
		return len(s.Labels)
	}
	return s.X.Shape()[0]
}

// SampleShape returns the shape of one sample, e.g. [784] or [1 28 28].
func (s *Set) SampleShape() []int { return append([]int(nil), s.X.Shape()[1:]...) }

// SampleSize returns the number of values in one sample.
func (s *Set) SampleSize() int { return s.X.Shape().TotalSize() / max(s.Len(), 1) }

// Data returns the samples' values, row-major, shared with s.X.
func (s *Set) Data() []float32 { return s.X.Data().([]float32) }

// Head returns a Set of the first n samples (all if n <= 0 or n >= Len),
// sharing memory with s.
func (s *Set) Head(n int) *Set {
	if n <= 0 || n >= s.Len() {
		return s
	}
	return s.Slice(0, n)
}

// Slice returns samples [from, to) as a Set sharing memory with s.
func (s *Set) Slice(from, to int) *Set {
	per := s.SampleSize()
	shape := append([]int{to - from}, s.SampleShape()...)
	out := &Set{
		X:       tensor.New(tensor.WithShape(shape...), tensor.WithBacking(s.Data()[from*per:to*per])),
		Classes: s.Classes,
	}
	if s.Labels != nil {
		out.Labels = s.Labels[from:to]
	}
	if s.Targets != nil {
		k := s.TargetColumns()
		ts := s.Targets.Data().([]float32)
		out.Targets = tensor.New(tensor.WithShape(to-from, k), tensor.WithBacking(ts[from*k:to*k]))
	}
	if s.OneHot != nil {
		oh := s.OneHot.Data().([]float32)
		out.OneHot = tensor.New(tensor.WithShape(to-from, s.Classes), tensor.WithBacking(oh[from*s.Classes:to*s.Classes]))
	}
	return out
}

// Batch is a run of consecutive samples of a Set.
type Batch struct {
	// Start is the index of the first sample in the Set.
	Start int
	// X holds the samples (a view of the Set's memory, not a copy).
	X *tensor.Dense
	// Labels holds their classes (nil for a regression set).
	Labels []int
	// Targets holds their regression targets, (size, k), a view of the
	// Set's memory; nil for a classification set.
	Targets *tensor.Dense
}

// Batches yields the Set in order in batches of size samples; the last batch
// holds the remainder, so every sample appears exactly once. Batches of a
// size below 1 yield nothing.
func (s *Set) Batches(size int) iter.Seq[Batch] {
	return func(yield func(Batch) bool) {
		if size < 1 {
			return
		}
		for from := 0; from < s.Len(); from += size {
			to := min(from+size, s.Len())
			sub := s.Slice(from, to)
			if !yield(Batch{Start: from, X: sub.X, Labels: sub.Labels, Targets: sub.Targets}) {
				return
			}
		}
	}
}
