package book2

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/numpyio"
)

// half decodes IEEE half bits (independently of Float16).
func half(h uint16) float64 {
	e, m := int(h>>10)&0x1f, float64(h&0x3ff)
	s := 1.0
	if h&0x8000 != 0 {
		s = -1
	}
	switch e {
	case 0:
		return s * m * math.Pow(2, -24)
	case 0x1f:
		if m != 0 {
			return math.NaN()
		}
		return s * math.Inf(1)
	}
	return s * (1 + m/1024) * math.Pow(2, float64(e-15))
}

// TestFloat16 checks every half value and every midpoint between
// neighbours: exact values map to themselves, midpoints to the even
// neighbour, points just off a midpoint to the nearer one.
func TestFloat16(t *testing.T) {
	for h := 0; h < 0x7c00; h++ {
		for _, sign := range []uint16{0, 0x8000} {
			x := uint16(h) | sign
			v := half(x)
			if got := Float16(float32(v)); got != x && v != 0 {
				t.Fatalf("%v: %#04x, want %#04x", v, got, x)
			}
			next := half(uint16(h+1) | sign)
			mid := (v + next) / 2 // exact in float32: halves have 11 bits
			even := x
			if h&1 == 1 {
				even = uint16(h+1) | sign
			}
			if got := Float16(float32(mid)); got != even {
				t.Fatalf("midpoint %v of %#04x: %#04x, want %#04x", mid, x, got, even)
			}
			if up := math.Nextafter32(float32(mid), float32(next)); Float16(up) != uint16(h+1)|sign {
				t.Fatalf("just above midpoint %v: %#04x", up, Float16(up))
			}
		}
	}
	if Float16(1e6) != 0x7c00 || Float16(float32(math.NaN()))&0x7c00 != 0x7c00 || Float16(-1e-10) != 0x8000 {
		t.Error("overflow, NaN or underflow")
	}
}

// TestWriteParams writes a params list and reads it back with numpyio and,
// when /usr/bin/python3 with numpy is there, with pickle.load.
func TestWriteParams(t *testing.T) {
	shapes := [][]int{{2, 3}, {4}, {1, 2, 2}}
	data := [][]float32{{0.1, -2, 3.14159, 65504, 1e-6, 0}, {1, 2, 3, 4}, {-0.5, 0.25, 7, 1e5}}
	var buf bytes.Buffer
	if err := WriteParams(&buf, shapes, data); err != nil {
		t.Fatal(err)
	}
	got, err := numpyio.ReadPickleArrays(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d arrays", len(got))
	}
	for i, a := range got {
		if a.DType != "float16" {
			t.Errorf("array %d: dtype %q", i, a.DType)
		}
		if fmt.Sprint(a.Shape) != fmt.Sprint(shapes[i]) {
			t.Fatalf("array %d: shape %v, want %v", i, a.Shape, shapes[i])
		}
		for j, v := range data[i] {
			want := half(Float16(v))
			if float64(a.Data[j]) != want {
				t.Errorf("array %d[%d]: %v, want %v", i, j, a.Data[j], want)
			}
		}
	}
	if err := WriteParams(&buf, shapes, data[:2]); err == nil {
		t.Error("3 shapes, 2 arrays: no error")
	}
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("no python3 to read it back with numpy")
	}
	path := filepath.Join(t.TempDir(), "p.pkl")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", `import pickle, sys
ps = pickle.load(open(sys.argv[1], 'rb'))
print(';'.join('%s %s %s' % (p.dtype, p.shape, ','.join(repr(float(x)) for x in p.flatten())) for p in ps))`, path).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "No module named 'numpy'") {
			t.Skip("no numpy")
		}
		t.Fatalf("pickle.load: %v\n%s", err, out)
	}
	want := "float16 (2, 3) 0.0999755859375,-2.0,3.140625,65504.0,1.0132789611816406e-06,0.0;" +
		"float16 (4,) 1.0,2.0,3.0,4.0;float16 (1, 2, 2) -0.5,0.25,7.0,inf"
	if strings.TrimSpace(string(out)) != want {
		t.Errorf("numpy read\n%s\nwant\n%s", out, want)
	}
}
