package main

import (
	"bytes"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/examples/book/internal/bookex"
	"github.com/tapenet/tapenet/internal/testutil"
)

// At a reduced size (300 images in batches of 20, 8 epochs) the book's finding shows at a
// bad scale, std 0.01: the plain net stays at chance while the net with
// batch normalisation learns.
func TestRunSmall(t *testing.T) {
	out := filepath.Join(t.TempDir(), "fig.png")
	var buf bytes.Buffer
	if err := run([]string{"--scales", "0.01", "--limit", "300", "--batch-size", "20", "--epochs", "8", "--out", out}, &buf, io.Discard); err != nil {
		t.Fatal(err)
	}
	row := bookex.ParseTable(buf.String(), "W:0.01")["W:0.01"]
	if len(row) < 2 {
		t.Fatalf("no row for W:0.01:\n%s", buf.String())
	}
	plain, err1 := strconv.ParseFloat(row[0], 64)
	bn, err2 := strconv.ParseFloat(row[1], 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("row %q", row)
	}
	if plain > 0.2 || bn < 0.5 {
		t.Errorf("training accuracy without BatchNorm %v, with %v: want at most 0.2 and at least 0.5", plain, bn)
	}
	if b := testutil.DecodePNG(t, out).Bounds(); b.Dx() != 250 || b.Dy() != 200 {
		t.Errorf("figure %v, want 250x200", b)
	}
}

func TestBookScales(t *testing.T) {
	s := bookScales()
	if len(s) != 16 || s[0] != 1 || math.Abs(s[15]-1e-4) > 1e-18 || math.Abs(s[1]-0.5411695265464637) > 1e-15 {
		t.Errorf("scales %v, want np.logspace(0, -4, 16)", s)
	}
}

func TestRunFlags(t *testing.T) {
	for _, args := range [][]string{{"--scales", "0"}, {"--scales", "-1"}, {"--epochs", "0"}, {"--lr", "0"}} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		} else if !strings.Contains(err.Error(), "--") {
			t.Errorf("%v: %v", args, err)
		}
	}
}
