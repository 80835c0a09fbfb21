package datasets

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMNISTShapesAndLabels(t *testing.T) {
	for _, test := range []struct {
		split  Split
		opt    Options
		xShape []int
		first  int
	}{
		{Train, Options{Normalize: true, Flatten: true, OneHot: true}, []int{60000, 784}, 5},
		{Test, Options{Normalize: true, Flatten: true}, []int{10000, 784}, 7},
		{Test, Options{}, []int{10000, 1, 28, 28}, 7},
	} {
		s, err := MNIST(test.split, test.opt)
		if err != nil {
			t.Fatal(err)
		}
		if got := []int(s.X.Shape()); !slices.Equal(got, test.xShape) {
			t.Errorf("%s %+v: X shape %v, want %v", test.split, test.opt, got, test.xShape)
		}
		if s.Labels[0] != test.first {
			t.Errorf("%s: first label %d, want %d", test.split, s.Labels[0], test.first)
		}
		lo, hi := slices.Min(s.Data()), slices.Max(s.Data())
		wantHi := float32(255)
		if test.opt.Normalize {
			wantHi = 1
		}
		if lo != 0 || hi != wantHi {
			t.Errorf("%s %+v: values in [%v, %v], want [0, %v]", test.split, test.opt, lo, hi, wantHi)
		}
		if test.opt.OneHot {
			if got := []int(s.OneHot.Shape()); !slices.Equal(got, []int{s.Len(), 10}) {
				t.Errorf("one-hot shape %v", got)
			}
			row := s.OneHot.Data().([]float32)[:10]
			if !slices.Equal(row, []float32{0, 0, 0, 0, 0, 1, 0, 0, 0, 0}) {
				t.Errorf("one-hot of train[0] = %v", row)
			}
		} else if s.OneHot != nil {
			t.Error("OneHot set without the option")
		}
	}
}

