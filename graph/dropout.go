package graph

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"

	"github.com/tapenet/tapenet/graph/ops"
	"gorgonia.org/gorgonia"
)

// Dropout zeroes each input value with probability Rate while training and
// scales the kept ones by 1/(1-Rate) ("inverted" dropout, as in PyTorch), so
// inference, where it passes its input through unchanged, needs no
// rescaling.
//
// Its masks are drawn, at every run of a training graph, from the graph's
// generator (BuildOptions.Rand; a train.Trainer seeds it from its
// Config.Seed), so a seeded run gives the same masks and so the same trained
// model, bit for bit, however many times it is repeated in one process. A
// graph built without a generator gets one of its own from Seed and the
// layer's name. The layer value holds no generator: it stays a plain
// configuration. (gorgonia.Dropout seeds a generator from the clock at
// every call, which makes seeded training irreproducible; this layer does
// not use it.)
type Dropout struct {
	// Rate is the probability of dropping a value, in [0, 1).
	Rate float64 `json:"rate"`
	// Seed seeds the masks of a training graph built without
	// BuildOptions.Rand (default 0); the layer name is mixed in, so two
	// dropout layers of a model draw different masks.
	Seed uint64 `json:"seed,omitempty"`
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
	rng := s.Rand()
	if rng == nil {
		h := fnv.New64a()
		h.Write([]byte(s.Name()))
		rng = rand.New(rand.NewPCG(d.Seed, h.Sum64()))
	}
	rate := d.Rate
	keep := float32(1 / (1 - rate))
	// draw fills mask with 0 (probability Rate) or 1/(1-Rate).
	draw := func(mask []float32) {
		for i := range mask {
			if rng.Float64() < rate {
				mask[i] = 0
			} else {
				mask[i] = keep
			}
		}
	}
	return ops.Mask(x, draw, fmt.Sprintf("Dropout(%v)", d.Rate))
}
