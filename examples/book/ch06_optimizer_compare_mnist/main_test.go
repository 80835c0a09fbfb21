package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/examples/book/internal/bookex"
	"github.com/tapenet/tapenet/internal/testutil"
)

// At a reduced size (120 iterations over 2,000 images) every optimiser
// lowers the loss from the same start (ln 10 and a bit), and plain SGD at
// 0.01 is the slowest, as in the book's figure.
func TestRunSmall(t *testing.T) {
	out := filepath.Join(t.TempDir(), "fig.png")
	var buf bytes.Buffer
	if err := run([]string{"--iters", "120", "--limit", "2000", "--every", "40", "--out", out}, &buf, io.Discard); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "===========iteration:"); n != 3 {
		t.Errorf("%d loss reports, want 3 (iterations 0, 40, 80):\n%s", n, buf.String())
	}
	rows := bookex.ParseTable(buf.String(), "SGD", "Momentum", "AdaGrad", "Adam")
	smoothed := map[string]float64{}
	for name, f := range rows {
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		smoothed[name] = v
	}
	if len(smoothed) != 4 {
		t.Fatalf("rows %v:\n%s", rows, buf.String())
	}
	for name, v := range smoothed {
		if v > 2.2 {
			t.Errorf("%s: smoothed loss %v after 120 steps, want below 2.2", name, v)
		}
		if name != "SGD" && v >= smoothed["SGD"] {
			t.Errorf("%s: %v, not below SGD's %v", name, v, smoothed["SGD"])
		}
	}
	if b := testutil.DecodePNG(t, out).Bounds(); b.Dx() != 640 || b.Dy() != 480 {
		t.Errorf("figure %v, want 640x480", b)
	}
}

func TestRunFlags(t *testing.T) {
	for _, args := range [][]string{{"--iters", "0"}, {"--batch-size", "0"}, {"--limit", "-1"}} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
