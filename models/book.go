package models

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
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
	shapes := make(map[string][]int, len(arrays))
	for name, a := range arrays {
		shapes[name] = a.Shape
	}
	if w1 := shapes["W1"]; len(w1) == 4 {
		n, err := bookNames(shapes)
		if err != nil {
			return nil, err
		}
		return fromBookConv(arrays, n)
	}
	act, err := Activation(activation)
	if err != nil {
		return nil, err
	}
	n, err := checkBook(shapes)
	if err != nil {
		return nil, err
	}
	var layers []graph.Layer
	for i := 1; i <= n; i++ {
		layers = append(layers, &graph.Dense{Units: shapes["W"+strconv.Itoa(i)][1], Init: initFor(activation)})
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

// checkBook checks array names and shapes against the book's convention
// and returns the number of layers. It needs only the shapes, so Open runs
// it before numpyio reads any array's data. The book's convnets (a 4-D W1)
// are checked by name here and by shape when they are built.
func checkBook(shapes map[string][]int) (int, error) {
	n, err := bookNames(shapes)
	if err != nil || len(shapes["W1"]) == 4 {
		return n, err
	}
	names := slices.Sorted(maps.Keys(shapes))
	in := 0
	for i := 1; i <= n; i++ {
		wn, bn := "W"+strconv.Itoa(i), "b"+strconv.Itoa(i)
		w, okw := shapes[wn]
		b, okb := shapes[bn]
		switch {
		case !okw:
			return 0, fmt.Errorf("array %s is missing (have %s)", wn, listNames(names))
		case !okb:
			return 0, fmt.Errorf("array %s is missing (have %s)", bn, listNames(names))
		case len(w) != 2:
			return 0, fmt.Errorf("array %s has shape %v, want a matrix (in, out)", wn, w)
		case len(b) != 1 || b[0] != w[1]:
			return 0, fmt.Errorf("array %s has shape %v, want (%d) to match %s %v", bn, b, w[1], wn, w)
		case i > 1 && w[0] != in:
			return 0, fmt.Errorf("array %s has shape %v, but the previous layer gives %d outputs", wn, w, in)
		}
		in = w[1]
	}
	return n, nil
}

// listNames lists names for a message, the first ten only.
func listNames(names []string) string {
	if len(names) > 10 {
		return fmt.Sprintf("%v and %d more", names[:10], len(names)-10)
	}
	return fmt.Sprint(names)
}

// bookNames checks that every array is named Wi or bi and returns the
// largest i.
func bookNames(shapes map[string][]int) (int, error) {
	names := slices.Sorted(maps.Keys(shapes))
	n := 0
	for _, name := range names {
		m := bookName.FindStringSubmatch(name)
		if m == nil {
			return 0, fmt.Errorf("array %q is not named in the book's convention W1, b1, W2, b2, ... (have %s)", name, listNames(names))
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

func sortedKeys(m map[string]numpyio.Array) string {
	return listNames(slices.Sorted(maps.Keys(m)))
}
