package models

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/numpyio"
)

var bookName = regexp.MustCompile(`^([Wb])([1-9][0-9]*)$`)

// FromBook builds a model from weights in the book's convention: arrays
// W1, b1, W2, b2, ..., Wn, bn with Wi of shape (in, out) and bi of shape
// (out), as in sample_weight.pkl. The model is n Dense layers, each but the
// last followed by the hidden activation, and a softmax output. Shapes are
// checked against each other; errors name the array.
func FromBook(arrays map[string]numpyio.Array, activation string) (*graph.Model, error) {
	act, err := Activation(activation)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, name := range slices.Sorted(maps.Keys(arrays)) {
		m := bookName.FindStringSubmatch(name)
		if m == nil {
			return nil, fmt.Errorf("array %q is not named in the book's convention W1, b1, W2, b2, ... (have %v)", name, slices.Sorted(maps.Keys(arrays)))
		}
		i, _ := strconv.Atoi(m[2])
		n = max(n, i)
	}
	if n == 0 {
		return nil, fmt.Errorf("no arrays W1, b1, ... found")
	}
	var layers []graph.Layer
	in := 0
	for i := 1; i <= n; i++ {
		wn, bn := "W"+strconv.Itoa(i), "b"+strconv.Itoa(i)
		w, okw := arrays[wn]
		b, okb := arrays[bn]
		switch {
		case !okw:
			return nil, fmt.Errorf("array %s is missing (have %v)", wn, sortedKeys(arrays))
		case !okb:
			return nil, fmt.Errorf("array %s is missing (have %v)", bn, sortedKeys(arrays))
		case len(w.Shape) != 2:
			return nil, fmt.Errorf("array %s has shape %v, want a matrix (in, out)", wn, w.Shape)
		case len(b.Shape) != 1 || b.Shape[0] != w.Shape[1]:
			return nil, fmt.Errorf("array %s has shape %v, want (%d) to match %s %v", bn, b.Shape, w.Shape[1], wn, w.Shape)
		case i > 1 && w.Shape[0] != in:
			return nil, fmt.Errorf("array %s has shape %v, but the previous layer gives %d outputs", wn, w.Shape, in)
		}
		in = w.Shape[1]
		layers = append(layers, &graph.Dense{Units: w.Shape[1], Init: initFor(activation)})
		if i < n {
			layers = append(layers, act)
		}
	}
	layers = append(layers, graph.Softmax{})
	m, err := graph.NewSequential([]int{arrays["W1"].Shape[0]}, layers...)
	if err != nil {
		return nil, err
	}
	for i := 1; i <= n; i++ {
		w, b := arrays["W"+strconv.Itoa(i)], arrays["b"+strconv.Itoa(i)]
		fc := "fc" + strconv.Itoa(i)
		if err := m.SetParam(fc+".weight", w.Shape, w.Data); err != nil {
			return nil, fmt.Errorf("array W%d: %w", i, err)
		}
		if err := m.SetParam(fc+".bias", b.Shape, b.Data); err != nil {
			return nil, fmt.Errorf("array b%d: %w", i, err)
		}
	}
	return m, nil
}

func sortedKeys(m map[string]numpyio.Array) []string {
	ks := slices.Collect(maps.Keys(m))
	sort.Strings(ks)
	return ks
}
