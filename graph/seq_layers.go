package graph

// Sequence layers: embeddings, recurrent layers (PyTorch's formulas and
// weight layout), layer normalisation, GELU and a dense layer applied at
// every step of a sequence.

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tapenet/tapenet/graph/ops"
	"gorgonia.org/gorgonia"
)

// Uniform returns an initialiser drawing from U(-limit, limit): PyTorch's
// choice for recurrent layers (limit 1/√H).
func Uniform(limit float64) Initializer {
	return func(rng *rand.Rand, _ []int, data []float32) {
		for i := range data {
			data[i] = float32((2*rng.Float64() - 1) * limit)
		}
	}
}

// Embedding maps integer ids to learned vectors, as nn.Embedding: an input
// of ids (any per-sample shape, e.g. (time)) gives that shape followed by
// Dim. Parameter: "weight" (Vocab, Dim), drawn from N(0, 1) as PyTorch
// does. The ids may be an int64 or int32 input, or whole numbers in a
// float32 one. An id outside [0, Vocab) is an error when the model runs.
type Embedding struct {
	// Vocab is the number of ids (rows of the table).
	Vocab int `json:"vocab"`
	// Dim is the length of each vector.
	Dim int `json:"dim"`
	// Padding, if not nil, is an id whose vector starts at zero and gets
	// no gradient (PyTorch's padding_idx).
	Padding *int `json:"padding,omitempty"`
}

// Kind returns "embedding".
func (e *Embedding) Kind() string { return "embedding" }

// CheckTypes accepts int64, int32 and float32 ids.
func (e *Embedding) CheckTypes(in []DType) error {
	for _, d := range in {
		switch d.Or() {
		case Int64, Int32, Float32:
		default:
			return fmt.Errorf("embedding: ids must be int64, int32 or float32, got %s", d)
		}
	}
	return nil
}

// Params declares weight (Vocab, Dim).
func (e *Embedding) Params(in []int) ([]ParamSpec, error) {
	if e.Vocab < 1 || e.Dim < 1 {
		return nil, fmt.Errorf("embedding: vocab and dim must be positive, got %d and %d", e.Vocab, e.Dim)
	}
	if e.Padding != nil && (*e.Padding < 0 || *e.Padding >= e.Vocab) {
		return nil, fmt.Errorf("embedding: padding id %d outside the vocabulary of %d", *e.Padding, e.Vocab)
	}
	init := Normal(1)
	if e.Padding != nil {
		pad, dim := *e.Padding, e.Dim
		init = func(rng *rand.Rand, shape []int, data []float32) {
			Normal(1)(rng, shape, data)
			clear(data[pad*dim : (pad+1)*dim])
		}
	}
	return []ParamSpec{{Name: "weight", Shape: []int{e.Vocab, e.Dim}, Init: init}}, nil
}

// Forward gathers the rows of the ids (see ops.Embed).
func (e *Embedding) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	w, err := s.Param("weight")
	if err != nil {
		return nil, err
	}
	pad := -1
	if e.Padding != nil {
		pad = *e.Padding
	}
	return ops.Embed(w, x, pad)
}

// recurrent is what SimpleRNN, LSTM and GRU share.
func recurrentParams(kind string, cell ops.Cell, units int, in []int) ([]ParamSpec, error) {
	if units < 1 {
		return nil, fmt.Errorf("%s: units must be positive, got %d", kind, units)
	}
	if len(in) != 2 {
		return nil, fmt.Errorf("%s: want (time, features) inputs, got %v", kind, in)
	}
	gh := cell.Gates() * units
	init := Uniform(1 / math.Sqrt(float64(units)))
	return []ParamSpec{
		{Name: "weight_ih", Shape: []int{gh, in[1]}, Init: init},
		{Name: "weight_hh", Shape: []int{gh, units}, Init: init},
		{Name: "bias_ih", Shape: []int{gh}, Init: init},
		{Name: "bias_hh", Shape: []int{gh}, Init: init},
	}, nil
}

// recurrentWeights returns weight_ih, weight_hh, bias_ih and bias_hh.
func recurrentWeights(s *Scope) ([4]*gorgonia.Node, error) {
	var ps [4]*gorgonia.Node
	for i, name := range []string{"weight_ih", "weight_hh", "bias_ih", "bias_hh"} {
		p, err := s.Param(name)
		if err != nil {
			return ps, err
		}
		ps[i] = p
	}
	return ps, nil
}

