package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/examples/book/internal/bookex"
	"github.com/tapenet/tapenet/internal/testutil"
)

// At a reduced size (100 images in batches of 10, 20 epochs, 300 test images) the net
// learns its training images better than the test images, one line per
// epoch, and weight decay keeps the weights smaller: with λ = 0.1 the
// training accuracy rises more slowly than with none.
func TestRunSmall(t *testing.T) {
	acc := map[string]float64{}
	for _, wd := range []string{"0", "0.1"} {
		out := filepath.Join(t.TempDir(), "fig.png")
		var buf bytes.Buffer
		if err := run([]string{"--limit", "100", "--batch-size", "10", "--epochs", "20", "--weight-decay", wd, "--test-limit", "300", "--out", out}, &buf, io.Discard); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(buf.String(), "epoch:"); n != 20 {
			t.Errorf("λ %s: %d epoch lines, want 20:\n%s", wd, n, buf.String())
		}
		tr, te, err := bookex.ParseFinal(buf.String())
		if err != nil {
			t.Fatal(err)
		}
		if tr < 0.5 || tr <= te {
			t.Errorf("λ %s: train acc %v, test acc %v: want train above 0.5 and above test", wd, tr, te)
		}
		acc[wd] = tr
		if b := testutil.DecodePNG(t, out).Bounds(); b.Dx() != 640 || b.Dy() != 480 {
			t.Errorf("figure %v, want 640x480", b)
		}
	}
	if acc["0.1"] > acc["0"] {
		t.Errorf("train acc %v with decay, %v without: want no higher with decay", acc["0.1"], acc["0"])
	}
	if err := run([]string{"--weight-decay", "-1"}, io.Discard, io.Discard); err == nil {
		t.Error("--weight-decay -1 accepted")
	}
}
