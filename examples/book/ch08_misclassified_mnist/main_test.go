package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/internal/testutil"
	"github.com/tapenet/tapenet/viz"
)

// On the first 1,000 test images the embedded mlp (98.19% on all 10,000)
// makes a few mistakes: each is listed as (label, inference) with two
// different digits, and drawn captioned, at most --max-view of them.
func TestRunSmall(t *testing.T) {
	out := filepath.Join(t.TempDir(), "fig.png")
	var buf bytes.Buffer
	if err := run([]string{"--model", "mlp", "--limit", "1000", "--max-view", "5", "--out", out}, &buf, io.Discard); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	if !strings.Contains(s, "test accuracy:0.9") || !strings.Contains(s, "of 1000 test images misclassified") {
		t.Errorf("output:\n%s", s)
	}
	i := strings.Index(s, "{1: (")
	if i < 0 {
		t.Fatalf("no misclassified pairs:\n%s", s)
	}
	pairs := strings.Split(strings.Trim(strings.SplitN(s[i:], "\n", 2)[0], "{}"), "), ")
	if len(pairs) != 5 {
		t.Fatalf("%d pairs, want 5: %q", len(pairs), pairs)
	}
	for _, p := range pairs {
		var v, label, inf int
		if _, err := fmt.Sscanf(strings.TrimSuffix(p, ")")+")", "%d: (%d, %d)", &v, &label, &inf); err != nil || label == inf {
			t.Errorf("pair %q: %v", p, err)
		}
	}
	if n := len(viz.FindDigits(testutil.DecodePNG(t, out))); n != 5 {
		t.Errorf("%d digits drawn, want 5", n)
	}
}

func TestRunFlags(t *testing.T) {
	for _, args := range [][]string{{"--max-view", "0"}, {"--limit", "-1"}, {"--model", filepath.Join(t.TempDir(), "missing.pkl")}} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