// recurrentMerge runs the cell from the initial states xs[1] (h0) and,
// for an LSTM, xs[2] (c0): each (batch, units), PyTorch's h0/c0 without
// the layer axis.
func recurrentMerge(s *Scope, cell ops.Cell, xs []*gorgonia.Node, sequences bool) (*gorgonia.Node, error) {
	max := 2
	if cell == ops.LSTMCell {
		max = 3
	}
	if len(xs) < 2 || len(xs) > max {
		return nil, fmt.Errorf("%v: %d inputs, want the sequence and up to %d initial states", cell, len(xs), max-1)
	}
	ps, err := recurrentWeights(s)
	if err != nil {
		return nil, err
	}
	var c0 *gorgonia.Node
	if len(xs) == 3 {
		c0 = xs[2]
	}
	return ops.RecurrentFrom(cell, xs[0], ps[0], ps[1], ps[2], ps[3], xs[1], c0, !sequences)
}

func recurrentForward(s *Scope, cell ops.Cell, x *gorgonia.Node, sequences bool) (*gorgonia.Node, error) {
	ps, err := recurrentWeights(s)
	if err != nil {
		return nil, err
	}
	return ops.Recurrent(cell, x, ps[0], ps[1], ps[2], ps[3], !sequences)
}

// SimpleRNN is nn.RNN with tanh (one layer, batch first, zero initial
// state): h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh). Input
// (time, features) per sample; output the last state (Units) or, with
// Sequences, every state (time, Units). Parameters as PyTorch's
// weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0: "weight_ih"
// (Units, in), "weight_hh" (Units, Units), "bias_ih", "bias_hh" (Units),
// drawn from U(-1/√Units, 1/√Units).
type SimpleRNN struct {
	// Units is the size of the state.
	Units int `json:"units"`
	// Sequences returns the state at every step instead of the last.
	Sequences bool `json:"sequences,omitempty"`
}

// Kind returns "simplernn".
func (r *SimpleRNN) Kind() string { return "simplernn" }

// Params declares the weights (see the type's comment).
func (r *SimpleRNN) Params(in []int) ([]ParamSpec, error) {
	return recurrentParams(r.Kind(), ops.TanhCell, r.Units, in)
}

// Forward adds the fused recurrent op (ops.Recurrent).
func (r *SimpleRNN) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return recurrentForward(s, ops.TanhCell, x, r.Sequences)
}

// Merge runs the layer over xs[0] from the initial state xs[1] (h0), each
// (batch, Units), as PyTorch's h0/c0 (ops.RecurrentFrom).
func (r *SimpleRNN) Merge(s *Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	return recurrentMerge(s, ops.TanhCell, xs, r.Sequences)
}

// LSTM is nn.LSTM (one layer, batch first, zero initial state), gates i,
// f, g, o stacked in that order in its weights: "weight_ih" (4·Units, in),
// "weight_hh" (4·Units, Units), "bias_ih", "bias_hh" (4·Units). Output the
// last state (Units) or, with Sequences, every state (time, Units).
type LSTM struct {
	// Units is the size of the state.
	Units int `json:"units"`
	// Sequences returns the state at every step instead of the last.
	Sequences bool `json:"sequences,omitempty"`
}

// Kind returns "lstm".
func (r *LSTM) Kind() string { return "lstm" }

// Params declares the weights (see the type's comment).
func (r *LSTM) Params(in []int) ([]ParamSpec, error) {
	return recurrentParams(r.Kind(), ops.LSTMCell, r.Units, in)
}

// Forward adds the fused recurrent op (ops.Recurrent).
func (r *LSTM) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return recurrentForward(s, ops.LSTMCell, x, r.Sequences)
}

// Merge runs the layer over xs[0] from the initial state xs[1] (h0) and, optionally, xs[2] (c0), each
// (batch, Units), as PyTorch's h0/c0 (ops.RecurrentFrom).
func (r *LSTM) Merge(s *Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	return recurrentMerge(s, ops.LSTMCell, xs, r.Sequences)
}

// GRU is nn.GRU (one layer, batch first, zero initial state), gates r, z,
// n stacked in that order: "weight_ih" (3·Units, in), "weight_hh"
// (3·Units, Units), "bias_ih", "bias_hh" (3·Units). Output the last state
// (Units) or, with Sequences, every state (time, Units).
type GRU struct {
	// Units is the size of the state.
	Units int `json:"units"`
	// Sequences returns the state at every step instead of the last.
	Sequences bool `json:"sequences,omitempty"`
}

// Kind returns "gru".
func (r *GRU) Kind() string { return "gru" }

// Params declares the weights (see the type's comment).
func (r *GRU) Params(in []int) ([]ParamSpec, error) {
	return recurrentParams(r.Kind(), ops.GRUCell, r.Units, in)
}

// Forward adds the fused recurrent op (ops.Recurrent).
func (r *GRU) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return recurrentForward(s, ops.GRUCell, x, r.Sequences)
}

