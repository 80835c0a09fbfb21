package models

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sync"

	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/ops"
	"github.com/tapenet/tapenet/onnximport"
	"gorgonia.org/gorgonia"
)

// BookDropout is dropout as the book's common/layers.py Dropout computes it
// (the original formulation of Hinton et al. 2012, arXiv:1207.0580), which
// is not the "inverted" dropout of graph.Dropout and PyTorch:
//
//   - in training, each value is kept with probability 1 - Rate and
//     multiplied by its 0/1 mask, without rescaling (the book keeps a value
//     where a uniform draw exceeds dropout_ratio);
//   - in inference (the book's predict(x, train_flg=False)), every value is
//     multiplied by 1 - Rate.
//
// A network trained with one kind and run with the other is off by a factor
// 1 - Rate, which is why the book's DeepConvNet (deep_convnet_params.pkl)
// needs this layer to give the book's outputs.
//
// Its masks come from its own generator, seeded by Seed and the layer's
// name, as graph.Dropout's do: seeded training is reproducible.
// Its kind is "bookdropout" (in Registry); it exports to ONNX as a Mul by
// the constant 1 - Rate.
type BookDropout struct {
	// Rate is the book's dropout_ratio: the probability of dropping a
	// value while training, in [0, 1).
	Rate float64 `json:"rate"`
	// Seed seeds the masks (default 0); the layer name is mixed in.
	Seed uint64 `json:"seed,omitempty"`

	mu  sync.Mutex
	rng *rand.Rand
}

// Kind returns "bookdropout".
func (*BookDropout) Kind() string { return "bookdropout" }

func (d *BookDropout) check() error {
	if !(d.Rate >= 0 && d.Rate < 1) {
		return fmt.Errorf("bookdropout: rate must be in [0, 1), got %v", d.Rate)
	}
	return nil
}

// Forward adds x ⊙ mask (a fresh 0/1 mask at every run) in training graphs
// and x·(1 - Rate) in inference graphs.
func (d *BookDropout) Forward(s *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	if d.Rate == 0 {
		return x, nil
	}
	if !s.Training() {
		y, err := gorgonia.Mul(x, gorgonia.NewConstant(float32(1-d.Rate)))
		if err != nil {
			return nil, fmt.Errorf("bookdropout: %w", err)
		}
		return y, nil
	}
	d.mu.Lock()
	if d.rng == nil {
		h := fnv.New64a()
		h.Write([]byte(s.Name()))
		d.rng = rand.New(rand.NewPCG(d.Seed, h.Sum64()))
	}
	d.mu.Unlock()
	return ops.Mask(x, d.draw, fmt.Sprintf("BookDropout(%v)", d.Rate))
}

// draw fills mask with 1 where a uniform draw exceeds Rate, else 0.
func (d *BookDropout) draw(mask []float32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range mask {
		if d.rng.Float64() > d.Rate {
			mask[i] = 1
		} else {
			mask[i] = 0
		}
	}
}

// ONNXNode writes the inference form: Mul by the constant 1 - Rate
// (Identity when Rate is 0).
func (d *BookDropout) ONNXNode(b *export.ONNXBuilder, x string) (string, error) {
	if err := d.check(); err != nil {
		return "", err
	}
	if d.Rate == 0 {
		return b.Node("Identity", []string{x}), nil
	}
	scale, err := b.Constant("scale", nil, []float32{float32(1 - d.Rate)})
	if err != nil {
		return "", err
	}
	return b.Node("Mul", []string{x, scale}), nil
}

// Registry returns the layer kinds a tapenet model may use: graph's
// built-in kinds, this package's (BookDropout) and onnximport's. Open reads checkpoints
// with it; pass it to checkpoint.Read or graph.FromSpec for a model built
// from this package's architectures.
func Registry() *graph.Registry {
	r := graph.Builtin()
	// The kind is new to the registry returned by Builtin: this cannot fail.
	_ = r.Register("bookdropout", func() graph.Layer { return &BookDropout{} })
	// And onnximport's kinds, for checkpoints of models imported from ONNX
	// (new to the registry too).
	_ = onnximport.Register(r)
	return r
}
