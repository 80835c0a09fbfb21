package graph

import (
	"fmt"
	"hash"
	"math"
	"math/rand/v2"

	"github.com/chewxy/hm"
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
	switch x.Dims() {
	case 2:
	case 4:
		if x, err = gorgonia.ApplyOp(channelsOp{toFirst: false}, x); err != nil {
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
		rm, err := s.Buffer("running_mean")
		if err != nil {
			return nil, err
		}
		rv, err := s.Buffer("running_var")
		if err != nil {
			return nil, err
		}
		stats := &batchStatsOp{
			mean:     rm,
			variance: rv,
			momentum: b.momentum(),
			name:     s.Name(),
		}
		if x, err = gorgonia.ApplyOp(stats, x); err != nil {
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
		return gorgonia.ApplyOp(channelsOp{toFirst: true}, y)
	}
	return y, nil
}

// batchStatsOp passes a (rows, features) input through unchanged and, as a
// side effect of every run, folds the column means and unbiased variances
// into the running statistics. Its gradient is the identity.
type batchStatsOp struct {
	mean, variance *tensor.Dense
	momentum       float64
	name           string
}

func (op *batchStatsOp) Arity() int { return 1 }
func (op *batchStatsOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (op *batchStatsOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("batch statistics: want a shape, got %v", in[0])
	}
	return s.Clone(), nil
}

func (op *batchStatsOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := float32Dense(vals)
	if err != nil {
		return nil, fmt.Errorf("batch statistics: %w", err)
	}
	x := in.Data().([]float32)
	rows, cols := in.Shape()[0], in.Shape()[1]
	rm, rv := op.mean.Data().([]float32), op.variance.Data().([]float32)
	if len(rm) != cols || len(rv) != cols {
		return nil, fmt.Errorf("batch statistics: %d features, running statistics of %d", cols, len(rm))
	}
	sum := make([]float64, cols)
	sq := make([]float64, cols)
	for r := 0; r < rows; r++ {
		for c, v := range x[r*cols : (r+1)*cols] {
			sum[c] += float64(v)
		}
	}
	for c := range sum {
		sum[c] /= float64(rows)
	}
	for r := 0; r < rows; r++ {
		for c, v := range x[r*cols : (r+1)*cols] {
			d := float64(v) - sum[c]
			sq[c] += d * d
		}
	}
	m := op.momentum
	for c := range rm {
		v := sq[c] / float64(max(rows-1, 1))
		rm[c] = float32((1-m)*float64(rm[c]) + m*sum[c])
		rv[c] = float32((1-m)*float64(rv[c]) + m*v)
	}
	return in.Clone().(*tensor.Dense), nil
}

func (op *batchStatsOp) ReturnsPtr() bool      { return false }
func (op *batchStatsOp) CallsExtern() bool     { return false }
func (op *batchStatsOp) OverwritesInput() int  { return -1 }
func (op *batchStatsOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "batchstats(%s)@%p", op.name, op) }
func (op *batchStatsOp) Hashcode() uint32      { return hashOp(op) }
func (op *batchStatsOp) String() string        { return "BatchStats(" + op.name + ")" }
func (op *batchStatsOp) DiffWRT(int) []bool    { return []bool{true} }
func (op *batchStatsOp) SymDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	return gorgonia.Nodes{grad}, nil
}
