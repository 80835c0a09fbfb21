package numpyio

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

type expectedArray struct {
	Shape []int    `json:"shape"`
	Bits  []uint32 `json:"bits"`
}

func loadExpected(t *testing.T) map[string]expectedArray {
	t.Helper()
	b, err := os.ReadFile("testdata/small_expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]expectedArray
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkArray compares a against the expected float32 bit patterns element by
// element (row-major).
func checkArray(t *testing.T, where string, a Array, want expectedArray) {
	t.Helper()
	if len(a.Shape) != len(want.Shape) || (len(a.Shape) > 0 && !slices.Equal(a.Shape, want.Shape)) {
		t.Errorf("%s: shape %v, want %v", where, a.Shape, want.Shape)
		return
	}
	if len(a.Data) != len(want.Bits) {
		t.Errorf("%s: %d elements, want %d", where, len(a.Data), len(want.Bits))
		return
	}
	bad := 0
	for i, f := range a.Data {
		if got := math.Float32bits(f); got != want.Bits[i] {
			if bad < 3 {
				t.Errorf("%s: element %d = %v, want %v", where, i, f, math.Float32frombits(want.Bits[i]))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ", where, bad, len(a.Data))
	}
}

func TestSmallFixtures(t *testing.T) {
	want := loadExpected(t)
	all := slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	})
	tests := []struct {
		file string
		keys []string
	}{
		{"small_p2.pkl", all},
		{"small_p3.pkl", all},
		{"small_p4.pkl", all},
		{"small_p5.pkl", all},
		{"small_p2_numpy2.pkl", all},
		{"small_p5_numpy2.pkl", all},
		{"small.npz", all},
		{"small_compressed.npz", all},
		{"ordered_p2.pkl", []string{"c32", "fortran32", "bias"}},
		{"ordered_p4.pkl", []string{"c32", "fortran32", "bias"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b := readFile(t, tc.file)
			var m map[string]Array
			var err error
			if strings.HasSuffix(tc.file, ".npz") {
				m, err = ReadNPZ(bytes.NewReader(b), int64(len(b)))
			} else {
				m, err = ReadPickle(bytes.NewReader(b))
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(m) != len(tc.keys) {
				t.Errorf("got %d arrays, want %d", len(m), len(tc.keys))
			}
			for _, k := range tc.keys {
				a, ok := m[k]
				if !ok {
					t.Errorf("missing array %q", k)
					continue
				}
				checkArray(t, k, a, want[k])
			}
			// Load detects the format from the bytes alone.
			m2, err := Load(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m, m2) {
				t.Error("Load differs from the direct reader")
			}
		})
	}
}

func TestNPYVersions(t *testing.T) {
	want := loadExpected(t)
	for _, tc := range []struct{ file, key string }{
		{"fortran64be_v1.npy", "fortran64be"},
		{"fortran64be_v2.npy", "fortran64be"},
		{"fortran64be_v3.npy", "fortran64be"},
		{"c32.npy", "c32"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			a, err := ReadNPY(bytes.NewReader(readFile(t, tc.file)))
			if err != nil {
				t.Fatal(err)
			}
			checkArray(t, tc.key, a, want[tc.key])
			m, err := Load(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			stem := strings.TrimSuffix(tc.file, ".npy")
			if !reflect.DeepEqual(m[stem], a) || len(m) != 1 {
				t.Errorf("Load: got keys %v, want only %q", slices.Collect(func(y func(string) bool) {
					for k := range m {
						y(k)
					}
				}), stem)
			}
		})
	}
}

// TestBookFormatsAgree checks that the book-shaped weights read from the
// protocol 3 pickle (Fortran-ordered matrices), np.savez (C order) and
// np.savez_compressed (Fortran order) are bit-for-bit identical in row-major
// order: a reader ignoring the Fortran flag would fail here.
func TestBookFormatsAgree(t *testing.T) {
	pk, err := Load("testdata/book_p3_fortran.pkl")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Load("testdata/book.npz")
	if err != nil {
		t.Fatal(err)
	}
	comp, err := Load("testdata/book_compressed.npz")
	if err != nil {
		t.Fatal(err)
	}
	shapes := map[string][]int{
		"W1": {784, 50}, "b1": {50}, "W2": {50, 100}, "b2": {100}, "W3": {100, 10}, "b3": {10},
	}
	for name, m := range map[string]map[string]Array{"pickle": pk, "npz": plain, "npz compressed": comp} {
		if len(m) != len(shapes) {
			t.Errorf("%s: %d arrays, want %d", name, len(m), len(shapes))
		}
		for k, s := range shapes {
			if !slices.Equal(m[k].Shape, s) {
				t.Errorf("%s: %s shape %v, want %v", name, k, m[k].Shape, s)
			}
			// Bit-for-bit equality with the C-ordered np.savez copy.
			if !slices.Equal(f32bits(m[k].Data), f32bits(plain[k].Data)) {
				t.Errorf("%s: %s differs from book.npz", name, k)
			}
		}
	}
	// The comparison is void unless the pickle really is Fortran-ordered.
	raw := readFile(t, "book_p3_fortran.pkl")
	if !bytes.Contains(raw, []byte("\x88")) { // NEWTRUE: is_fortran=True
		t.Error("book_p3_fortran.pkl has no is_fortran=True flag")
	}
}

func f32bits(d []float32) []uint32 {
	out := make([]uint32, len(d))
	for i, f := range d {
		out[i] = math.Float32bits(f)
	}
	return out
}

func TestHostileAndMalformed(t *testing.T) {
	tests := []struct {
		file     string
		sentinel error
		msg      string // substring of the error
	}{
		{"evil_os_system_hand.pkl", ErrRefusedGlobal, `refused global "os.system"`},
		{"evil_os_system_p3.pkl", ErrRefusedGlobal, `refused global "posix.system"`},
		{"evil_os_system_p4.pkl", ErrRefusedGlobal, `refused global "posix.system"`},
		{"evil_eval_p2.pkl", ErrRefusedGlobal, `refused global "builtins.eval"`},
		{"evil_reconstruct_cls.pkl", ErrRefusedGlobal, `refused global "posix.system"`},
		{"bad_shape.pkl", ErrFormat, `array "a": shape (2, 4) of <f4 needs 32 data bytes, got 24`},
		{"huge_binbytes.pkl", ErrTruncated, "needs more bytes"},
		{"huge_binbytes8.pkl", ErrTruncated, "needs more bytes"},
		{"huge_shape.pkl", ErrLimit, "more than 268435456 elements"},
		{"truncated_book.pkl", ErrTruncated, "truncated"},
		{"complex.pkl", ErrDType, `array "z": dtype "c8"`},
		{"object.pkl", ErrDType, `array "o": dtype "O8"`},
		{"oob_p5.pkl", ErrUnsupported, "out-of-band"},
		{"list_toplevel.pkl", ErrFormat, "top-level object is list"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			m, err := Load(path)
			if err == nil {
				t.Fatalf("no error, got %d arrays", len(m))
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("error %q does not wrap %v", err, tc.sentinel)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
			var rg *RefusedGlobalError
			if errors.As(err, &rg) != (tc.sentinel == ErrRefusedGlobal) {
				t.Errorf("errors.As RefusedGlobalError mismatch for %q", err)
			}
		})
	}
}

func TestRefusedGlobalError(t *testing.T) {
	_, err := ReadPickle(bytes.NewReader(readFile(t, "evil_os_system_hand.pkl")))
	var rg *RefusedGlobalError
	if !errors.As(err, &rg) {
		t.Fatalf("got %v, want a RefusedGlobalError", err)
	}
	if rg.Module != "os" || rg.Name != "system" {
		t.Errorf("got %+v", rg)
	}
	if got := err.Error(); got != `numpyio: pickle: offset 12: refused global "os.system"` {
		t.Errorf("message %q", got)
	}
}

// TestTruncatedEveryPrefix feeds every strict prefix of each fixture to its
// reader: all must fail with an error, none may panic.
func TestTruncatedEveryPrefix(t *testing.T) {
	files := []string{
		"small_p2.pkl", "small_p3.pkl", "small_p4.pkl", "small_p5.pkl", "small_p5_numpy2.pkl",
		"ordered_p2.pkl", "small.npz", "small_compressed.npz", "fortran64be_v1.npy",
		"fortran64be_v2.npy", "fortran64be_v3.npy", "c32.npy", "book_p3_fortran.pkl",
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			data := readFile(t, file)
			for n := 0; n < len(data); n++ {
				p := data[:n]
				var err error
				switch filepath.Ext(file) {
				case ".pkl":
					// decodePickle avoids ReadPickle's copy of the input
					// (quadratic on the 180 kB book file); ReadPickle on a
					// sample of prefixes covers the public wrapper.
					_, err = decodePickleSafe(p)
					if n%97 == 0 {
						if _, err2 := ReadPickle(bytes.NewReader(p)); err2 == nil {
							t.Fatalf("ReadPickle: prefix %d: no error", n)
						}
					}
				case ".npz":
					_, err = ReadNPZ(bytes.NewReader(p), int64(n))
				case ".npy":
					_, err = ReadNPY(bytes.NewReader(p))
				}
				if err == nil {
					t.Fatalf("prefix of %d/%d bytes: no error", n, len(data))
				}
				if errors.Is(err, errInternal) {
					t.Fatalf("prefix of %d bytes: %v", n, err)
				}
				if !errors.Is(err, ErrFormat) {
					t.Fatalf("prefix of %d bytes: error %q does not wrap ErrFormat", n, err)
				}
			}
		})
	}
}

func decodePickleSafe(b []byte) (m map[string]Array, err error) {
	defer recoverInternal("pickle", &err)
	return decodePickle(b, nil)
}

func TestWriteNPZRoundTrip(t *testing.T) {
	arrays := map[string]Array{
		"W1":     {Shape: []int{3, 2}, Data: []float32{1, -2, 3.5, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1))}},
		"nan":    {Shape: []int{2}, Data: []float32{math.Float32frombits(0x7fc00001), math.Float32frombits(0xffc12345)}},
		"scalar": {Shape: []int{}, Data: []float32{42}},
		"empty":  {Shape: []int{0, 4}, Data: []float32{}},
		"tiny":   {Shape: []int{1, 1, 2}, Data: []float32{math.SmallestNonzeroFloat32, math.MaxFloat32}},
		"unused": {Shape: []int{1}, Data: []float32{7}},
	}
	names := []string{"W1", "nan", "scalar", "empty", "tiny"}
	var buf bytes.Buffer
	if err := WriteNPZ(&buf, names, arrays); err != nil {
		t.Fatal(err)
	}
	got, err := ReadNPZ(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(names) {
		t.Errorf("read %d arrays, want %d", len(got), len(names))
	}
	for _, k := range names {
		if len(got[k].Shape) != len(arrays[k].Shape) || !slices.Equal(got[k].Shape, arrays[k].Shape) {
			t.Errorf("%s: shape %v, want %v", k, got[k].Shape, arrays[k].Shape)
		}
		if !slices.Equal(f32bits(got[k].Data), f32bits(arrays[k].Data)) {
			t.Errorf("%s: data not bit-identical", k)
		}
	}
	// Entries are in the order of names and the output is deterministic.
	var buf2 bytes.Buffer
	if err := WriteNPZ(&buf2, names, arrays); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
		t.Error("WriteNPZ output is not deterministic")
	}
	var order []string
	for i := 0; ; {
		j := bytes.Index(buf.Bytes()[i:], []byte("PK\x03\x04"))
		if j < 0 {
			break
		}
		i += j + 30
		nl := int(buf.Bytes()[i-4]) | int(buf.Bytes()[i-3])<<8
		order = append(order, string(buf.Bytes()[i:i+nl]))
	}
	if want := []string{"W1.npy", "nan.npy", "scalar.npy", "empty.npy", "tiny.npy"}; !slices.Equal(order, want) {
		t.Errorf("entry order %v, want %v", order, want)
	}
}

