package graph

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math/rand/v2"
	"sync"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Dropout zeroes each input value with probability Rate while training and
// scales the kept ones by 1/(1-Rate) ("inverted" dropout, as in PyTorch), so
// inference, where it passes its input through unchanged, needs no
// rescaling.
//
// Its masks come from its own generator, seeded by Seed and the layer's
// name, and drawn in the order the training steps run: the same seed gives
// the same masks and so the same trained model, bit for bit.
// (gorgonia.Dropout seeds a generator from the clock at every call, which
// makes seeded training irreproducible; this layer does not use it.)
type Dropout struct {
	// Rate is the probability of dropping a value, in [0, 1).
	Rate float64 `json:"rate"`
	// Seed seeds the masks (default 0); the layer name is mixed in, so
	// two dropout layers of a model draw different masks.
	Seed uint64 `json:"seed,omitempty"`

	mu  sync.Mutex
	rng *rand.Rand
}

// Kind returns "dropout".
func (*Dropout) Kind() string { return "dropout" }

// Forward returns x unchanged in inference; in training it adds x ⊙ mask,
// a fresh mask at every run.
func (d *Dropout) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	if !(d.Rate >= 0 && d.Rate < 1) {
		return nil, fmt.Errorf("dropout: rate must be in [0, 1), got %v", d.Rate)
	}
	if !s.Training() || d.Rate == 0 {
		return x, nil
	}
	d.mu.Lock()
	if d.rng == nil {
		h := fnv.New64a()
		h.Write([]byte(s.Name()))
		d.rng = rand.New(rand.NewPCG(d.Seed, h.Sum64()))
	}
	d.mu.Unlock()
	return gorgonia.ApplyOp(&dropoutOp{layer: d}, x)
}

// draw fills mask with 0 (probability Rate) or 1/(1-Rate).
func (d *Dropout) draw(mask []float32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	keep := float32(1 / (1 - d.Rate))
	for i := range mask {
		if d.rng.Float64() < d.Rate {
			mask[i] = 0
		} else {
			mask[i] = keep
		}
	}
}

// dropoutOp computes x ⊙ mask with a new mask at every run and keeps the
// mask for its gradient, dropoutGradOp (run later in the same pass).
type dropoutOp struct {
	layer *Dropout
	mask  []float32
}

func (op *dropoutOp) Arity() int { return 1 }
func (op *dropoutOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (op *dropoutOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("dropout: want a shape, got %v", in[0])
	}
	return s.Clone(), nil
}

func (op *dropoutOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := float32Dense(vals)
	if err != nil {
		return nil, fmt.Errorf("dropout: %w", err)
	}
	x := in.Data().([]float32)
	if len(op.mask) != len(x) {
		op.mask = make([]float32, len(x))
	}
	op.layer.draw(op.mask)
	out := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(in.Shape().Clone()...))
	y := out.Data().([]float32)
	for i, v := range x {
		y[i] = v * op.mask[i]
	}
	return out, nil
}

func (op *dropoutOp) ReturnsPtr() bool      { return false }
func (op *dropoutOp) CallsExtern() bool     { return false }
func (op *dropoutOp) OverwritesInput() int  { return -1 }
func (op *dropoutOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "dropout(%v)@%p", op.layer.Rate, op) }
func (op *dropoutOp) Hashcode() uint32      { return hashOp(op) }
func (op *dropoutOp) String() string        { return fmt.Sprintf("Dropout(%v)", op.layer.Rate) }
func (op *dropoutOp) DiffWRT(int) []bool    { return []bool{true} }
func (op *dropoutOp) SymDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g, err := gorgonia.ApplyOp(&dropoutGradOp{fwd: op}, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// dropoutGradOp multiplies the incoming gradient by its forward op's mask.
type dropoutGradOp struct{ fwd *dropoutOp }

func (op *dropoutGradOp) Arity() int    { return 1 }
func (op *dropoutGradOp) Type() hm.Type { return op.fwd.Type() }
func (op *dropoutGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.fwd.InferShape(in...)
}
func (op *dropoutGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := float32Dense(vals)
	if err != nil {
		return nil, fmt.Errorf("dropout gradient: %w", err)
	}
	g := in.Data().([]float32)
	if len(g) != len(op.fwd.mask) {
		return nil, fmt.Errorf("dropout gradient: %d values, mask of %d (forward not run)", len(g), len(op.fwd.mask))
	}
	out := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(in.Shape().Clone()...))
	y := out.Data().([]float32)
	for i, v := range g {
		y[i] = v * op.fwd.mask[i]
	}
	return out, nil
}
func (op *dropoutGradOp) ReturnsPtr() bool     { return false }
func (op *dropoutGradOp) CallsExtern() bool    { return false }
func (op *dropoutGradOp) OverwritesInput() int { return -1 }
func (op *dropoutGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "dropoutGrad(%v)@%p", op.fwd.layer.Rate, op.fwd)
}
func (op *dropoutGradOp) Hashcode() uint32 { return hashOp(op) }
func (op *dropoutGradOp) String() string   { return fmt.Sprintf("DropoutGrad(%v)", op.fwd.layer.Rate) }

// float32Dense returns the single float32 dense input of an op, contiguous.
func float32Dense(vals []gorgonia.Value) (*tensor.Dense, error) {
	if len(vals) != 1 {
		return nil, fmt.Errorf("want 1 input, got %d", len(vals))
	}
	in, ok := vals[0].(*tensor.Dense)
	if !ok || in.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("want a float32 tensor, got %T", vals[0])
	}
	if in.RequiresIterator() {
		in = in.Materialize().(*tensor.Dense)
	}
	return in, nil
}

func hashOp(op interface{ WriteHash(hash.Hash) }) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
