package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/internal/testutil"
)

// At a reduced size (6 trials of 4 epochs on 200 images) every trial is
// reported, the best ones in order of validation accuracy, and the figure
// has a row of 5 subplots per 5 trials drawn.
func TestRunSmall(t *testing.T) {
	out := filepath.Join(t.TempDir(), "fig.png")
	var buf bytes.Buffer
	if err := run([]string{"--limit", "200", "--trials", "6", "--epochs", "4", "--batch-size", "20", "--show", "6", "--out", out}, &buf, io.Discard); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	if n := strings.Count(s, "val acc:"); n != 12 {
		t.Errorf("%d val acc lines, want 6 trials and 6 best:\n%s", n, s)
	}
	var prev float64 = 2
	for _, line := range strings.Split(s, "\n") {
		var i int
		var v float64
		if _, err := fmt.Sscanf(line, "Best-%d(val acc:%g)", &i, &v); err == nil {
			if v > prev {
				t.Errorf("Best-%d has %v, above the one before (%v)", i, v, prev)
			}
			prev = v
		}
	}
	if b := testutil.DecodePNG(t, out).Bounds(); b.Dx() != 1000 || b.Dy() != 380 {
		t.Errorf("figure %v, want 1000x380", b)
	}
}

func TestRunFlags(t *testing.T) {
	for _, args := range [][]string{{"--trials", "0"}, {"--validation-rate", "0"}, {"--validation-rate", "1"}, {"--limit", "1"}} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
