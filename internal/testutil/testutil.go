// Package testutil holds helpers shared by tapenet's tests: reading the PNG
// pictures and label files the commands and fixtures write.
package testutil

import (
	"bufio"
	"image"
	"image/png"
	"os"
	"strconv"
	"strings"
	"testing"
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
