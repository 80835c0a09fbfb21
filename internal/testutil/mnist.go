package testutil

import (
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TinyMNIST writes the first nTrain training and nTest test images (and
// labels) of the repository's MNIST as an IDX folder in a temporary
// directory, for a command's --data: a run over it takes a moment.
func TinyMNIST(t testing.TB, nTrain, nTest int) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(here), "..", "..", "datasets", "mnist", "data")
	dir := t.TempDir()
	for _, f := range []struct {
		name           string
		n, per, header int
	}{
		{"train-images-idx3-ubyte", nTrain, 784, 16}, {"train-labels-idx1-ubyte", nTrain, 1, 8},
		{"t10k-images-idx3-ubyte", nTest, 784, 16}, {"t10k-labels-idx1-ubyte", nTest, 1, 8},
	} {
		in, err := os.Open(filepath.Join(src, f.name+".gz"))
		if err != nil {
			t.Fatal(err)
		}
		z, err := gzip.NewReader(in)
		if err != nil {
			in.Close()
			t.Fatal(err)
		}
		b := make([]byte, f.header+f.n*f.per)
		_, err = io.ReadFull(z, b)
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
		binary.BigEndian.PutUint32(b[4:], uint32(f.n)) // the count of the first dimension
		if err := os.WriteFile(filepath.Join(dir, f.name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
