package graph

import (
	"fmt"
	"math"

	"github.com/tapenet/tapenet/graph/ops"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MultiHeadAttention is multi-head self-attention over a (time, E) input,
// as nn.MultiheadAttention(E, Heads, batch_first=True)(x, x, x) without
// dropout. Parameters in PyTorch's layout: "in_proj_weight" (3E, E),
// "in_proj_bias" (3E), "out_proj_weight" (E, E), "out_proj_bias" (E).
// Applied to two tensors, the second is a (time) key padding mask per
// sample: nonzero marks a step no query attends to (PyTorch's
// key_padding_mask True). Causal hides later steps from each query.
type MultiHeadAttention struct {
	// Heads is the number of heads; it must divide E.
	Heads int `json:"heads"`
	// Causal lets step t attend to steps up to t only.
	Causal bool `json:"causal,omitempty"`
}

// Kind returns "multiheadattention".
func (a *MultiHeadAttention) Kind() string { return "multiheadattention" }

// Params declares the projections; initialised as PyTorch does (Xavier
// uniform in, U(±1/√E) out, zero biases).
func (a *MultiHeadAttention) Params(in []int) ([]ParamSpec, error) {
	return attentionParams("multiheadattention", "", a.Heads, in)
}

func attentionParams(kind, prefix string, heads int, in []int) ([]ParamSpec, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%s: want (time, features) inputs, got %v", kind, in)
	}
	e := in[1]
	if heads < 1 || e%heads != 0 {
		return nil, fmt.Errorf("%s: %d features do not split into %d heads", kind, e, heads)
	}
	return []ParamSpec{
		{Name: prefix + "in_proj_weight", Shape: []int{3 * e, e}, Init: Uniform(math.Sqrt(6 / float64(4*e)))},
		{Name: prefix + "in_proj_bias", Shape: []int{3 * e}},
		{Name: prefix + "out_proj_weight", Shape: []int{e, e}, Init: Uniform(1 / math.Sqrt(float64(e)))},
		{Name: prefix + "out_proj_bias", Shape: []int{e}},
	}, nil
}

func attention(s *Scope, prefix string, heads int, causal bool, x, mask *gorgonia.Node) (*gorgonia.Node, error) {
	var ps [4]*gorgonia.Node
	for i, name := range []string{"in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias"} {
		p, err := s.Param(prefix + name)
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	return ops.MultiHeadAttention(x, ps[0], ps[1], ps[2], ps[3], mask, heads, causal)
}

// Forward adds self-attention without a padding mask.
func (a *MultiHeadAttention) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return attention(s, "", a.Heads, a.Causal, x, nil)
}

// Merge adds self-attention of xs[0] with xs[1] as the key padding mask.
func (a *MultiHeadAttention) Merge(s *Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	if len(xs) != 2 {
		return nil, fmt.Errorf("multiheadattention: %d inputs, want the sequence and its padding mask", len(xs))
	}
	return attention(s, "", a.Heads, a.Causal, xs[0], xs[1])
}

// PositionalEmbedding adds a learned vector per position to a (time, E)
// input: y[t] = x[t] + weight[t], weight (MaxLen, E) drawn from N(0, 1)
// (as an nn.Embedding of positions). A sequence longer than MaxLen is an
// error.
type PositionalEmbedding struct {
	// MaxLen is the number of positions.
	MaxLen int `json:"max_len"`
}

// Kind returns "positionalembedding".
func (p *PositionalEmbedding) Kind() string { return "positionalembedding" }

// Params declares weight (MaxLen, E).
func (p *PositionalEmbedding) Params(in []int) ([]ParamSpec, error) {
	if p.MaxLen < 1 {
		return nil, fmt.Errorf("positionalembedding: max_len must be positive, got %d", p.MaxLen)
	}
	if len(in) != 2 {
		return nil, fmt.Errorf("positionalembedding: want (time, features) inputs, got %v", in)
	}
	if in[0] > p.MaxLen {
		return nil, fmt.Errorf("positionalembedding: a sequence of %d steps is longer than max_len %d", in[0], p.MaxLen)
	}
	return []ParamSpec{{Name: "weight", Shape: []int{p.MaxLen, in[1]}, Init: Normal(1)}}, nil
}

