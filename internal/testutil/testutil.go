// Package testutil holds helpers shared by tapenet's tests: reading the PNG
// pictures and label files the commands and fixtures write.
package testutil

import (
	"bufio"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	xdraw "golang.org/x/image/draw"
)

// DecodePNG reads and decodes the PNG file at path, failing t on any error.
func DecodePNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// Luma is the brightness (0-255) of the pixel at (x, y).
func Luma(img image.Image, x, y int) float64 {
	r, g, b, _ := img.At(x, y).RGBA()
	return (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)) / 257
}

// Dark counts the pixels of r darker than mid-grey: ink on the pictures'
// white background.
func Dark(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if Luma(img, x, y) < 128 {
				n++
			}
		}
	}
	return n
}

// ReadInts reads a file of one integer per line (labels, predictions).
func ReadInts(t testing.TB, path string) []int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

// Drawing renders an MNIST digit (ink white on black, as datasets.Set.Image
// gives it) the way a person might draw it: black on a white size x size
// canvas, scaled so that its height is a random 25-90% of the canvas (less
// if it would not fit across), at a random position. The scaling is
// bilinear, a different filter from the one imageprep shrinks with.
func Drawing(digit *image.Gray, size int, rng *rand.Rand) *image.Gray {
	b := digit.Bounds()
	x0, y0, x1, y1 := b.Max.X, b.Max.Y, b.Min.X, b.Min.Y
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if digit.GrayAt(x, y).Y > 0 {
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x+1), max(y1, y+1)
			}
		}
	}
	canvas := image.NewGray(image.Rect(0, 0, size, size))
	for i := range canvas.Pix {
		canvas.Pix[i] = 255
	}
	if x0 >= x1 {
		return canvas
	}
	crop := digit.SubImage(image.Rect(x0, y0, x1, y1))
	cw, ch := x1-x0, y1-y0
	s := (0.25 + 0.65*rng.Float64()) * float64(size) / float64(ch)
	s = min(s, 0.95*float64(size)/float64(cw))
	dw, dh := max(int(float64(cw)*s), 1), max(int(float64(ch)*s), 1)
	scaled := image.NewGray(image.Rect(0, 0, dw, dh))
	xdraw.BiLinear.Scale(scaled, scaled.Bounds(), crop, crop.Bounds(), xdraw.Src, nil)
	ox, oy := rng.IntN(size-dw+1), rng.IntN(size-dh+1)
	for y := range dh {
		for x := range dw {
			canvas.Pix[(oy+y)*size+ox+x] = 255 - scaled.Pix[y*dw+x]
		}
	}
	return canvas
}

// ORTDir returns the folder holding npm's onnxruntime-node (TAPENET_ORT_DIR,
// else def, relative to the test's package). When it is missing the test
// is skipped, or fails if TAPENET_ORT_DIR was set (CI sets it, so a missing
// runtime cannot pass silently); a missing node skips.
func ORTDir(t testing.TB, def string) string {
	t.Helper()
	dir, set := os.LookupEnv("TAPENET_ORT_DIR")
	if !set {
		dir = def
	}
	dir, _ = filepath.Abs(dir)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "onnxruntime-node", "package.json")); err != nil {
		msg := fmt.Sprintf("onnxruntime-node not installed in %s: (cd export/testdata/ort && npm install --ignore-scripts) or set TAPENET_ORT_DIR", dir)
		if set {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node (Node.js) not installed: ONNX Runtime not checked")
	}
	return dir
}
