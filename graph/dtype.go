package graph

import (
	"fmt"

	"gorgonia.org/tensor"
)

// DType names the element type of a model's tensor: an input, a layer's
// output or a constant. The zero value "" means Float32, so every model
// declared before types existed keeps its meaning (and its spec bytes).
type DType string

// The element types a model may hold.
const (
	Float32 DType = "float32"
	Float64 DType = "float64"
	Int64   DType = "int64"
	Int32   DType = "int32"
	Bool    DType = "bool"
)

var dtypes = []DType{Float32, Float64, Int64, Int32, Bool}

// ParseDType returns the DType named s ("" is Float32).
func ParseDType(s string) (DType, error) {
	if s == "" {
		return Float32, nil
	}
	for _, d := range dtypes {
		if string(d) == s {
			return d, nil
		}
	}
	return "", fmt.Errorf("unknown element type %q (known: %v)", s, dtypes)
}

// Or returns d, or Float32 when d is the zero value.
func (d DType) Or() DType {
	if d == "" {
		return Float32
	}
	return d
}

// Tensor returns the gorgonia/tensor element type of d.
func (d DType) Tensor() tensor.Dtype {
	switch d.Or() {
	case Float64:
		return tensor.Float64
	case Int64:
		return tensor.Int64
	case Int32:
		return tensor.Int32
	case Bool:
		return tensor.Bool
	}
	return tensor.Float32
}

// Size returns the bytes of one element.
func (d DType) Size() int {
	switch d.Or() {
	case Float64, Int64:
		return 8
	case Bool:
		return 1
	}
	return 4
}

// DTypeOf returns the DType of a gorgonia/tensor element type, or an error
// for one models do not hold.
func DTypeOf(t tensor.Dtype) (DType, error) {
	switch t {
	case tensor.Float32:
		return Float32, nil
	case tensor.Float64:
		return Float64, nil
	case tensor.Int64:
		return Int64, nil
	case tensor.Int32:
		return Int32, nil
	case tensor.Bool:
		return Bool, nil
	}
	return "", fmt.Errorf("element type %v is not one a model holds (%v)", t, dtypes)
}

// TypeChecker is implemented by a layer that takes inputs of other types
// than float32 (an embedding takes int64 or int32 ids, a mask layer bool).
// A layer that does not implement it takes float32 inputs only: any other
// type is an error when the layer is applied, naming the layer.
type TypeChecker interface {
	Layer
	// CheckTypes returns an error unless the layer takes inputs of these
	// element types (one per input, in order).
	CheckTypes(in []DType) error
}

// checkTypes applies a layer's TypeChecker, or the float32-only default.
func checkTypes(l Layer, in []DType) error {
	if tc, ok := l.(TypeChecker); ok {
		return tc.CheckTypes(in)
	}
	for i, d := range in {
		if d.Or() != Float32 {
			return fmt.Errorf("input %d is %s; this layer takes float32 (cast it first, or use a layer that takes %s)", i, d.Or(), d.Or())
		}
	}
	return nil
}
