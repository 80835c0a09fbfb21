package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tapenet/tapenet/graph/ops"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func builtins() []Constructor {
	return append([]Constructor{
		func() Layer { return &Dense{} },
		func() Layer { return Step{} },
		func() Layer { return Sigmoid{} },
		func() Layer { return ReLU{} },
		func() Layer { return Tanh{} },
		func() Layer { return Identity{} },
		func() Layer { return Softmax{} },
		func() Layer { return LogSoftmax{} },
		func() Layer { return &Conv2D{} },
		func() Layer { return &MaxPool2D{} },
		func() Layer { return Flatten{} },
		func() Layer { return &Dropout{} },
		func() Layer { return &BatchNorm{} },
		func() Layer { return Add{} },
		func() Layer { return Multiply{} },
		func() Layer { return &Concat{} },
		func() Layer { return &Reshape{} },
		func() Layer { return GlobalAvgPool2D{} },
		func() Layer { return &AvgPool2D{} },
	}, seqBuiltins()...)
}

// Dense is a fully connected layer, the book's Affine: y = x·W + b, with W
// of shape (in, Units) and b of shape (Units). Inputs of rank above 2 are
// flattened per sample first. Parameters: "weight" and "bias".
//
// PyTorch's nn.Linear stores its weight transposed, as (out, in).
type Dense struct {
	// Units is the number of outputs.
	Units int `json:"units"`
	// Init names the weight initialiser: "he" (default; for ReLU),
	// "xavier" (for sigmoid and tanh), "normal:STD" (a fixed standard
	// deviation, e.g. the book's weight_init_std "normal:0.01") or "zeros".
	Init string `json:"init,omitempty"`
}

// Kind returns "dense".
func (d *Dense) Kind() string { return "dense" }

// Params declares weight (in, Units) and bias (Units).
func (d *Dense) Params(in []int) ([]ParamSpec, error) {
	if d.Units < 1 {
		return nil, fmt.Errorf("dense: units must be positive, got %d", d.Units)
	}
	init, err := initializer(d.Init)
	if err != nil {
		return nil, fmt.Errorf("dense: %w", err)
	}
	n := 1
	for _, v := range in {
		n *= v
	}
	return []ParamSpec{
		{Name: "weight", Shape: []int{n, d.Units}, Init: init},
		{Name: "bias", Shape: []int{d.Units}},
	}, nil
}

// Forward adds x·W + b (bias broadcast over the batch), one fused op for
// float32 (see ops.Dense).
func (d *Dense) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	w, err := s.Param("weight")
	if err != nil {
		return nil, err
	}
	b, err := s.Param("bias")
	if err != nil {
		return nil, err
	}
	if x.Dims() != 2 {
		shape := x.Shape()
		if x, err = gorgonia.Reshape(x, tensor.Shape{shape[0], shape.TotalSize() / shape[0]}); err != nil {
			return nil, fmt.Errorf("flatten: %w", err)
		}
	}
	return ops.Dense(x, w, b)
}

func initializer(name string) (Initializer, error) {
	switch name {
	case "", "he":
		return HeNormal, nil
	case "xavier":
		return XavierNormal, nil
	case "zeros":
		return nil, nil
	}
	if v, ok := strings.CutPrefix(name, "normal:"); ok {
		std, err := strconv.ParseFloat(v, 64)
		if err != nil || !(std > 0) || math.IsInf(std, 0) {
			return nil, fmt.Errorf("init %q: want normal:STD with STD a positive number, e.g. normal:0.01", name)
		}
		return Normal(std), nil
	}
	return nil, fmt.Errorf("unknown init %q (want he, xavier, normal:STD or zeros)", name)
}

// Step is the step function: 1 where x > 0, else 0. It has no useful
// gradient, so a model using it can run but not train (the book's reason
// for sigmoid).
type Step struct{}

// Kind returns "step".
func (Step) Kind() string { return "step" }

// Forward adds x > 0 as 0/1 values.
func (Step) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	if s.Training() {
		return nil, fmt.Errorf("layer %s: step has zero gradient almost everywhere and cannot be trained; use sigmoid or relu", s.Name())
	}
	return gorgonia.Gt(x, zeroLike(x), true)
}

// Sigmoid is 1 / (1 + exp(-x)).
type Sigmoid struct{}

// Kind returns "sigmoid".
func (Sigmoid) Kind() string { return "sigmoid" }

// Forward adds sigmoid(x), computed in float32 (see ops.Sigmoid).
func (Sigmoid) Forward(_ *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return ops.Sigmoid(x)
}

// ReLU is max(0, x).
type ReLU struct{}

// Kind returns "relu".
func (ReLU) Kind() string { return "relu" }

// Forward adds max(0, x), one float32 op (see ops.ReLU).
func (ReLU) Forward(_ *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return ops.ReLU(x)
}

// Tanh is the hyperbolic tangent.
type Tanh struct{}

// Kind returns "tanh".
func (Tanh) Kind() string { return "tanh" }

// Forward adds tanh(x).
func (Tanh) Forward(_ *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.Tanh(x)
}

// Identity passes x through: the output activation for regression.
type Identity struct{}

// Kind returns "identity".
func (Identity) Kind() string { return "identity" }

// Forward returns x itself.
func (Identity) Forward(_ *Scope, x *gorgonia.Node) (*gorgonia.Node, error) { return x, nil }

// Softmax normalises each row (sample) of a (batch, classes) input into
// probabilities: exp(x - max) / sum(exp(x - max)). Subtracting each row's
// own maximum is the book's overflow guard; rows of one batch never share
// it (Gorgonia's own SoftMax does, and gives NaN when rows are far apart).
type Softmax struct{}

// Kind returns "softmax".
func (Softmax) Kind() string { return "softmax" }

// Forward adds the row-wise softmax of x.
func (Softmax) Forward(_ *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return ops.Softmax(x)
}

func zeroLike(x *gorgonia.Node) *gorgonia.Node {
	if x.Dtype() == tensor.Float64 {
		return gorgonia.NewConstant(0.0)
	}
	return gorgonia.NewConstant(float32(0))
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Meaning returns BinaryProbabilities.
func (Sigmoid) Meaning() Meaning { return BinaryProbabilities }

// NormalizesLogits marks Sigmoid as a Normalizer of BinaryLogits.
func (Sigmoid) NormalizesLogits() {}

// Meaning returns Probabilities.
func (Softmax) Meaning() Meaning { return Probabilities }

// NormalizesLogits marks Softmax as a Normalizer of Logits.
func (Softmax) NormalizesLogits() {}
