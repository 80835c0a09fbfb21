package datasets

import (
	"image"
	"image/color"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeColourDir writes a split of n colour images (c, h, w) with labels
// i % classes into dir as rank-4 IDX, gzip-compressed or not; pixel values
// are (i*7 + k) % 256 for the k-th byte of image i.
func writeColourDir(t *testing.T, dir string, split Split, n, c, h, w, classes int, compress bool) {
	t.Helper()
	per := c * h * w
	px := make([]byte, n*per)
	for i := range px {
		px[i] = byte((i/per)*7 + i%per)
	}
	labels := make([]byte, n)
	for i := range labels {
		labels[i] = byte(i % classes)
	}
	img := idxBytes([]int{n, c, h, w}, px)
	lab := idxBytes([]int{n}, labels)
	names := files[split]
	iname := strings.Replace(names[0], "idx3", "idx4", 1)
	lname := names[1]
	if compress {
		img, lab, iname, lname = gz(img), gz(lab), iname+".gz", lname+".gz"
	}
	writeIDX(t, dir, iname, img)
	writeIDX(t, dir, lname, lab)
}

func TestLoadDirRanks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		c        int
		compress bool
		opt      Options
		sample   []int
	}{
		{"rank 4 colour", 3, false, Options{}, []int{3, 4, 5}},
		{"rank 4 colour gzip, flattened", 3, true, Options{Flatten: true, Normalize: true}, []int{60}},
		{"rank 4 one channel", 1, false, Options{}, []int{1, 4, 5}},
		{"rank 4 with a sample shape", 3, false, Options{SampleShape: []int{3, 4, 5}}, []int{3, 4, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeColourDir(t, dir, Train, 7, tc.c, 4, 5, 3, tc.compress)
			s, err := LoadDir(dir, Train, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if s.Len() != 7 || s.Classes != 3 || !slices.Equal(s.SampleShape(), tc.sample) {
				t.Fatalf("got %d samples of %v, %d classes; want 7 of %v, 3 classes", s.Len(), s.SampleShape(), s.Classes, tc.sample)
			}
			if !slices.Equal(s.Labels, []int{0, 1, 2, 0, 1, 2, 0}) {
				t.Errorf("labels %v", s.Labels)
			}
			// Sample 2, value k is (2*7 + k) % 256, channel-major as in the file.
			per := tc.c * 20
			for k, v := range s.Data()[2*per : 3*per] {
				want := float32(byte(14 + k))
				if tc.opt.Normalize {
					want /= 255
				}
				if v != want {
					t.Fatalf("sample 2 value %d = %v, want %v", k, v, want)
				}
			}
		})
	}
}

// The classes come from the labels: a folder whose labels are 0-2 has 3.
func TestLoadDirClassesFromLabels(t *testing.T) {
	dir := t.TempDir()
	writeIDX(t, dir, "t10k-images-idx3-ubyte", idxBytes([]int{4, 2, 2}, make([]byte, 16)))
	writeIDX(t, dir, "t10k-labels-idx1-ubyte", idxBytes([]int{4}, []byte{0, 2, 1, 2}))
	s, err := LoadDir(dir, Test, Options{OneHot: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Classes != 3 || !slices.Equal([]int(s.OneHot.Shape()), []int{4, 3}) {
		t.Errorf("%d classes, one-hot %v; want 3, (4, 3)", s.Classes, s.OneHot.Shape())
	}
}

func TestLoadDirBadRanks(t *testing.T) {
	for _, tc := range []struct {
		name string
		dims []int
		want string
	}{
		{"rank 5", []int{2, 1, 1, 2, 2}, "5 dimensions (want 1 to 4)"},
		{"rank 2", []int{2, 4}, "images have 2 dimensions [2 4] (want 3: count, rows, cols; or 4: count, channels, rows, cols)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			n := 1
			for _, d := range tc.dims {
				n *= d
			}
			b := idxBytes(tc.dims, make([]byte, n))
			if len(tc.dims) > 4 {
				// idxBytes writes any rank; LoadDir must refuse it.
				b[3] = byte(len(tc.dims))
			}
			writeIDX(t, dir, "train-images-idx4-ubyte", b)
			writeIDX(t, dir, "train-labels-idx1-ubyte", idxBytes([]int{2}, []byte{0, 1}))
			_, err := LoadDir(dir, Train, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), filepath.Join(dir, "train-images-idx4-ubyte")) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v, want one line naming the file and %q", err, tc.want)
			}
		})
	}
	dir := t.TempDir()
	writeColourDir(t, dir, Test, 2, 3, 4, 4, 2, false)
	if _, err := LoadDir(dir, Test, Options{Flatten: true, SampleShape: []int{784}}); err == nil || !strings.Contains(err.Error(), "images are 3x4x4, samples of shape [48]; want [784]") {
		t.Errorf("sample shape: %v", err)
	}
}

// Image gives a colour sample (3, rows, cols) in colour, pixel by pixel
// from the channel planes; Gray gives its luminance.
func TestImageColour(t *testing.T) {
	// One 3x2x2 sample, planes R, G, B, pixels in row-major order:
	// (0,0) red, (1,0) (0, 128, 255), (0,1) white, (1,1) (10, 20, 30).
	raw := []byte{
		255, 0, 255, 10, // R
		0, 128, 255, 20, // G
		0, 255, 255, 30, // B
	}
	want := map[image.Point]color.RGBA{
		{0, 0}: {255, 0, 0, 255}, {1, 0}: {0, 128, 255, 255},
		{0, 1}: {255, 255, 255, 255}, {1, 1}: {10, 20, 30, 255},
	}
	for _, test := range []struct {
		name string
		opt  Options
	}{
		{"normalised", Options{Normalize: true}}, // values /255, scaled back by 255
		{"raw", Options{}},                       // values 0-255 as they are
	} {
		s, err := NewSet(raw, []int{3, 2, 2}, []int{0}, 1, test.opt)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Image(0)
		if err != nil {
			t.Fatal(err)
		}
		rgba, ok := p.(*image.RGBA)
		if !ok || rgba.Bounds() != image.Rect(0, 0, 2, 2) {
			t.Fatalf("%s: image %T %v, want a 2x2 *image.RGBA", test.name, p, p.Bounds())
		}
		for pt, c := range want {
			if got := rgba.RGBAAt(pt.X, pt.Y); got != c {
				t.Errorf("%s: pixel %v = %v, want %v", test.name, pt, got, c)
			}
		}
		// Gray is the luminance 0.299 R + 0.587 G + 0.114 B, rounded:
		// 76.245, 104.206, 255, 0.299*10 + 0.587*20 + 0.114*30 = 18.15.
		g, err := s.Gray(0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(g.Pix, []uint8{76, 104, 255, 18}) {
			t.Errorf("%s: luminance %v, want [76 104 255 18]", test.name, g.Pix)
		}
	}
	// A one-channel sample's Image is its Gray.
	gs, _ := NewSet([]byte{0, 255}, []int{1, 1, 2}, []int{0}, 1, Options{})
	if p, err := gs.Image(0); err != nil || !slices.Equal(p.(*image.Gray).Pix, []uint8{0, 255}) {
		t.Errorf("gray image: %v %v", p, err)
	}
}
