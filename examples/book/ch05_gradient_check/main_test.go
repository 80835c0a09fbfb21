package main

import (
	"bytes"
	"io"
	"strconv"
	"testing"

	"github.com/tapenet/tapenet/examples/book/internal/bookex"
)

// At a reduced size (3 hidden units, 2 images: 2,392 parameters), Gorgonia's
// float64 gradients agree with the numerical ones to rounding, and
// tapenet's float32 ones to float32 rounding plus the 1e-7 term of the loss.
func TestRunSmall(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"--hidden", "3", "--images", "2"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	rows := bookex.ParseTable(out.String(), names[:]...)
	for _, test := range []struct {
		name              string
		gorgonia, tapenet float64
	}{
		{"W1", 1e-11, 1e-8}, {"b1", 1e-11, 1e-8}, {"W2", 1e-11, 1e-7}, {"b2", 1e-9, 1e-6},
	} {
		r := rows[test.name]
		if len(r) != 3 || r[0] != "-" {
			t.Fatalf("%s: row %v:\n%s", test.name, r, out.String())
		}
		g, err1 := strconv.ParseFloat(r[1], 64)
		tp, err2 := strconv.ParseFloat(r[2], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: row %v", test.name, r)
		}
		if !(g < test.gorgonia) || !(tp < test.tapenet) {
			t.Errorf("%s: Gorgonia %g (want < %g), tapenet %g (want < %g)", test.name, g, test.gorgonia, tp, test.tapenet)
		}
	}
}

// The numpy fixture parses: the book's script's differences, of the
// magnitudes its backward gives (b2 largest: the 1e-7 in the loss).
func TestNumpyFixture(t *testing.T) {
	v, err := parseNumpy(numpyOut)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range v {
		if !(x > 1e-12 && x < 1e-6) {
			t.Errorf("%s: %g", names[i], x)
		}
	}
	if !(v[3] > v[0] && v[3] > v[1] && v[3] > v[2]) {
		t.Errorf("b2 %g is not the largest of %v", v[3], v)
	}
}

func TestRunFlags(t *testing.T) {
	if err := run([]string{"--hidden", "0"}, io.Discard, io.Discard); err == nil {
		t.Error("--hidden 0 accepted")
	}
}