// Merge runs the layer over xs[0] from the initial state xs[1] (h0), each
// (batch, Units), as PyTorch's h0/c0 (ops.RecurrentFrom).
func (r *GRU) Merge(s *Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	return recurrentMerge(s, ops.GRUCell, xs, r.Sequences)
}

// LayerNorm normalises the last axis, as nn.LayerNorm(last dim):
// (x - mean) / sqrt(var + Eps) · weight + bias with the biased variance.
// Parameters "weight" (ones) and "bias" (zeros), of the last axis' size.
type LayerNorm struct {
	// Eps is added to the variance; 0 means PyTorch's 1e-5.
	Eps float64 `json:"eps,omitempty"`
}

// Kind returns "layernorm".
func (l *LayerNorm) Kind() string { return "layernorm" }

func (l *LayerNorm) eps() float64 {
	if l.Eps == 0 {
		return 1e-5
	}
	return l.Eps
}

// Params declares weight and bias over the last axis.
func (l *LayerNorm) Params(in []int) ([]ParamSpec, error) {
	if len(in) == 0 || in[len(in)-1] < 1 {
		return nil, fmt.Errorf("layernorm: input %v has no features axis", in)
	}
	if l.Eps < 0 || math.IsNaN(l.Eps) {
		return nil, fmt.Errorf("layernorm: eps %v is negative", l.Eps)
	}
	d := in[len(in)-1]
	return []ParamSpec{
		{Name: "weight", Shape: []int{d}, Init: ones},
		{Name: "bias", Shape: []int{d}},
	}, nil
}

// Forward adds the fused normalisation (ops.LayerNorm).
func (l *LayerNorm) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	w, err := s.Param("weight")
	if err != nil {
		return nil, err
	}
	b, err := s.Param("bias")
	if err != nil {
		return nil, err
	}
	return ops.LayerNorm(x, w, b, l.eps())
}

// GELU is the Gaussian error linear unit x·Φ(x), as nn.GELU(); with Tanh
// its tanh approximation, as nn.GELU(approximate="tanh").
type GELU struct {
	// Tanh uses 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
	Tanh bool `json:"tanh,omitempty"`
}

// Kind returns "gelu".
func (*GELU) Kind() string { return "gelu" }

// Forward adds GELU(x) (ops.GELU).
func (g *GELU) Forward(_ *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return ops.GELU(x, g.Tanh)
}

// TimeDense is a dense layer applied to the last axis of its input at every
// other position (Keras's TimeDistributed(Dense), the book's TimeAffine,
// nn.Linear on a (batch, time, features) tensor): y = x·W + b with W
// (features, Units) and b (Units); an input (time, features) per sample
// gives (time, Units). Parameters "weight" and "bias" as Dense's.
type TimeDense struct {
	// Units is the number of outputs per position.
	Units int `json:"units"`
	// Init names the weight initialiser, as Dense's.
	Init string `json:"init,omitempty"`
}

// Kind returns "timedense".
func (d *TimeDense) Kind() string { return "timedense" }

// Params declares weight (features, Units) and bias (Units).
func (d *TimeDense) Params(in []int) ([]ParamSpec, error) {
	if d.Units < 1 {
		return nil, fmt.Errorf("timedense: units must be positive, got %d", d.Units)
	}
	if len(in) < 1 {
		return nil, fmt.Errorf("timedense: input %v has no features axis", in)
	}
	init, err := initializer(d.Init)
	if err != nil {
		return nil, fmt.Errorf("timedense: %w", err)
	}
	return []ParamSpec{
		{Name: "weight", Shape: []int{in[len(in)-1], d.Units}, Init: init},
		{Name: "bias", Shape: []int{d.Units}},
	}, nil
}

// Forward folds every axis but the last into rows, adds one fused dense op
// (ops.Dense) and unfolds the result.
func (d *TimeDense) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	w, err := s.Param("weight")
	if err != nil {
		return nil, err
	}
	b, err := s.Param("bias")
	if err != nil {
		return nil, err
	}
	y, err := lastAxisDense(x, w, b)
	if err != nil {
		return nil, fmt.Errorf("timedense: %w", err)
	}
	return y, nil
}

// seqBuiltins are the sequence layers' constructors, registered as
// built-ins (see builtins).
func seqBuiltins() []Constructor {
	return []Constructor{
		func() Layer { return &Embedding{} },
		func() Layer { return &SimpleRNN{} },
		func() Layer { return &LSTM{} },
		func() Layer { return &GRU{} },
		func() Layer { return &LayerNorm{} },
		func() Layer { return &GELU{} },
		func() Layer { return &TimeDense{} },
		func() Layer { return &MultiHeadAttention{} },
		func() Layer { return &PositionalEmbedding{} },
		func() Layer { return &TransformerEncoderBlock{} },
	}
}