// Forward adds the first time rows of the table to x (ops.AddPositions).
func (p *PositionalEmbedding) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	w, err := s.Param("weight")
	if err != nil {
		return nil, err
	}
	return ops.AddPositions(x, w)
}

// TransformerEncoderBlock is nn.TransformerEncoderLayer(E, Heads, FF,
// dropout=0, activation, batch_first=True, norm_first=NormFirst): with
// post-norm (the default) x = norm1(x + attn(x)); x = norm2(x + ff(x)),
// with NormFirst x = x + attn(norm1(x)); x = x + ff(norm2(x)), where
// ff(x) = linear2(activation(linear1(x))). Applied to two tensors, the
// second is a key padding mask as MultiHeadAttention's. Parameters:
// "attn_in_proj_weight", "attn_in_proj_bias", "attn_out_proj_weight",
// "attn_out_proj_bias" (PyTorch's self_attn.*), "linear1_weight" (E, FF),
// "linear1_bias", "linear2_weight" (FF, E), "linear2_bias" (the linear
// weights are nn.Linear's transposed, as Dense's), "norm1_weight",
// "norm1_bias", "norm2_weight", "norm2_bias".
type TransformerEncoderBlock struct {
	// Heads is the number of attention heads.
	Heads int `json:"heads"`
	// FF is the hidden size of the feed-forward part (PyTorch's
	// dim_feedforward).
	FF int `json:"ff"`
	// NormFirst normalises before attention and feed-forward (pre-norm).
	NormFirst bool `json:"norm_first,omitempty"`
	// Activation is "relu" (default) or "gelu".
	Activation string `json:"activation,omitempty"`
	// Causal masks later steps in the attention.
	Causal bool `json:"causal,omitempty"`
	// Eps is the layer norms' epsilon; 0 means 1e-5.
	Eps float64 `json:"eps,omitempty"`
}

// Kind returns "transformerencoderblock".
func (t *TransformerEncoderBlock) Kind() string { return "transformerencoderblock" }

// Params declares the attention, feed-forward and norm parameters.
func (t *TransformerEncoderBlock) Params(in []int) ([]ParamSpec, error) {
	const kind = "transformerencoderblock"
	if t.FF < 1 {
		return nil, fmt.Errorf("%s: ff must be positive, got %d", kind, t.FF)
	}
	if t.Activation != "" && t.Activation != "relu" && t.Activation != "gelu" {
		return nil, fmt.Errorf("%s: activation %q (want relu or gelu)", kind, t.Activation)
	}
	if t.Eps < 0 || math.IsNaN(t.Eps) {
		return nil, fmt.Errorf("%s: eps %v is negative", kind, t.Eps)
	}
	specs, err := attentionParams(kind, "attn_", t.Heads, in)
	if err != nil {
		return nil, err
	}
	e := in[1]
	return append(specs,
		ParamSpec{Name: "linear1_weight", Shape: []int{e, t.FF}, Init: Uniform(1 / math.Sqrt(float64(e)))},
		ParamSpec{Name: "linear1_bias", Shape: []int{t.FF}, Init: Uniform(1 / math.Sqrt(float64(e)))},
		ParamSpec{Name: "linear2_weight", Shape: []int{t.FF, e}, Init: Uniform(1 / math.Sqrt(float64(t.FF)))},
		ParamSpec{Name: "linear2_bias", Shape: []int{e}, Init: Uniform(1 / math.Sqrt(float64(t.FF)))},
		ParamSpec{Name: "norm1_weight", Shape: []int{e}, Init: ones},
		ParamSpec{Name: "norm1_bias", Shape: []int{e}},
		ParamSpec{Name: "norm2_weight", Shape: []int{e}, Init: ones},
		ParamSpec{Name: "norm2_bias", Shape: []int{e}},
	), nil
}

