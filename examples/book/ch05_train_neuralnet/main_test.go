package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/internal/testutil"
)

// At a reduced size (150 steps over 1,000 images) the net learns for both
// chapters' activations, an accuracy is printed every 10 steps from step 0,
// and the figure is written.
func TestRunSmall(t *testing.T) {
	for _, test := range []struct {
		activation string
		minTest    float64
	}{
		{"relu", 0.7},
		{"sigmoid", 0.2}, // sigmoid with N(0, 0.01²) weights starts slowly, as in the book
	} {
		t.Run(test.activation, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "fig.png")
			var buf bytes.Buffer
			if err := run([]string{"--activation", test.activation, "--iters", "150", "--limit", "1000", "--out", out}, &buf, io.Discard); err != nil {
				t.Fatal(err)
			}
			var tests []float64
			for _, line := range strings.Split(buf.String(), "\n") {
				if i := strings.Index(line, "(iteration"); i > 0 {
					f := strings.Split(strings.TrimSpace(line[:i]), ", ")
					v, err := strconv.ParseFloat(f[1], 64)
					if err != nil {
						t.Fatalf("line %q: %v", line, err)
					}
					tests = append(tests, v)
				}
			}
			if len(tests) != 15 {
				t.Fatalf("%d accuracy lines, want 15 (iterations 0, 10, ..., 140):\n%s", len(tests), buf.String())
			}
			if last := tests[len(tests)-1]; last < test.minTest || last <= tests[0] {
				t.Errorf("test accuracy %v -> %v, want above %v", tests[0], last, test.minTest)
			}
			if b := testutil.DecodePNG(t, out).Bounds(); b.Dx() != 640 || b.Dy() != 480 {
				t.Errorf("figure %v, want 640x480", b)
			}
		})
	}
}

func TestRunFlags(t *testing.T) {
	for _, args := range [][]string{{"--activation", "tanh"}, {"--lr", "0"}, {"--iters", "0"}} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
