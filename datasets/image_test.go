package datasets

import (
	"testing"
)

func TestImage(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"normalised flat", Options{Normalize: true, Flatten: true}},
		{"raw flat", Options{Flatten: true}},
		{"normalised (1,28,28)", Options{Normalize: true}},
		{"raw (1,28,28)", Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := MNIST(Test, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := MNIST(Test, Options{Flatten: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range []int{0, 1, 9999} {
				g, err := s.Gray(i)
				if err != nil {
					t.Fatal(err)
				}
				if b := g.Bounds(); b.Dx() != 28 || b.Dy() != 28 {
					t.Fatalf("image %d is %v, want 28x28", i, b)
				}
				want := raw.Data()[i*784 : (i+1)*784]
				for k, v := range g.Pix {
					if float32(v) != want[k] {
						t.Fatalf("image %d pixel %d = %d, want the file's %v", i, k, v, want[k])
					}
				}
			}
		})
	}
}

func TestImageErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sample []int
		index  int
	}{
		{"not square", []int{10}, 0},
		{"four channels", []int{4, 2, 2}, 0},
		{"flattened colour", []int{12}, 0},
		{"negative index", []int{4}, -1},
		{"index past the end", []int{4}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			per := 1
			for _, d := range tc.sample {
				per *= d
			}
			s, err := NewSet(make([]byte, 2*per), tc.sample, []int{0, 1}, 2, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Image(tc.index); err == nil {
				t.Fatalf("Image(%d) of shape %v: no error", tc.index, tc.sample)
			}
		})
	}
}

func TestImageClamps(t *testing.T) {
	s, err := NewSet([]byte{0, 0, 0, 0}, []int{2, 2}, []int{0}, 1, Options{Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	copy(s.Data(), []float32{-0.5, 0.5, 1, 0})
	g, err := s.Gray(0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint8{0, 128, 255, 0}; string(g.Pix) != string(want) {
		t.Fatalf("pixels %v, want %v", g.Pix, want)
	}
}
