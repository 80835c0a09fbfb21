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
	"gorgonia.org/tensor"
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
	y, err := ops.Embed(w, x, pad)
	return ops.InLayer(y, s.Name()), err
}

// recurrentNames are the parameter names of one direction of a recurrent
// layer: PyTorch's weight_ih_l0, ... without the layer suffix.
var recurrentNames = [4]string{"weight_ih", "weight_hh", "bias_ih", "bias_hh"}

// reverseSuffix ends the names of a bidirectional layer's backward
// parameters, as PyTorch's weight_ih_l0_reverse.
const reverseSuffix = "_reverse"

// recurrent is what SimpleRNN, LSTM and GRU share: their configuration and
// how it runs.
type recurrent struct {
	kind          string
	cell          ops.Cell
	units         int
	sequences     bool
	bidirectional bool
}

func (r recurrent) params(in []int) ([]ParamSpec, error) {
	if r.units < 1 {
		return nil, fmt.Errorf("%s: units must be positive, got %d", r.kind, r.units)
	}
	if len(in) != 2 {
		return nil, fmt.Errorf("%s: want (time, features) inputs, got %v", r.kind, in)
	}
	gh := r.cell.Gates() * r.units
	init := Uniform(1 / math.Sqrt(float64(r.units)))
	shapes := [4][]int{{gh, in[1]}, {gh, r.units}, {gh}, {gh}}
	var specs []ParamSpec
	for _, suffix := range r.directions() {
		for i, name := range recurrentNames {
			specs = append(specs, ParamSpec{Name: name + suffix, Shape: shapes[i], Init: init})
		}
	}
	return specs, nil
}

// directions returns the parameter name suffixes of the layer's directions.
func (r recurrent) directions() []string {
	if r.bidirectional {
		return []string{"", reverseSuffix}
	}
	return []string{""}
}

// checkTypes accepts a float32 sequence followed by float32 initial
// states and int64/int32 lengths or a bool padding mask.
func (r recurrent) checkTypes(in []DType) error {
	for i, d := range in {
		switch d = d.Or(); {
		case d == Float32:
		case i > 0 && (d == Int64 || d == Int32 || d == Bool):
		default:
			return fmt.Errorf("%s: input %d is %s; want a float32 sequence, float32 initial states and int64/int32 lengths or a bool padding mask", r.kind, i, d)
		}
	}
	return nil
}

// forward runs the layer over xs[0]. Further inputs: float32 initial
// states h0 and (LSTM) c0, each (batch, Units), then optionally the
// lengths or padding mask (see ops.RecurrentOptions.Lengths).
func (r recurrent) forward(s *Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	o := ops.RecurrentOptions{Last: !r.sequences}
	states := xs[1:]
	if n := len(states); n > 0 && states[n-1].Dtype() != tensor.Float32 {
		o.Lengths, states = states[n-1], states[:n-1]
	}
	max := 1
	if r.cell == ops.LSTMCell {
		max = 2
	}
	if len(states) > max {
		return nil, fmt.Errorf("%s: %d initial states, want up to %d (h0%s) before the lengths", r.kind, len(states), max, map[bool]string{true: ", c0"}[max == 2])
	}
	if len(states) > 0 {
		o.H0 = states[0]
	}
	if len(states) > 1 {
		o.C0 = states[1]
	}
	var ys []*gorgonia.Node
	for _, suffix := range r.directions() {
		var ps [4]*gorgonia.Node
		for i, name := range recurrentNames {
			p, err := s.Param(name + suffix)
			if err != nil {
				return nil, err
			}
			ps[i] = p
		}
		o.Reverse = suffix == reverseSuffix
		if r.bidirectional && o.H0 != nil {
			o.Directions, o.Direction = 2, 0
			if o.Reverse {
				o.Direction = 1
			}
		}
		y, err := ops.RecurrentWith(r.cell, xs[0], ps[0], ps[1], ps[2], ps[3], o)
		if err != nil {
			return nil, err
		}
		ys = append(ys, ops.InLayer(y, s.Name()))
	}
	if len(ys) == 1 {
		return ys[0], nil
	}
	return gorgonia.Concat(ys[0].Dims()-1, ys...)
}

// SimpleRNN is nn.RNN with tanh (one layer, batch first, zero initial
// state unless given): h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).
// Input (time, features) per sample; output the last state (Units) or,
// with Sequences, every state (time, Units). Parameters as PyTorch's
// weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0: "weight_ih"
// (Units, in), "weight_hh" (Units, Units), "bias_ih", "bias_hh" (Units),
// drawn from U(-1/√Units, 1/√Units).
//
// The recurrent layers' (SimpleRNN, LSTM, GRU) inputs: a (time, features)
// sequence per sample; applied to more tensors, the float32 initial states h0 (and, for an
// LSTM, c0), each (Units) per sample as PyTorch's h0/c0 without the layer
// axis, then optionally the lengths of a padded batch: an int64 or int32
// length per sample (per-sample shape () or (1)) or a bool padding mask
// (time), true on padding steps as MultiHeadAttention's key padding mask,
// padding after the valid steps. Steps past a sample's length leave its
// state unchanged and output zeros, as PyTorch's pack_padded_sequence
// and pad_packed_sequence; the last state is the state at the sample's
// last valid step (PyTorch's h_n). A lengths input of another shape is an
// error naming the layer when it is applied, a length above time one when
// the model runs.
//
// Bidirectional (PyTorch's bidirectional=True, one layer) adds a second
// set of parameters with the suffix "_reverse" (weight_ih_reverse, ...) run
// from each sample's last valid step back to step 0, and concatenates the
// two directions on the last axis: with Sequences (time, 2·Units), the
// forward state after step t beside the backward state after step t
// (PyTorch's output); else (2·Units), the forward state at the last valid
// step beside the backward state after step 0: PyTorch's h_n[0] and h_n[1]
// concatenated, which is not output[:, -1] (whose backward half has seen
// only the last step). Its initial states are (2, Units) per sample,
// forward then backward: PyTorch's h0/c0 (2, batch, Units) with the batch
// axis first.
type SimpleRNN struct {
	// Units is the size of the state.
	Units int `json:"units"`
	// Sequences returns the state at every step instead of the last.
	Sequences bool `json:"sequences,omitempty"`
	// Bidirectional adds a backward direction (parameters "*_reverse")
	// and concatenates both on the last axis, as PyTorch's
	// bidirectional=True.
	Bidirectional bool `json:"bidirectional,omitempty"`
}