// Forward adds the block without a padding mask.
func (t *TransformerEncoderBlock) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return t.block(s, x, nil)
}

// Merge adds the block with xs[1] as the key padding mask.
func (t *TransformerEncoderBlock) Merge(s *Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	if len(xs) != 2 {
		return nil, fmt.Errorf("transformerencoderblock: %d inputs, want the sequence and its padding mask", len(xs))
	}
	return t.block(s, xs[0], xs[1])
}

func (t *TransformerEncoderBlock) block(s *Scope, x, mask *gorgonia.Node) (*gorgonia.Node, error) {
	eps := t.Eps
	if eps == 0 {
		eps = 1e-5
	}
	norm := func(name string, x *gorgonia.Node) (*gorgonia.Node, error) {
		w, err := s.Param(name + "_weight")
		if err != nil {
			return nil, err
		}
		b, err := s.Param(name + "_bias")
		if err != nil {
			return nil, err
		}
		return ops.LayerNorm(x, w, b, eps)
	}
	ff := func(x *gorgonia.Node) (*gorgonia.Node, error) {
		h, err := paramDense(s, "linear1", x)
		if err != nil {
			return nil, err
		}
		if t.Activation == "gelu" {
			h, err = ops.GELU(h, false)
		} else {
			h, err = ops.ReLU(h)
		}
		if err != nil {
			return nil, err
		}
		return paramDense(s, "linear2", h)
	}
	attn := func(x *gorgonia.Node) (*gorgonia.Node, error) {
		return attention(s, "attn_", t.Heads, t.Causal, x, mask)
	}
	if t.NormFirst {
		n1, err := norm("norm1", x)
		if err != nil {
			return nil, err
		}
		a, err := attn(n1)
		if err != nil {
			return nil, err
		}
		x1, err := gorgonia.Add(x, a)
		if err != nil {
			return nil, err
		}
		n2, err := norm("norm2", x1)
		if err != nil {
			return nil, err
		}
		f, err := ff(n2)
		if err != nil {
			return nil, err
		}
		return gorgonia.Add(x1, f)
	}
	a, err := attn(x)
	if err != nil {
		return nil, err
	}
	sum, err := gorgonia.Add(x, a)
	if err != nil {
		return nil, err
	}
	x1, err := norm("norm1", sum)
	if err != nil {
		return nil, err
	}
	f, err := ff(x1)
	if err != nil {
		return nil, err
	}
	if sum, err = gorgonia.Add(x1, f); err != nil {
		return nil, err
	}
	return norm("norm2", sum)
}

// paramDense applies the dense parameters prefix_weight (in, out) and
// prefix_bias on the last axis of x.
func paramDense(s *Scope, prefix string, x *gorgonia.Node) (*gorgonia.Node, error) {
	w, err := s.Param(prefix + "_weight")
	if err != nil {
		return nil, err
	}
	b, err := s.Param(prefix + "_bias")
	if err != nil {
		return nil, err
	}
	return lastAxisDense(x, w, b)
}

// lastAxisDense is x·w + b over the last axis of x: every other axis is
// folded into rows for one fused dense op (ops.Dense) and unfolded after.
func lastAxisDense(x, w, b *gorgonia.Node) (*gorgonia.Node, error) {
	shape := x.Shape().Clone()
	if len(shape) < 2 {
		return nil, fmt.Errorf("input %v has no features axis", shape)
	}
	feat := shape[len(shape)-1]
	in := x
	var err error
	if len(shape) != 2 {
		if in, err = ops.Reshape(x, tensor.Shape{shape.TotalSize() / feat, feat}); err != nil {
			return nil, err
		}
	}
	y, err := ops.Dense(in, w, b)
	if err != nil || len(shape) == 2 {
		return y, err
	}
	shape[len(shape)-1] = w.Shape()[1]
	return ops.Reshape(y, shape)
}
