package numpyio

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// addSeeds adds every fixture matching the glob patterns to the corpus.
func addSeeds(f *testing.F, patterns ...string) {
	for _, pat := range patterns {
		files, err := filepath.Glob(filepath.Join("testdata", pat))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			f.Add(readFile(f, filepath.Base(file)))
		}
	}
}

// checkResult asserts the invariants every reader guarantees.
func checkResult(t *testing.T, m map[string]Array, err error) {
	t.Helper()
	if err != nil {
		if errors.Is(err, errInternal) {
			t.Fatalf("panic: %v", err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error %q", err)
		}
		if !classified(err) {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		return
	}
	for k, a := range m {
		n, err := checkShape(a.Shape)
		if err != nil || n != len(a.Data) {
			t.Fatalf("array %q: shape %v with %d elements (%v)", k, a.Shape, len(a.Data), err)
		}
	}
}

func FuzzReadPickle(f *testing.F) {
	addSeeds(f, "small_*.pkl", "ordered_*.pkl", "evil_*.pkl", "bad_*.pkl", "huge_*.pkl", "complex.pkl", "object.pkl", "oob_p5.pkl", "list_toplevel.pkl")
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadPickle(bytes.NewReader(b))
		checkResult(t, m, err)
	})
}

func FuzzReadNPZ(f *testing.F) {
	addSeeds(f, "small*.npz")
	var buf bytes.Buffer
	_ = WriteNPZ(&buf, []string{"a", "b"}, map[string]Array{
		"a": {Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}},
		"b": {Shape: []int{}, Data: []float32{5}},
	})
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadNPZ(bytes.NewReader(b), int64(len(b)))
		checkResult(t, m, err)
	})
}

func FuzzReadNPY(f *testing.F) {
	addSeeds(f, "*.npy")
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ReadNPY(bytes.NewReader(b))
		var m map[string]Array
		if err == nil {
			m = map[string]Array{"a": a}
		}
		checkResult(t, m, err)
	})
}
