package datasets

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/numpyio"
)

// The fixtures in testdata were written by numpy (testdata/gen_npz.py);
// the values asserted here are those the script computes.
func TestOpenNPZClassification(t *testing.T) {
	train, test, err := Open("testdata/cls.npz", Options{Normalize: true, OneHot: true})
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 20 || test.Len() != 6 || train.Classes != 4 || test.Classes != 4 || train.Regression() {
		t.Fatalf("train %d, test %d, classes %d/%d, regression %v", train.Len(), test.Len(), train.Classes, test.Classes, train.Regression())
	}
	if !slices.Equal(train.SampleShape(), []int{1, 4, 4}) || !slices.Equal([]int(train.OneHot.Shape()), []int{20, 4}) {
		t.Errorf("sample shape %v, one-hot %v", train.SampleShape(), train.OneHot.Shape())
	}
	if !slices.Equal(test.Labels, []int{3, 2, 1, 0, 1, 2}) || train.Labels[7] != 3 {
		t.Errorf("labels %v, %v", test.Labels, train.Labels)
	}
	// uint8 pixels are normalised as MNIST's are.
	raw, _, err := Open("testdata/cls.npz", Options{Flatten: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(raw.SampleShape(), []int{16}) {
		t.Errorf("flattened sample shape %v", raw.SampleShape())
	}
	for i, v := range raw.Data() {
		if v != float32(int(v)) || v > 255 || train.Data()[i] != v/255 {
			t.Fatalf("value %d: raw %v, normalised %v", i, v, train.Data()[i])
		}
	}
	// Batches carry the labels.
	for b := range test.Batches(4) {
		if !slices.Equal(b.Labels, test.Labels[b.Start:b.Start+len(b.Labels)]) || b.Targets != nil {
			t.Errorf("batch at %d: %v", b.Start, b.Labels)
		}
	}
}

func TestOpenNPZRegression(t *testing.T) {
	train, test, err := Open("testdata/reg.npz", Options{Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if !train.Regression() || train.Labels != nil || train.Classes != 0 || train.Len() != 30 || test.Len() != 10 || train.TargetColumns() != 2 {
		t.Fatalf("regression %v, labels %v, classes %d, len %d/%d, columns %d", train.Regression(), train.Labels, train.Classes, train.Len(), test.Len(), train.TargetColumns())
	}
	// y = x @ W + b, W and b as in gen_npz.py; float64 x keeps its values.
	W := [3][2]float64{{1, -2}, {0.5, 0.25}, {-1.5, 3}}
	b := [2]float64{0.1, -0.2}
	for _, s := range []*Set{train, test} {
		x, y := s.Data(), s.Targets.Data().([]float32)
		for i := range s.Len() {
			for j := range 2 {
				want := b[j]
				for k := range 3 {
					want += float64(x[3*i+k]) * W[k][j]
				}
				if d := float64(y[2*i+j]) - want; d > 1e-5 || d < -1e-5 {
					t.Fatalf("target (%d, %d) = %v, want %v", i, j, y[2*i+j], want)
				}
			}
		}
	}
	var rows int
	for bt := range train.Batches(8) {
		if bt.Labels != nil || !slices.Equal([]int(bt.Targets.Shape()), []int{bt.X.Shape()[0], 2}) {
			t.Fatalf("batch at %d: targets %v", bt.Start, bt.Targets.Shape())
		}
		rows += bt.X.Shape()[0]
	}
	if rows != 30 {
		t.Errorf("batches hold %d rows", rows)
	}
	one, none, err := Open("testdata/reg1.npz", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if none != nil || !slices.Equal([]int(one.Targets.Shape()), []int{8, 1}) {
		t.Errorf("(N,) targets: test %v, targets %v", none, one.Targets.Shape())
	}
	if x := one.Data(); one.Targets.Data().([]float32)[3] != x[6]-x[7] {
		t.Errorf("target 3 = %v, want %v", one.Targets.Data().([]float32)[3], x[6]-x[7])
	}
	ints, _, err := Open("testdata/int32.npz", Options{Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if ints.Classes != 2 || ints.Data()[11] != 11 || !slices.Equal(ints.Labels, []int{0, 1, 1, 0}) {
		t.Errorf("int32 set: classes %d, x[11] %v, labels %v", ints.Classes, ints.Data()[11], ints.Labels)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		file string
		opt  Options
		want string
	}{
		{"nox.npz", Options{}, "no array x (the samples; it has y)"},
		{"shorty.npz", Options{}, "array y has 19 rows but x has 20"},
		{"complex.npz", Options{}, `entry "x.npy"`},
		{"object.npz", Options{}, `entry "y.npy"`},
		{"y2d.npz", Options{}, "array y of integers has shape [3 2]"},
		{"testshape.npz", Options{}, "array x_test has samples of shape [5] but x has [2]"},
		{"cls.npz", Options{Flatten: true, SampleShape: []int{784}}, "array x has samples of shape [16]; want [784]"},
		{"gen_npz.py", Options{}, "unrecognised format"},
		{"missing.npz", Options{}, "no such file"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			_, _, err := Open(path, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v, want one line naming %s and %q", err, path, tc.want)
			}
		})
	}
}

// Open reads an IDX folder: the splits, the test split optional, and the
// classes of both splits the larger count.
func TestOpenDir(t *testing.T) {
	dir := t.TempDir()
	writeColourDir(t, dir, Train, 10, 3, 32, 32, 5, true)
	train, test, err := Open(dir, Options{Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if test != nil || train.Classes != 5 || !slices.Equal(train.SampleShape(), []int{3, 32, 32}) {
		t.Fatalf("test %v, %d classes, samples %v", test, train.Classes, train.SampleShape())
	}
	writeColourDir(t, dir, Test, 3, 3, 32, 32, 3, false) // labels 0-2 only
	train, test, err = Open(dir, Options{OneHot: true})
	if err != nil {
		t.Fatal(err)
	}
	if test.Classes != 5 || test.OneHot.Shape()[1] != 5 {
		t.Errorf("test split: %d classes, one-hot %v; want the training split's 5", test.Classes, test.OneHot.Shape())
	}
	p, err := train.Image(1)
	if _, ok := p.(*image.RGBA); err != nil || !ok || p.Bounds().Dx() != 32 {
		t.Errorf("image: %T %v", p, err)
	}
}

// FuzzOpenNPZ: Open on any bytes returns a consistent pair of sets or an
// error, never a panic.
func FuzzOpenNPZ(f *testing.F) {
	for _, name := range []string{"cls.npz", "reg.npz", "reg1.npz", "shorty.npz", "complex.npz", "y2d.npz"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var buf bytes.Buffer
	if err := numpyio.WriteNPZ(&buf, []string{"x", "y"}, map[string]numpyio.Array{
		"x": {Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}},
		"y": {Shape: []int{2}, Data: []float32{0, 1}, DType: "int64"},
	}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "d.npz")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		train, test, err := Open(path, Options{Normalize: true, OneHot: true})
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of several lines: %q", err)
			}
			return
		}
		for _, s := range []*Set{train, test} {
			if s == nil {
				continue
			}
			if s.Len() < 1 || s.SampleSize()*s.Len() != len(s.Data()) {
				t.Fatalf("%d samples of %d values, %d values", s.Len(), s.SampleSize(), len(s.Data()))
			}
			if s.Regression() == (s.Labels != nil) || (s.Labels != nil && len(s.Labels) != s.Len()) {
				t.Fatalf("regression %v with %d labels for %d samples", s.Regression(), len(s.Labels), s.Len())
			}
			for _, l := range s.Labels {
				if l < 0 || l >= s.Classes {
					t.Fatalf("label %d of %d classes", l, s.Classes)
				}
			}
		}
	})
}
