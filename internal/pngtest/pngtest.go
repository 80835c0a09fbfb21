// Package pngtest helps tests read the PNG files the commands write.
package pngtest

import (
	"image"
	"image/png"
	"os"
	"testing"
)

// Decode reads and decodes the PNG file at path, failing t on any error.
func Decode(t testing.TB, path string) image.Image {
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
