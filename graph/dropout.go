package graph

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sync"

	"github.com/tapenet/tapenet/graph/ops"
	"gorgonia.org/gorgonia"
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
	return ops.Mask(x, d.draw, fmt.Sprintf("Dropout(%v)", d.Rate))
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
