package datasets

import (
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/tensor"
)

func TestShift(t *testing.T) {
	// One 3x3 image with a single lit pixel in the centre: after a shift of
	// at most 1 it is lit at exactly one pixel, within one of the centre.
	x := tensor.New(tensor.WithShape(200, 1, 3, 3), tensor.Of(tensor.Float32))
	xs := x.Data().([]float32)
	for i := 0; i < 200; i++ {
		xs[i*9+4] = 1
	}
	a, err := Shift(x, 1, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Shift(x, 1, rand.New(rand.NewPCG(1, 2)))
	if !slices.Equal(a.Data().([]float32), b.Data().([]float32)) {
		t.Error("same seed, different shifts")
	}
	seen := map[int]bool{}
	for i := 0; i < 200; i++ {
		img := a.Data().([]float32)[i*9 : i*9+9]
		lit := slices.Index(img, 1)
		if lit < 0 || slices.Index(img[lit+1:], 1) >= 0 {
			t.Fatalf("image %d: %v, want one lit pixel", i, img)
		}
		seen[lit] = true
	}
	if len(seen) != 9 {
		t.Errorf("200 shifts of at most 1 reached %d of the 9 positions", len(seen))
	}
	// A shift of 0 is a copy; flattened square images are accepted.
	flat := tensor.New(tensor.WithShape(2, 4), tensor.WithBacking([]float32{1, 2, 3, 4, 5, 6, 7, 8}))
	c, err := Shift(flat, 0, rand.New(rand.NewPCG(1, 2)))
	if err != nil || !slices.Equal(c.Data().([]float32), flat.Data().([]float32)) {
		t.Errorf("shift 0: %v, %v", c, err)
	}
	if _, err := Shift(tensor.New(tensor.WithShape(2, 5), tensor.Of(tensor.Float32)), 1, rand.New(rand.NewPCG(1, 2))); err == nil {
		t.Error("non-square flattened images accepted")
	}
}
