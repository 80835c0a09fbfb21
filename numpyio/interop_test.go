package numpyio

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

const python = "/usr/bin/python3"

// requireNumpy skips the test when /usr/bin/python3 cannot import numpy.
func requireNumpy(t *testing.T) {
	t.Helper()
	if err := exec.Command(python, "-c", "import numpy").Run(); err != nil {
		t.Skipf("%s with numpy not available (apt-get install python3-numpy): %v", python, err)
	}
}

// TestWriteNPZNumpy checks that real numpy loads WriteNPZ output (without
// allow_pickle) with the same shapes, dtype, order of entries and bits.
func TestWriteNPZNumpy(t *testing.T) {
	requireNumpy(t)
	book, err := Load("testdata/book_p3_fortran.pkl")
	if err != nil {
		t.Fatal(err)
	}
	arrays := map[string]Array{
		"W1":     book["W1"],
		"b1":     book["b1"],
		"scalar": {Shape: []int{}, Data: []float32{-0.25}},
		"empty":  {Shape: []int{0, 3}, Data: []float32{}},
		"cube":   {Shape: []int{2, 3, 4}, Data: make([]float32, 24)},
		"nan":    {Shape: []int{1}, Data: []float32{float32frombits(0x7fc00001)}},
	}
	for i := range arrays["cube"].Data {
		arrays["cube"].Data[i] = float32(i) / 7
	}
	names := []string{"W1", "b1", "scalar", "empty", "cube", "nan"}
	path := filepath.Join(t.TempDir(), "out.npz")
	var buf bytes.Buffer
	if err := WriteNPZ(&buf, names, arrays); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
import json, sys, numpy as np
with np.load(sys.argv[1], allow_pickle=False) as z:
    out = {"files": z.files, "arrays": {}}
    for k in z.files:
        a = z[k]
        assert a.dtype == np.dtype("<f4"), a.dtype
        assert a.flags.c_contiguous
        out["arrays"][k] = {"shape": list(a.shape), "bits": [int(x) for x in a.reshape(-1).view("<u4")]}
print(json.dumps(out))
`
	outb, err := exec.Command(python, "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy.load failed: %v\n%s", err, outb)
	}
	var got struct {
		Files  []string                 `json:"files"`
		Arrays map[string]expectedArray `json:"arrays"`
	}
	if err := json.Unmarshal(outb, &got); err != nil {
		t.Fatalf("%v: %s", err, outb)
	}
	if !slices.Equal(got.Files, names) {
		t.Errorf("numpy sees entries %v, want %v", got.Files, names)
	}
	for _, k := range names {
		want := expectedArray{Shape: arrays[k].Shape, Bits: f32bits(arrays[k].Data)}
		checkArray(t, k, Array{Shape: got.Arrays[k].Shape, Data: bitsToF32(got.Arrays[k].Bits)}, want)
	}
}

func bitsToF32(b []uint32) []float32 {
	out := make([]float32, len(b))
	for i, x := range b {
		out[i] = float32frombits(x)
	}
	return out
}
