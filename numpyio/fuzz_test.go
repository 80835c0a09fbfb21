package numpyio

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
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

// checkAlloc fails if f allocates more than budget bytes: what a reader
// allocates must follow the bytes it is given, not what they claim.
func checkAlloc(t *testing.T, budget uint64, f func()) {
	t.Helper()
	if got := allocated(f); got > budget {
		t.Fatalf("allocated %d bytes, budget %d", got, budget)
	}
}

func FuzzReadPickle(f *testing.F) {
	addSeeds(f, "small_*.pkl", "ordered_*.pkl", "evil_*.pkl", "bad_*.pkl", "huge_*.pkl", "complex.pkl", "object.pkl", "oob_p5.pkl", "list_toplevel.pkl")
	// Opcodes that grow the VM's stack, memo and marks.
	for _, unit := range []string{"\x94", "2", "(", "\x85", "q\x01"} {
		f.Add(append(append([]byte{opProto, 4, opEmptyDict}, bytes.Repeat([]byte(unit), 4096)...), opStop))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m map[string]Array
		var err error
		// Arrays of bytes become float32: 4 bytes out per byte in, and
		// the VM's values some 64 bytes each.
		checkAlloc(t, 1<<20+256*uint64(len(b)), func() { m, err = ReadPickle(bytes.NewReader(b)) })
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
	small := npyHeaderBytes("(2,)")
	f.Add(rawNPZ(f, "a.npy", append(slices.Clone(small), make([]byte, 8)...), uint64(len(small))+9))
	f.Add(rawNPZ(f, "a.npy", append(npyHeaderBytes("(16384, 16384)"), make([]byte, 4096)...), 1<<30))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m map[string]Array
		var err error
		// Deflate expands at most 1032 times; bytes become float32.
		checkAlloc(t, 1<<20+8*maxDeflateRatio*uint64(len(b)), func() { m, err = ReadNPZ(bytes.NewReader(b), int64(len(b))) })
		checkResult(t, m, err)
	})
}

func FuzzReadNPY(f *testing.F) {
	addSeeds(f, "*.npy")
	f.Add(npyHeaderBytes("(16384, 16384)"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var a Array
		var err error
		checkAlloc(t, 1<<20+16*uint64(len(b)), func() { a, err = ReadNPY(bytes.NewReader(b)) })
		var m map[string]Array
		if err == nil {
			m = map[string]Array{"a": a}
		}
		checkResult(t, m, err)
	})
}
