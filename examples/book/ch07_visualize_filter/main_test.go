package main

import (
	"bytes"
	"image"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/internal/testutil"
	"github.com/tapenet/tapenet/models"
	"github.com/tapenet/tapenet/viz"
)

// At a reduced size (one epoch over 300 images) the filters are drawn
// before and after training: 30 framed filters on each half, and training
// changed them.
func TestRunSmall(t *testing.T) {
	out := filepath.Join(t.TempDir(), "filters.png")
	var buf bytes.Buffer
	if err := run([]string{"--limit", "300", "--out", out}, &buf, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "30 filters before and after training") {
		t.Errorf("output:\n%s", buf.String())
	}
	img := testutil.DecodePNG(t, out)
	rects := viz.FindDigits(img)
	if len(rects) != 60 {
		t.Fatalf("%d filters drawn, want 60", len(rects))
	}
	half := img.Bounds().Dx() / 2
	var left, right []image.Rectangle
	for _, r := range rects { // reading order: by row, then left to right
		if r.Max.X <= half {
			left = append(left, r)
		} else {
			right = append(right, r)
		}
	}
	if len(left) != 30 || len(right) != 30 {
		t.Fatalf("%d filters on the left, %d on the right, want 30 and 30", len(left), len(right))
	}
	changed := 0
	for i := range left {
		a, b := left[i], right[i]
		if a.Dx() != b.Dx() || a.Dy() != b.Dy() {
			t.Fatalf("filter %d drawn %v before and %v after", i, a, b)
		}
		for y := 0; y < a.Dy(); y++ {
			for x := 0; x < a.Dx(); x++ {
				if testutil.Luma(img, a.Min.X+x, a.Min.Y+y) != testutil.Luma(img, b.Min.X+x, b.Min.Y+y) {
					changed++
					x, y = a.Dx(), a.Dy()
				}
			}
		}
	}
	if changed < 25 {
		t.Errorf("training changed the picture of %d filters of 30", changed)
	}
}

// filters scales each kernel to 0..255 between its own extremes, and a
// model without a convolution is an error.
func TestFilters(t *testing.T) {
	m, err := models.BookSimpleConvNet()
	if err != nil {
		t.Fatal(err)
	}
	m.Init(2)
	fs, err := filters(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 30 || fs[0].Bounds().Dx() != 5 || fs[0].Bounds().Dy() != 5 {
		t.Fatalf("%d filters of %v", len(fs), fs[0].Bounds())
	}
	for i, f := range fs {
		lo, hi := 255, 0
		for _, p := range f.Pix {
			lo, hi = min(lo, int(p)), max(hi, int(p))
		}
		if lo != 0 || hi != 255 {
			t.Errorf("filter %d spans %d..%d, want 0..255", i, lo, hi)
		}
	}
	w := m.Param("conv2d1.weight").Data().([]float32)
	best := 0
	for i := range 25 {
		if w[i] > w[best] {
			best = i
		}
	}
	if fs[0].Pix[best] != 255 {
		t.Errorf("the largest weight of filter 0 (index %d) is drawn %d, want 255 (ink)", best, fs[0].Pix[best])
	}
	mlp, err := models.BookNet()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := filters(mlp); err == nil {
		t.Error("filters of an MLP: no error")
	}
}