func TestWriteNPZBook(t *testing.T) {
	m, err := Load("testdata/book_p3_fortran.pkl")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"W1", "b1", "W2", "b2", "W3", "b3"}
	var buf bytes.Buffer
	if err := WriteNPZ(&buf, names, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadNPZ(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Error("book weights do not round-trip")
	}
}

func TestWriteNPZErrors(t *testing.T) {
	ok := Array{Shape: []int{2}, Data: []float32{1, 2}}
	tests := []struct {
		name   string
		names  []string
		arrays map[string]Array
		want   error
	}{
		{"missing", []string{"a", "b"}, map[string]Array{"a": ok}, ErrFormat},
		{"duplicate", []string{"a", "a"}, map[string]Array{"a": ok}, ErrFormat},
		{"empty name", []string{""}, map[string]Array{"": ok}, ErrFormat},
		{"shape mismatch", []string{"a"}, map[string]Array{"a": {Shape: []int{3}, Data: []float32{1}}}, ErrFormat},
		{"negative dim", []string{"a"}, map[string]Array{"a": {Shape: []int{-1}, Data: nil}}, ErrFormat},
		{"too many dims", []string{"a"}, map[string]Array{"a": {Shape: make([]int, 9)}}, ErrLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteNPZ(&buf, tc.names, tc.arrays)
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		path string
		want error
	}{
		{write("empty.pkl", nil), ErrTruncated},
		{write("text.npz", []byte("hello world")), ErrFormat},
		// A pickle named .npz is still read as a pickle (and vice versa).
		{write("evil.npz", readFile(t, "evil_os_system_hand.pkl")), ErrRefusedGlobal},
		{write("zip.pkl", []byte("PK\x03\x04garbage")), ErrFormat},
		{filepath.Join(dir, "missing.pkl"), os.ErrNotExist},
	}
	for _, tc := range tests {
		_, err := Load(tc.path)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.path, err, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: error %q does not name the file", tc.path, err)
		}
	}
	// Format detection ignores the name: an npz called .pkl loads fine.
	p := write("weights.pkl", readFile(t, "small.npz"))
	if m, err := Load(p); err != nil || len(m) != 11 {
		t.Errorf("npz named .pkl: %d arrays, %v", len(m), err)
	}
	// An empty archive (np.savez with no arrays) is an empty map.
	var buf bytes.Buffer
	if err := WriteNPZ(&buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	if m, err := Load(write("none.npz", buf.Bytes())); err != nil || len(m) != 0 {
		t.Errorf("empty npz: %v, %v", m, err)
	}
}
