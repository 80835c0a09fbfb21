package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/internal/testutil"
)

func TestPlot(t *testing.T) {
	dir := t.TempDir()
	plot := filepath.Join(dir, "curves.png")
	var so, se bytes.Buffer
	args := []string{"--epochs", "2", "--limit", "300", "--hidden", "16", "--out", filepath.Join(dir, "m.safetensors"), "--plot", plot}
	if code := cli.Run("train", run, args, &so, &se); code != 0 {
		t.Fatalf("exit %d: %s", code, se.String())
	}
	img := testutil.DecodePNG(t, plot)
	if b := img.Bounds(); b.Dx() != 1000 || b.Dy() != 400 {
		t.Fatalf("picture %v, want 1000x400", b)
	}
	white, other := 0, 0
	for y := 0; y < 400; y += 2 {
		for x := 0; x < 1000; x += 2 {
			if r, g, b, _ := img.At(x, y).RGBA(); r&g&b == 0xffff {
				white++
			} else {
				other++
			}
		}
	}
	if white < other || other < 500 {
		t.Fatalf("%d white and %d other pixels: not a plot on white", white, other)
	}
}

func TestPlotBadPath(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m.safetensors")
	for _, tc := range []struct {
		path string
		code int // 2: a usage error, 1: cannot write there
	}{
		{filepath.Join(dir, "missing", "c.png"), 1},
		{dir, 2}, // a folder
		{out, 2}, // the checkpoint's own file: it would be replaced by the picture
	} {
		p := tc.path
		var so, se bytes.Buffer
		args := []string{"--epochs", "1", "--limit", "100", "--out", out, "--plot", p}
		code := cli.Run("train", run, args, &so, &se)
		if code != tc.code || strings.Count(se.String(), "\n") != 1 || !strings.Contains(se.String(), "--plot") {
			t.Fatalf("--plot %s: exit %d, stderr %q; want %d and one line naming --plot", p, code, se.String(), tc.code)
		}
		if so.Len() != 0 {
			t.Fatalf("--plot %s: trained before failing: %q", p, so.String())
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left files behind: %v", ents)
	}
}
