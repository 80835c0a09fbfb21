package main

import (
	"bytes"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/internal/testutil"
)

// The book's three findings for sigmoid layers, on 200 inputs: with std 1
// the activations pile up at 0 and 1 (gradients vanish), with std 0.01
// they all sit near 0.5 (no expressiveness), with Xavier they spread.
// With ReLU and std 0.01 they die out layer by layer; with He they keep
// their spread.
func TestActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	input := make([]float32, 200*100)
	for i := range input {
		input[i] = float32(rng.NormFloat64())
	}
	for _, test := range []struct {
		activation, init string
		check            func(mean, std, low, high float64) bool
	}{
		{"sigmoid", "normal:1", func(_, _, low, high float64) bool { return low+high > 0.4 }},
		{"sigmoid", "normal:0.01", func(mean, std, _, _ float64) bool { return std < 0.03 && mean > 0.49 && mean < 0.51 }},
		{"sigmoid", "xavier", func(_, std, low, high float64) bool { return std > 0.08 && std < 0.3 && low+high < 0.01 }},
		{"relu", "he", func(_, std, _, _ float64) bool { return std > 0.6 && std < 1.2 }},
	} {
		acts, err := forward(input, 200, 100, 5, test.activation, test.init, 7)
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range acts {
			if mean, std, low, high := stats(a); !test.check(mean, std, low, high) {
				t.Errorf("%s %s layer %d: mean %.3f std %.3f, %.2f below 0.01, %.2f above 0.99", test.activation, test.init, i+1, mean, std, low, high)
			}
		}
	}
	acts, err := forward(input, 200, 100, 5, "relu", "normal:0.01", 7)
	if err != nil {
		t.Fatal(err)
	}
	if _, std, _, _ := stats(acts[4]); std > 1e-4 {
		t.Errorf("relu std 0.01: layer 5's std %g, want the activations gone", std)
	}
	if h := histogram([]float32{0, 0.5, 1, 1.5, -0.1}); h[0] != 1 || h[15] != 1 || h[29] != 1 {
		t.Errorf("histogram: %v", h)
	}
}

func TestRun(t *testing.T) {
	for _, act := range []string{"sigmoid", "relu"} {
		out := filepath.Join(t.TempDir(), "fig.png")
		var buf bytes.Buffer
		if err := run([]string{"--activation", act, "--samples", "200", "--out", out}, &buf, io.Discard); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(buf.String(), "5: "); n != 3 {
			t.Errorf("%s: %d rows, want 3:\n%s", act, n, buf.String())
		}
		if b := testutil.DecodePNG(t, out).Bounds(); b.Dx() != 1000 || b.Dy() != 660 {
			t.Errorf("figure %v, want 1000x660", b)
		}
	}
	if err := run([]string{"--activation", "tanh"}, io.Discard, io.Discard); err == nil {
		t.Error("--activation tanh accepted")
	}
}
