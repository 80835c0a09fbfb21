package graph

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tapenet/tapenet/graph/ops"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BatchNorm is batch normalisation (Ioffe & Szegedy 2015; the book's
// chapter 6): y = (x - mean) / sqrt(var + Epsilon) · weight + bias, per
// feature of a (batch, features) input or per channel of a (batch,
// channels, height, width) input.
//
// In training, mean and var are the batch's own (the biased variance), and
// each training run also updates the running statistics:
// running = (1 - Momentum)·running + Momentum·batch (the unbiased variance
// for running_var), as PyTorch's nn.BatchNorm1d/2d do. In inference, the
// running statistics are used.
//
// Parameters: "weight" (γ, initially 1) and "bias" (β, 0), learned; and the
// buffers "running_mean" (0) and "running_var" (1), saved in checkpoints
// but not learned (ParamSpec.Buffer). Names and layout are PyTorch's.
type BatchNorm struct {
	// Momentum weighs each batch in the running statistics (default 0.1).
	Momentum float64 `json:"momentum,omitempty"`
	// Epsilon is added to the variance (default 1e-5).
	Epsilon float64 `json:"epsilon,omitempty"`
}

// Kind returns "batchnorm".
func (*BatchNorm) Kind() string { return "batchnorm" }

// Eps returns the epsilon in effect (Epsilon, or its default 1e-5).
func (b *BatchNorm) Eps() float64 { return b.epsilon() }

func (b *BatchNorm) momentum() float64 {
	if b.Momentum == 0 {
		return 0.1
	}
	return b.Momentum
}

func (b *BatchNorm) epsilon() float64 {
	if b.Epsilon == 0 {
		return 1e-5
	}
	return b.Epsilon
}

func ones(_ *rand.Rand, _ []int, data []float32) {
	for i := range data {
		data[i] = 1
	}
}

// Params declares weight, bias, running_mean and running_var, each of
// the number of features (2-D inputs) or channels (4-D inputs).
func (b *BatchNorm) Params(in []int) ([]ParamSpec, error) {
	if !(b.Momentum >= 0 && b.Momentum <= 1) || !(b.Epsilon >= 0) || math.IsInf(b.Epsilon, 0) {
		return nil, fmt.Errorf("batchnorm: momentum must be in [0, 1] and epsilon not negative, got %v and %v", b.Momentum, b.Epsilon)
	}
	if len(in) != 1 && len(in) != 3 {
		return nil, fmt.Errorf("batchnorm: input must be (features) or (channels, height, width) per sample, got %v", in)
	}
	c := []int{in[0]}
	return []ParamSpec{
		{Name: "weight", Shape: c, Init: ones},
		{Name: "bias", Shape: c},
		{Name: "running_mean", Shape: c, Buffer: true},
		{Name: "running_var", Shape: c, Init: ones, Buffer: true},
	}, nil
}

// Forward adds the normalisation of x. A 4-D input is moved to
// (batch·height·width, channels), normalised per column, and moved back.
func (b *BatchNorm) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	shape := x.Shape().Clone()
	var err error
	if x.Dims() == 4 && s.Training() {
		// Training on images: one fused op over the NCHW planes (no
		// channel moves), with its fused gradients.
		return b.fused(s, x)
	}
	switch x.Dims() {
	case 2:
	case 4:
		if x, err = ops.ChannelsLast(x); err != nil {
			return nil, err
		}
		if x, err = gorgonia.Reshape(x, tensor.Shape{shape[0] * shape[2] * shape[3], shape[1]}); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("batchnorm: input must be (batch, features) or (batch, channels, height, width), got %v", shape)
	}
	p := map[string]*gorgonia.Node{}
	for _, name := range []string{"weight", "bias", "running_mean", "running_var"} {
		if p[name], err = s.Param(name); err != nil {
			return nil, err
		}
	}
	eps := gorgonia.NewConstant(float32(b.epsilon()))
	mean, variance := p["running_mean"], p["running_var"]
	if s.Training() {
		rm, rv, err := runningStats(s)
		if err != nil {
			return nil, err
		}
		if x, err = ops.BatchStats(x, rm, rv, b.momentum(), s.Name()); err != nil {
			return nil, err
		}
		if mean, err = gorgonia.Mean(x, 0); err != nil {
			return nil, err
		}
	}
	xc, err := gorgonia.BroadcastSub(x, mean, nil, []byte{0})
	if err != nil {
		return nil, err
	}
	if s.Training() {
		sq, err := gorgonia.Square(xc)
		if err != nil {
			return nil, err
		}
		if variance, err = gorgonia.Mean(sq, 0); err != nil {
			return nil, err
		}
	}
	// scale = weight / sqrt(var + eps), per feature.
	ve, err := gorgonia.Add(variance, eps)
	if err != nil {
		return nil, err
	}
	sd, err := gorgonia.Sqrt(ve)
	if err != nil {
		return nil, err
	}
	scale, err := gorgonia.HadamardDiv(p["weight"], sd)
	if err != nil {
		return nil, err
	}
	y, err := gorgonia.BroadcastHadamardProd(xc, scale, nil, []byte{0})
	if err != nil {
		return nil, err
	}
	if y, err = gorgonia.BroadcastAdd(y, p["bias"], nil, []byte{0}); err != nil {
		return nil, err
	}
	if len(shape) == 4 {
		if y, err = gorgonia.Reshape(y, tensor.Shape{shape[0], shape[2], shape[3], shape[1]}); err != nil {
			return nil, err
		}
		return ops.ChannelsFirst(y)
	}
	return y, nil
}

// fused is Forward in training on (N, C, H, W) inputs: ops.BatchNorm2D.
func (b *BatchNorm) fused(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	w, err := s.Param("weight")
	if err != nil {
		return nil, err
	}
	bias, err := s.Param("bias")
	if err != nil {
		return nil, err
	}
	rm, rv, err := runningStats(s)
	if err != nil {
		return nil, err
	}
	return ops.BatchNorm2D(x, w, bias, rm, rv, b.momentum(), b.epsilon(), s.Name())
}

// runningStats returns the running mean and variance buffers, which
// training updates in place.
func runningStats(s *Scope) (mean, variance *tensor.Dense, err error) {
	if mean, err = s.Buffer("running_mean"); err != nil {
		return nil, nil, err
	}
	if variance, err = s.Buffer("running_var"); err != nil {
		return nil, nil, err
	}
	return mean, variance, nil
}
