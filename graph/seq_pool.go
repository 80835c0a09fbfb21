package graph

import (
	"fmt"

	"github.com/tapenet/tapenet/graph/ops"
	"gorgonia.org/gorgonia"
)

// MaskedMean averages a (time, features) input over time per sample,
// giving (features): over every step applied to one tensor (Keras's
// GlobalAveragePooling1D), over each sample's valid steps applied to two,
// the second being the lengths or padding mask of a padded batch: an
// int64/int32 length per sample (per-sample shape () or (1)), or a bool or
// float32 (time) padding mask, true or nonzero on padding steps (the mask
// MultiHeadAttention takes), padding after the valid steps. A sample with
// no valid step averages to zeros. A lengths input of another shape is an
// error naming the layer when it is applied; a length above time, or a
// valid step after padding, when the model runs.
type MaskedMean struct{}

// Kind returns "maskedmean".
func (*MaskedMean) Kind() string { return "maskedmean" }

// CheckTypes accepts a float32 sequence and int64/int32 lengths or a
// bool/float32 padding mask.
func (*MaskedMean) CheckTypes(in []DType) error {
	for i, d := range in {
		switch d = d.Or(); {
		case d == Float32:
		case i == 1 && (d == Int64 || d == Int32 || d == Bool):
		default:
			return fmt.Errorf("maskedmean: input %d is %s; want a float32 sequence and int64/int32 lengths or a bool/float32 padding mask", i, d)
		}
	}
	return nil
}

// Forward averages over every step.
func (*MaskedMean) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	y, err := ops.MaskedMean(x, nil)
	return ops.InLayer(y, s.Name()), err
}

// Merge averages xs[0] over the valid steps given by xs[1].
func (*MaskedMean) Merge(s *Scope, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	if len(xs) != 2 {
		return nil, fmt.Errorf("maskedmean: %d inputs, want the sequence and its lengths or padding mask", len(xs))
	}
	y, err := ops.MaskedMean(xs[0], xs[1])
	return ops.InLayer(y, s.Name()), err
}