func TestMNISTPixels(t *testing.T) {
	raw, err := MNIST(Test, Options{Flatten: true})
	if err != nil {
		t.Fatal(err)
	}
	norm, err := MNIST(Test, Options{Flatten: true, Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	// Values read independently with Python's gzip module: pixel (row 7,
	// column 7) of the first test image is 0xb9 and its pixels sum to 18454.
	// The book's normalisation is float32(p) / 255.
	if p := raw.Data()[7*28+7]; p != 185 {
		t.Errorf("pixel = %v, want 185", p)
	}
	var sum float32
	for _, v := range raw.Data()[:784] {
		sum += v
	}
	if sum != 18454 {
		t.Errorf("pixel sum = %v, want 18454", sum)
	}
	for i, v := range raw.Data()[:784] {
		if norm.Data()[i] != v/255 {
			t.Fatalf("pixel %d: normalised %v, want %v/255", i, norm.Data()[i], v)
		}
	}
}

func TestBatchesCoverEverySampleOnce(t *testing.T) {
	labels := make([]int, 23)
	raw := make([]byte, 23*4)
	for i := range labels {
		labels[i] = i % 3
		raw[4*i] = byte(i)
	}
	s, err := NewSet(raw, []int{4}, labels, 3, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 5, 10, 23, 100} {
		var seen []int
		var sizes []int
		for b := range s.Batches(size) {
			sizes = append(sizes, b.X.Shape()[0])
			for i := range b.Labels {
				seen = append(seen, int(b.X.Data().([]float32)[4*i]))
				if b.Labels[i] != (b.Start+i)%3 {
					t.Fatalf("size %d: label mismatch at %d", size, b.Start+i)
				}
			}
		}
		want := make([]int, 23)
		for i := range want {
			want[i] = i
		}
		if !slices.Equal(seen, want) {
			t.Errorf("size %d: saw %v", size, seen)
		}
		if last := sizes[len(sizes)-1]; last != 23-(len(sizes)-1)*size {
			t.Errorf("size %d: batch sizes %v", size, sizes)
		}
	}
}

func writeIDX(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	img := make([]byte, 3*28*28)
	img[5] = 255
	writeIDX(t, dir, "t10k-images-idx3-ubyte", idxBytes([]int{3, 28, 28}, img))            // raw
	writeIDX(t, dir, "t10k-labels-idx1-ubyte.gz", gz(idxBytes([]int{3}, []byte{4, 0, 9}))) // gzip
	s, err := LoadDir(dir, Test, Options{Normalize: true, Flatten: true, OneHot: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 3 || !slices.Equal(s.Labels, []int{4, 0, 9}) || s.Data()[5] != 1 {
		t.Errorf("got %d samples, labels %v, pixel %v", s.Len(), s.Labels, s.Data()[5])
	}

	// Errors name the file and the problem.
	if _, err := LoadDir(dir, Train, Options{}); err == nil || !strings.Contains(err.Error(), "train-images-idx3-ubyte") {
		t.Errorf("missing train files: %v", err)
	}
	writeIDX(t, dir, "t10k-labels-idx1-ubyte.gz", gz(idxBytes([]int{2}, []byte{4, 0})))
	if _, err := LoadDir(dir, Test, Options{}); err == nil || !strings.Contains(err.Error(), "3 images but 2 labels") {
		t.Errorf("count mismatch: %v", err)
	}
	// The labels tell the number of classes.
	writeIDX(t, dir, "t10k-labels-idx1-ubyte.gz", gz(idxBytes([]int{3}, []byte{4, 0, 10})))
	if s, err := LoadDir(dir, Test, Options{}); err != nil || s.Classes != 11 {
		t.Errorf("labels up to 10: %v, want 11 classes", err)
	}
	writeIDX(t, dir, "t10k-labels-idx1-ubyte.gz", []byte("not idx at all"))
	if _, err := LoadDir(dir, Test, Options{}); err == nil || !strings.Contains(err.Error(), "t10k-labels-idx1-ubyte.gz") {
		t.Errorf("garbage file: %v", err)
	}
}

func BenchmarkLoadMNISTTest(b *testing.B) {
	for b.Loop() {
		if _, err := MNIST(Test, Options{Normalize: true, Flatten: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// The uncompressed copies of the test split embedded for speed hold exactly
// the bytes of the canonical .gz files.
func TestEmbeddedCopiesAgree(t *testing.T) {
	for _, name := range files[Test] {
		raw, err := embedded.ReadFile("mnist/data/" + name)
		if err != nil {
			t.Fatal(err)
		}
		gzf, err := embedded.Open("mnist/data/" + name + ".gz")
		if err != nil {
			t.Fatal(err)
		}
		a, err := ReadIDX(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		b, err := ReadIDX(gzf)
		gzf.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.Dims, b.Dims) || !bytes.Equal(a.Data, b.Data) {
			t.Errorf("%s: uncompressed copy differs from the .gz", name)
		}
	}
}

func TestNewSetRefusesEmpty(t *testing.T) {
	if _, err := NewSet(nil, []int{4}, nil, 3, Options{}); err == nil || !strings.Contains(err.Error(), "no samples") {
		t.Errorf("NewSet of 0 samples: %v, want a \"no samples\" error", err)
	}
}

// allocated returns the bytes f allocates (garbage included).
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// hugeGz returns a gzip file whose IDX header claims 2^20 images of 32x32
// (1 GiB) and whose compressed body is about 1 MB, so that deflate's
// ceiling does not refuse it: only the header can.
func hugeGz() []byte {
	body := make([]byte, 1100<<10)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range body {
		body[i] = byte(rng.Uint32())
	}
	return gz(append(idxBytes([]int{1 << 20, 32, 32}, nil), body...))
}

// TestLoadDirChecksHeadersFirst: what a header claims is checked (against
// the file's length, deflate's ceiling, the sample shape the caller wants,
// the labels' count) before any pixel is read; files that are not regular
// are refused without waiting.
func TestLoadDirChecksHeadersFirst(t *testing.T) {
	labels3 := idxBytes([]int{3}, []byte{1, 2, 3})
	for _, test := range []struct {
		name           string
		images, labels []byte
		gzImages       bool
		opt            Options
		want           string
	}{
		{"sample shape from the header", hugeGz(), labels3, true, Options{Flatten: true, SampleShape: []int{784}}, "images are 32x32, samples of shape [1024]; want [784]"},
		{"sample shape, not flattened", idxBytes([]int{3, 2, 2}, make([]byte, 12)), labels3, false, Options{SampleShape: []int{1, 28, 28}}, "want [1 28 28]"},
		{"beyond deflate's ceiling", gz(idxBytes([]int{1 << 20, 32, 32}, make([]byte, 4096))), labels3, true, Options{}, "more than"},
		{"raw file shorter than its header claims", idxBytes([]int{1 << 20, 32, 32}, make([]byte, 100)), labels3, false, Options{}, "header claims 1073741824 elements [1048576 32 32] but 100 bytes follow"},
		{"count from the headers", idxBytes([]int{1 << 20, 32, 32}, nil)[:16], idxBytes([]int{2}, []byte{1, 2}), false, Options{}, "but 0 bytes follow"},
		{"gzip header", []byte{0x1f, 0x8b, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0}, labels3, true, Options{}, "malformed IDX data: gzip: invalid header"},
	} {
		t.Run(test.name, func(t *testing.T) {
			dir := t.TempDir()
			name := "t10k-images-idx3-ubyte"
			if test.gzImages {
				name += ".gz"
			}
			writeIDX(t, dir, name, test.images)
			writeIDX(t, dir, "t10k-labels-idx1-ubyte", test.labels)
			var err error
			got := allocated(func() { _, err = LoadDir(dir, Test, test.opt) })
			if err == nil || !strings.Contains(err.Error(), test.want) || strings.Contains(err.Error(), "gzip: gzip") {
				t.Errorf("got %v, want %q", err, test.want)
			}
			if budget := 4<<20 + 4*uint64(len(test.images)); got > budget {
				t.Errorf("allocated %d kB for a %d kB file", got>>10, len(test.images)>>10)
			}
		})
	}
	// The counts of images and labels are compared from the headers.
	dir := t.TempDir()
	writeIDX(t, dir, "t10k-images-idx3-ubyte", idxBytes([]int{3, 1, 1}, []byte{1, 2, 3}))
	writeIDX(t, dir, "t10k-labels-idx1-ubyte", idxBytes([]int{2}, []byte{1, 2}))
	if _, err := LoadDir(dir, Test, Options{}); err == nil || !strings.Contains(err.Error(), "3 images but 2 labels") {
		t.Errorf("count mismatch: %v", err)
	}
	// A named pipe is refused, not waited on.
	fifo := filepath.Join(dir, "t10k-images-idx3-ubyte")
	os.Remove(fifo)
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := LoadDir(dir, Test, Options{}); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("FIFO: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("LoadDir blocked on a FIFO")
	}
}
