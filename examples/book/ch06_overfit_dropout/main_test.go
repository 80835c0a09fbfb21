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

// At a reduced size (100 images in batches of 10, 20 epochs at a rate of
// 0.05 instead of 0.01, 300 test images) the net with dropout still
// learns, one line per epoch; without dropout it fits its training images
// at least as well.
func TestRunSmall(t *testing.T) {
	acc := map[string]float64{}
	for _, rate := range []string{"0", "0.2"} {
		out := filepath.Join(t.TempDir(), "fig.png")
		var buf bytes.Buffer
		if err := run([]string{"--limit", "100", "--batch-size", "10", "--epochs", "20", "--lr", "0.05", "--dropout", rate, "--test-limit", "300", "--out", out}, &buf, io.Discard); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(buf.String(), "epoch:"); n != 20 {
			t.Errorf("dropout %s: %d epoch lines, want 20:\n%s", rate, n, buf.String())
		}
		if !strings.Contains(buf.String(), "(200 steps)") {
			t.Errorf("dropout %s: want the Trainer's 20·10 steps:\n%s", rate, buf.String())
		}
		tr, te, err := bookex.ParseFinal(buf.String())
		if err != nil {
			t.Fatal(err)
		}
		if tr < 0.5 || tr <= te {
			t.Errorf("dropout %s: train acc %v, test acc %v: want train above 0.5 and above test", rate, tr, te)
		}
		acc[rate] = tr
		if b := testutil.DecodePNG(t, out).Bounds(); b.Dx() != 640 || b.Dy() != 480 {
			t.Errorf("figure %v, want 640x480", b)
		}
	}
	if acc["0.2"] > acc["0"] {
		t.Errorf("train acc %v with dropout, %v without: want no higher with dropout", acc["0.2"], acc["0"])
	}
	if err := run([]string{"--dropout", "1"}, io.Discard, io.Discard); err == nil {
		t.Error("--dropout 1 accepted")
	}
}
