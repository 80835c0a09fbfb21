package train

import (
	"fmt"

	"github.com/tapenet/tapenet/graph"
)

// WithDropout returns m, a stack of layers, with a graph.Dropout layer of
// the given rate (named dropout1, dropout2, ...) after each hidden
// activation that feeds a dense layer; m itself for rate 0. The new model
// shares m's layers (and so its weights).
func WithDropout(m *graph.Model, rate float64) (*graph.Model, error) {
	if rate == 0 {
		return m, nil
	}
	if !(rate > 0 && rate < 1) {
		return nil, fmt.Errorf("dropout rate %v is not in [0, 1)", rate)
	}
	if !m.IsSequential() {
		return nil, fmt.Errorf("dropout: the model is not a stack of layers")
	}
	layers := m.Layers()
	var out []graph.NamedLayer
	n := 0
	for i, nl := range layers {
		out = append(out, nl)
		if i+1 < len(layers) && isActivation(nl.Layer) {
			if _, dense := layers[i+1].Layer.(*graph.Dense); dense {
				n++
				out = append(out, graph.NamedLayer{Name: fmt.Sprintf("dropout%d", n), Layer: &graph.Dropout{Rate: rate}})
			}
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("dropout: the model has no hidden activation feeding a dense layer")
	}
	return graph.NewNamed(m.Input(), out...)
}

func isActivation(l graph.Layer) bool {
	switch l.(type) {
	case graph.ReLU, graph.Sigmoid, graph.Tanh, graph.Identity:
		return true
	}
	return false
}