func (r *SimpleRNN) rec() recurrent {
	return recurrent{r.Kind(), ops.TanhCell, r.Units, r.Sequences, r.Bidirectional}
}

// Kind returns "simplernn".
func (r *SimpleRNN) Kind() string { return "simplernn" }

// Params declares the weights (see the type's comment).
func (r *SimpleRNN) Params(in []int) ([]ParamSpec, error) { return r.rec().params(in) }

// CheckTypes accepts a float32 sequence, float32 initial states and
// int64/int32 lengths or a bool padding mask.
func (r *SimpleRNN) CheckTypes(in []DType) error { return r.rec().checkTypes(in) }

// Forward adds the fused recurrent op (ops.RecurrentWith).
func (r *SimpleRNN) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return r.rec().forward(s, []*gorgonia.Node{x})
}

// Merge runs the layer over xs[0] from the initial state xs[1] (h0), each
// (batch, Units), as PyTorch's h0, and/or with the lengths last.
func (r *SimpleRNN) Merge(s *Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	return r.rec().forward(s, xs)
}

// LSTM is nn.LSTM (one layer, batch first, zero initial state unless
// given), gates i, f, g, o stacked in that order in its weights:
// "weight_ih" (4·Units, in), "weight_hh" (4·Units, Units), "bias_ih",
// "bias_hh" (4·Units). Output the last state (Units) or, with Sequences,
// every state (time, Units). Extra inputs and Bidirectional as SimpleRNN's.
type LSTM struct {
	// Units is the size of the state.
	Units int `json:"units"`
	// Sequences returns the state at every step instead of the last.
	Sequences bool `json:"sequences,omitempty"`
	// Bidirectional adds a backward direction (parameters "*_reverse")
	// and concatenates both on the last axis, as PyTorch's
	// bidirectional=True.
	Bidirectional bool `json:"bidirectional,omitempty"`
}

func (r *LSTM) rec() recurrent {
	return recurrent{r.Kind(), ops.LSTMCell, r.Units, r.Sequences, r.Bidirectional}
}

// Kind returns "lstm".
func (r *LSTM) Kind() string { return "lstm" }

// Params declares the weights (see the type's comment).
func (r *LSTM) Params(in []int) ([]ParamSpec, error) { return r.rec().params(in) }

// CheckTypes accepts a float32 sequence, float32 initial states and
// int64/int32 lengths or a bool padding mask.
func (r *LSTM) CheckTypes(in []DType) error { return r.rec().checkTypes(in) }

// Forward adds the fused recurrent op (ops.RecurrentWith).
func (r *LSTM) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return r.rec().forward(s, []*gorgonia.Node{x})
}

// Merge runs the layer over xs[0] from the initial state xs[1] (h0) and,
// optionally, xs[2] (c0), each (batch, Units), as PyTorch's h0/c0, and/or
// with the lengths last.
func (r *LSTM) Merge(s *Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	return r.rec().forward(s, xs)
}

// GRU is nn.GRU (one layer, batch first, zero initial state unless
// given), gates r, z, n stacked in that order: "weight_ih" (3·Units, in),
// "weight_hh" (3·Units, Units), "bias_ih", "bias_hh" (3·Units). Output the
// last state (Units) or, with Sequences, every state (time, Units). Extra
// inputs and Bidirectional as SimpleRNN's.
type GRU struct {
	// Units is the size of the state.
	Units int `json:"units"`
	// Sequences returns the state at every step instead of the last.
	Sequences bool `json:"sequences,omitempty"`
	// Bidirectional adds a backward direction (parameters "*_reverse")
	// and concatenates both on the last axis, as PyTorch's
	// bidirectional=True.
	Bidirectional bool `json:"bidirectional,omitempty"`
}

func (r *GRU) rec() recurrent {
	return recurrent{r.Kind(), ops.GRUCell, r.Units, r.Sequences, r.Bidirectional}
}

// Kind returns "gru".
func (r *GRU) Kind() string { return "gru" }

// Params declares the weights (see the type's comment).
func (r *GRU) Params(in []int) ([]ParamSpec, error) { return r.rec().params(in) }

// CheckTypes accepts a float32 sequence, float32 initial states and
// int64/int32 lengths or a bool padding mask.
func (r *GRU) CheckTypes(in []DType) error { return r.rec().checkTypes(in) }

// Forward adds the fused recurrent op (ops.RecurrentWith).
func (r *GRU) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return r.rec().forward(s, []*gorgonia.Node{x})
}

// Merge runs the layer over xs[0] from the initial state xs[1] (h0), each
// (batch, Units), as PyTorch's h0, and/or with the lengths last.
func (r *GRU) Merge(s *Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	return r.rec().forward(s, xs)
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
		func() Layer { return &MaskedMean{} },
	}
}
