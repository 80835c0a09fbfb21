package ops

import (
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"sync"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// base answers the questions Gorgonia asks of every op that tapenet's ops
// answer alike: each returns a value of its own (not a pointer into an
// input), calls nothing outside Go, overwrites no input, and is hashed by
// id and printed as label. Gorgonia merges two nodes whose ops hash alike
// over the same inputs, so an op with state per node (a mask, say) puts its
// address in id.
type base struct {
	label string // shown in graphs: String()
	id    string // hashed: WriteHash, Hashcode
}

func (b base) ReturnsPtr() bool      { return false }
func (b base) CallsExtern() bool     { return false }
func (b base) OverwritesInput() int  { return -1 }
func (b base) WriteHash(h hash.Hash) { io.WriteString(h, b.id) }
func (b base) String() string        { return b.label }
func (b base) Hashcode() uint32 {
	h := fnv.New32a()
	io.WriteString(h, b.id)
	return h.Sum32()
}

// outputCache holds an op's output tensor from one run of its graph to the
// next. Gorgonia's tape machine forgets every value at Reset and would
// otherwise have the op allocate a new output per batch. Reuse is safe
// because each node has an op value of its own, a graph runs on one
// goroutine, and every value of a run is consumed (or copied out, as
// Predictor does) before the next run starts. It is why a value read from
// a graph is valid only until the graph's next run.
type outputCache struct{ t *tensor.Dense }

// get returns a float32 tensor of the given shape, reusing the last one.
func (c *outputCache) get(shape tensor.Shape) *tensor.Dense {
	if c.t == nil || !c.t.Shape().Eq(shape) {
		c.t = tensor.New(tensor.WithShape(shape.Clone()...), tensor.Of(tensor.Float32))
	}
	return c.t
}

// float32Input returns the single float32 input of an op, packed into
// row-major order if it is a strided view.
func float32Input(in []gorgonia.Value) (*tensor.Dense, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%d inputs, want 1", len(in))
	}
	x, ok := in[0].(*tensor.Dense)
	if !ok || x.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("input is %T, want a float32 tensor", in[0])
	}
	if x.RequiresIterator() {
		x = x.Materialize().(*tensor.Dense)
	}
	return x, nil
}

// unaryShape is InferShape for ops whose output has their input's shape.
func unaryShape(name string, in []gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%s: want 1 input, got %d", name, len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("%s: want a shape, got %v", name, in[0])
	}
	return s.Clone(), nil
}

// ShiftedExp returns exp(x - rowmax(x)) and x - rowmax(x) for a matrix x,
// each row shifted by its own maximum (the book's softmax overflow guard;
// Gorgonia's SoftMax shares one maximum across the batch).
func ShiftedExp(x *gorgonia.Node) (e, shifted *gorgonia.Node, err error) {
	if x.Dims() != 2 {
		return nil, nil, fmt.Errorf("softmax needs a (batch, classes) input, got shape %v", x.Shape())
	}
	m, err := gorgonia.Max(x, 1)
	if err != nil {
		return nil, nil, err
	}
	if shifted, err = gorgonia.BroadcastSub(x, m, nil, []byte{1}); err != nil {
		return nil, nil, err
	}
	if e, err = gorgonia.Exp(shifted); err != nil {
		return nil, nil, err
	}
	return e, shifted, nil
}

// groups serialises the Gorgonia constructors that number their node group
// from gorgonia/internal/encoding's unlocked global counter (NewGroup):
// MaxPool2D, Rectify, Conv2d and AveragePool2D. Graphs built at once in
// several goroutines would race on it. It guards Gorgonia's global, not
// state of ours.
var groups sync.Mutex

// rectify is gorgonia.Rectify under the same lock.
func rectify(x *gorgonia.Node) (*gorgonia.Node, error) {
	groups.Lock()
	defer groups.Unlock()
	return gorgonia.Rectify(x)
}
