package ops

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// RecurrentWith refuses options that do not fit, each with one error.
func TestRecurrentWithBadOptions(t *testing.T) {
	g := gorgonia.NewGraph()
	node := func(name string, dt tensor.Dtype, shape ...int) *gorgonia.Node {
		return gorgonia.NewTensor(g, dt, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName(name))
	}
	x := node("x", tensor.Float32, 2, 3, 4)
	wih, whh, b := node("wih", tensor.Float32, 5, 4), node("whh", tensor.Float32, 5, 5), node("b", tensor.Float32, 5)
	for _, c := range []struct {
		name string
		o    RecurrentOptions
		want string
	}{
		{"lengths of 3", RecurrentOptions{Lengths: node("l3", tensor.Int64, 3)}, "lengths of shape (3), want (batch) or (batch, 1) = (2)"},
		{"mask (2, 4)", RecurrentOptions{Lengths: node("m", tensor.Bool, 2, 4)}, "padding mask of shape (2, 4), want (batch, time) = (2, 3)"},
		{"float64 lengths", RecurrentOptions{Lengths: node("f", tensor.Float64, 2)}, "lengths of type float64"},
		{"h0 (2, 2, 5) one direction", RecurrentOptions{H0: node("h", tensor.Float32, 2, 2, 5)}, "initial state float32 (2, 2, 5), want float32 (2, 5)"},
		{"direction 2 of 2", RecurrentOptions{H0: node("h2", tensor.Float32, 2, 2, 5), Directions: 2, Direction: 2}, "direction 2 of 2"},
		{"c0 without h0", RecurrentOptions{C0: node("c", tensor.Float32, 2, 5)}, "only an LSTM takes a cell state c0"},
	} {
		_, err := RecurrentWith(TanhCell, x, wih, whh, b, b, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// Lengths and padding masks read to the same lengths; bad values are
// ErrInputValue errors.
func TestSeqLensRead(t *testing.T) {
	lens := seqLens{given: true}
	got, err := lens.read(tensor.New(tensor.WithShape(3), tensor.WithBacking([]int32{3, 0, 2})), 3, 3, nil)
	if err != nil || !slices.Equal(got, []int{3, 0, 2}) {
		t.Errorf("int32 lengths: %v %v", got, err)
	}
	mask := seqLens{given: true, mask: true}
	got, err = mask.read(tensor.New(tensor.WithShape(3, 3), tensor.WithBacking([]bool{false, false, false, true, true, true, false, false, true})), 3, 3, nil)
	if err != nil || !slices.Equal(got, []int{3, 0, 2}) {
		t.Errorf("bool mask: %v %v", got, err)
	}
	got, err = mask.read(tensor.New(tensor.WithShape(1, 3), tensor.WithBacking([]float32{0, 2, 0})), 1, 3, nil)
	if !errors.Is(err, ErrInputValue) || !strings.Contains(err.Error(), "valid step 2 after padding step 1") {
		t.Errorf("float mask with a hole: %v %v", got, err)
	}
	for _, v := range [][]int64{{4}, {-1}} {
		if _, err := lens.read(tensor.New(tensor.WithShape(1), tensor.WithBacking(v)), 1, 3, nil); !errors.Is(err, ErrInputValue) {
			t.Errorf("length %d: %v", v[0], err)
		}
	}
}
