package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tapenet/tapenet/examples/book/internal/bookex"
	"github.com/tapenet/tapenet/internal/testutil"
)

// At a reduced size (150 iterations over 2,000 images) the book's finding
// shows: with std 0.01 the five-layer net does not learn (its loss stays
// at ln 10 ≈ 2.30), while He and Xavier weights lower the loss, He the
// most.
func TestRunSmall(t *testing.T) {
	out := filepath.Join(t.TempDir(), "fig.png")
	var buf bytes.Buffer
	if err := run([]string{"--iters", "150", "--limit", "2000", "--out", out}, &buf, io.Discard); err != nil {
		t.Fatal(err)
	}
	loss := map[string]float64{}
	for name, f := range bookex.ParseTable(buf.String(), "std=0.01", "Xavier", "He") {
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		loss[name] = v
	}
	if len(loss) != 3 {
		t.Fatalf("losses %v:\n%s", loss, buf.String())
	}
	if l := loss["std=0.01"]; l < 2.25 || l > 2.35 {
		t.Errorf("std=0.01: smoothed loss %v, want about 2.30 (no learning)", l)
	}
	if !(loss["He"] < loss["Xavier"] && loss["Xavier"] < loss["std=0.01"]-0.05) {
		t.Errorf("He %v, Xavier %v, std=0.01 %v: want He < Xavier < std=0.01 - 0.05", loss["He"], loss["Xavier"], loss["std=0.01"])
	}
	if b := testutil.DecodePNG(t, out).Bounds(); b.Dx() != 640 || b.Dy() != 480 {
		t.Errorf("figure %v, want 640x480", b)
	}
}

func TestRunFlags(t *testing.T) {
	for _, args := range [][]string{{"--iters", "0"}, {"--lr", "0"}, {"--seed", "-1"}} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
