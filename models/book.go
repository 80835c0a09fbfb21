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
// W1, b1, W2, b2, ..., Wn, bn.
//
// With Wi of shape (in, out) and bi of shape (out), as in the chapter 3
// sample_weight.pkl, the model is n Dense layers, each but the last
// followed by the hidden activation, and a softmax output.
//
// When W1 is a convolution kernel (filters, channels, kh, kw), the arrays
// are those of the book's convnets, told apart by their number: W1 to W3
// are SimpleConvNet's (ch07/params.pkl; see BookSimpleConvNet), W1 to W8
// DeepConvNet's (ch08/deep_convnet_params.pkl; see BookDeepConvNet). Their
// activations are the book's ReLU whatever activation says, and the
// strides, paddings and poolings are the book's; the numbers of filters,
// kernel sizes, hidden units and classes are read from the shapes.
//
// Shapes are checked against each other; errors name the array.
func FromBook(arrays map[string]numpyio.Array, activation string) (*graph.Model, error) {
	if w1, ok := arrays["W1"]; ok && len(w1.Shape) == 4 {
		n, err := bookCount(arrays)
		if err != nil {
			return nil, err
		}
		return fromBookConv(arrays, n)
	}
	act, err := Activation(activation)
	if err != nil {
		return nil, err
	}
	n, err := bookCount(arrays)
	if err != nil {
		return nil, err
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

// bookCount checks that every array is named Wi or bi and returns the
// largest i.
func bookCount(arrays map[string]numpyio.Array) (int, error) {
	n := 0
	for _, name := range slices.Sorted(maps.Keys(arrays)) {
		m := bookName.FindStringSubmatch(name)
		if m == nil {
			return 0, fmt.Errorf("array %q is not named in the book's convention W1, b1, W2, b2, ... (have %v)", name, slices.Sorted(maps.Keys(arrays)))
		}
		i, err := strconv.Atoi(m[2])
		if err != nil {
			return 0, fmt.Errorf("array %q: %w", name, err)
		}
		n = max(n, i)
	}
	if n == 0 {
		return 0, fmt.Errorf("no arrays W1, b1, ... found")
	}
	return n, nil
}

func sortedKeys(m map[string]numpyio.Array) []string {
	ks := slices.Collect(maps.Keys(m))
	sort.Strings(ks)
	return ks
}
