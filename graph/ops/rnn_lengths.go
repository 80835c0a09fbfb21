package ops

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// layerNamer is an op that names, in its run-time errors, the model layer
// that added it (see InLayer).
type layerNamer interface{ setLayer(name string) }

// inLayer names a model layer in the run-time errors of an op that embeds
// it.
type inLayer struct{ layer string }

func (l *inLayer) setLayer(name string) { l.layer = name }

// wrap prefixes err with the layer's name, if one is set.
func (l *inLayer) wrap(err error) error {
	if err == nil || l.layer == "" {
		return err
	}
	return fmt.Errorf("layer %s: %w", l.layer, err)
}

// InLayer names layer, the model layer that added n, in the run-time
// errors of n's op (a bad id, length or mask reads "layer NAME: ..."),
// for the ops that report it: recurrent (RecurrentWith), embedding (Embed)
// and MaskedMean. Other nodes are left as they are. It returns n.
func InLayer(n *gorgonia.Node, layer string) *gorgonia.Node {
	if n == nil {
		return n
	}
	if op, ok := n.Op().(layerNamer); ok {
		op.setLayer(layer)
	}
	return n
}

// seqLens describes the input that gives a padded batch's lengths: either
// lengths themselves (int64 or int32, (batch) or (batch, 1)) or a padding
// mask (bool or float32, (batch, time), true or nonzero on padding steps).
type seqLens struct {
	given bool
	mask  bool
	dims  int
	dtype tensor.Dtype
}

func (l seqLens) arity() int {
	if l.given {
		return 1
	}
	return 0
}

func (l seqLens) typ() hm.Type { return gorgonia.TensorType{Dims: l.dims, Of: l.dtype} }

// newSeqLens checks the lengths or mask node n for a batch of b sequences
// of t steps.
func newSeqLens(n *gorgonia.Node, b, t int) (seqLens, error) {
	l := seqLens{given: true, dims: n.Dims(), dtype: n.Dtype()}
	shape := n.Shape()
	switch n.Dtype() {
	case tensor.Int64, tensor.Int32:
		if !(shape.Eq(tensor.Shape{b}) || shape.Eq(tensor.Shape{b, 1})) {
			return l, fmt.Errorf("lengths of shape %v, want (batch) or (batch, 1) = (%d)", shape, b)
		}
	case tensor.Bool, tensor.Float32:
		l.mask = true
		if !shape.Eq(tensor.Shape{b, t}) {
			return l, fmt.Errorf("padding mask of shape %v, want (batch, time) = (%d, %d)", shape, b, t)
		}
	default:
		return l, fmt.Errorf("lengths of type %v, want int64 or int32 lengths or a bool or float32 padding mask", n.Dtype())
	}
	return l, nil
}

// read returns the lengths in v (nil when no lengths input is given), into
// dst's memory.
func (l seqLens) read(v gorgonia.Value, b, t int, dst []int) ([]int, error) {
	if !l.given {
		return nil, nil
	}
	if !l.mask {
		ids, err := idsOf(v, dst)
		if err != nil {
			return nil, fmt.Errorf("lengths: %w", err)
		}
		if len(ids) != b {
			return nil, fmt.Errorf("%w: %d lengths for a batch of %d", ErrInputValue, len(ids), b)
		}
		for i, n := range ids {
			if n < 0 || n > t {
				return nil, fmt.Errorf("%w: length %d of sample %d is outside [0, %d] (the sequence has %d steps)", ErrInputValue, n, i, t, t)
			}
		}
		return ids, nil
	}
	pad, err := padding(v, b*t)
	if err != nil {
		return nil, err
	}
	dst = dst[:0]
	for i := 0; i < b; i++ {
		row := pad[i*t : (i+1)*t]
		n := 0
		for n < t && !row[n] {
			n++
		}
		for s := n; s < t; s++ {
			if !row[s] {
				return nil, fmt.Errorf("%w: padding mask of sample %d has a valid step %d after padding step %d (padding must come last, as in PyTorch's packed sequences)", ErrInputValue, i, s, n)
			}
		}
		dst = append(dst, n)
	}
	return dst, nil
}

// padding reads a bool or float32 mask of n values: true where a value is
// true or nonzero.
func padding(v gorgonia.Value, n int) ([]bool, error) {
	t, ok := v.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("padding mask is %T, want a tensor", v)
	}
	if t.RequiresIterator() {
		t = t.Materialize().(*tensor.Dense)
	}
	if t.Shape().TotalSize() != n {
		return nil, fmt.Errorf("%w: padding mask of %d values, want %d", ErrInputValue, t.Shape().TotalSize(), n)
	}
	out := make([]bool, n)
	switch d := t.Data().(type) {
	case []bool:
		copy(out, d[:n])
	case []float32:
		for i, x := range d[:n] {
			out[i] = x != 0
		}
	default:
		return nil, fmt.Errorf("padding mask of type %v", t.Dtype())
	}
	return out, nil
}
