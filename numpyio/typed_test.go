package numpyio

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// Integer arrays keep their exact values (Ints) and every array its stored
// type (DType); the writers keep float64, int64 and int32.
func TestTypedRoundTrip(t *testing.T) {
	big := int64(1)<<40 + 1 // not a float32
	for _, a := range []Array{
		{Shape: []int{3}, Data: []float32{float32(big), -3, 7}, DType: "int64", Ints: []int64{big, -3, 7}},
		{Shape: []int{2}, Data: []float32{-5, 1 << 20}, DType: "int32", Ints: []int64{-5, 1 << 20}},
		{Shape: []int{2}, Data: []float32{0.5, -1}, DType: "float64"},
		{Shape: []int{1, 2}, Data: []float32{0.25, 3}, DType: "float32"},
	} {
		var buf bytes.Buffer
		if err := WriteNPY(&buf, a); err != nil {
			t.Fatal(err)
		}
		got, err := ReadNPY(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if got.DType != a.DType || !slices.Equal(got.Ints, a.Ints) || !slices.Equal(got.Data, a.Data) || !slices.Equal(got.Shape, a.Shape) {
			t.Errorf("%s: got %+v, want %+v", a.DType, got, a)
		}
	}
	// An int64 Array without Ints is written from Data.
	var buf bytes.Buffer
	if err := WriteNPY(&buf, Array{Shape: []int{2}, Data: []float32{4, -2}, DType: "int64"}); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadNPY(&buf); err != nil || !slices.Equal(got.Ints, []int64{4, -2}) {
		t.Errorf("int64 from Data: %+v %v", got, err)
	}
	if err := WriteNPY(&buf, Array{Shape: []int{2}, Data: []float32{1, 2}, DType: "int64", Ints: []int64{1}}); err == nil {
		t.Error("Ints of the wrong length accepted")
	}
}

// numpy's own files: the types numpy names, exact int64 and uint32 values,
// Fortran order applied to Ints too; and numpy reads what WriteNPZ writes.
func TestTypedNumpy(t *testing.T) {
	if exec.Command("/usr/bin/python3", "-c", "import numpy").Run() != nil {
		t.Skip("/usr/bin/python3 has no numpy")
	}
	dir := t.TempDir()
	out, err := exec.Command("/usr/bin/python3", "-c", `
import numpy as np
np.savez("`+filepath.Join(dir, "t.npz")+`",
    i8=np.array([2**40 + 1, -3], dtype=np.int64),
    u4=np.array([4000000001], dtype=np.uint32),
    f=np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3) * (2**33 + 1)),
    b=np.array([True, False]), h=np.array([1.5], dtype=np.float16), u1=np.array([255], dtype=np.uint8))
`).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy: %v %s", err, out)
	}
	m, err := Load(filepath.Join(dir, "t.npz"))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"i8": "int64", "u4": "uint32", "f": "int64", "b": "bool", "h": "float16", "u1": "uint8"} {
		if m[k].DType != want {
			t.Errorf("%s: DType %q, want %q", k, m[k].DType, want)
		}
	}
	if !slices.Equal(m["i8"].Ints, []int64{1<<40 + 1, -3}) || !slices.Equal(m["u4"].Ints, []int64{4000000001}) {
		t.Errorf("ints %v %v", m["i8"].Ints, m["u4"].Ints)
	}
	k := int64(1)<<33 + 1
	if !slices.Equal(m["f"].Ints, []int64{0, k, 2 * k, 3 * k, 4 * k, 5 * k}) {
		t.Errorf("fortran ints %v", m["f"].Ints)
	}
	if m["b"].Ints != nil || m["u1"].Ints != nil {
		t.Error("Ints set for a type float32 holds exactly")
	}
	var buf bytes.Buffer
	if err := WriteNPZ(&buf, []string{"i8", "f"}, m); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "w.npz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command("/usr/bin/python3", "-c", `
import numpy as np
z = np.load("`+p+`")
assert z["i8"].dtype == np.int64 and z["i8"].tolist() == [2**40 + 1, -3], z["i8"]
assert z["f"].tolist() == (np.arange(6).reshape(2, 3) * (2**33 + 1)).tolist(), z["f"]
`).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy reading WriteNPZ's int64: %v %s", err, out)
	}
}
