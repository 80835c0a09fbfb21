package seqdata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestPermutationNumpy compares Permutation with numpy 1.24's legacy
// shuffle (testdata/perms.json, written by testdata/make_perms.py).
func TestPermutationNumpy(t *testing.T) {
	raw, err := os.ReadFile("testdata/perms.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []struct {
			N          int
			Seed       uint32
			Perm       []int
			Head, Tail []int
			SumIPerm   int64 `json:"sum_i_perm"`
		}
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) < 5 {
		t.Fatalf("only %d cases", len(f.Cases))
	}
	for _, c := range f.Cases {
		p := Permutation(c.N, c.Seed)
		if c.Perm != nil && !equal(p, c.Perm) {
			t.Errorf("n=%d seed=%d: got %v, numpy %v", c.N, c.Seed, p, c.Perm)
		}
		if !equal(p[:len(c.Head)], c.Head) || !equal(p[len(p)-len(c.Tail):], c.Tail) {
			t.Errorf("n=%d seed=%d: head/tail differ from numpy", c.N, c.Seed)
		}
		var s int64
		for i, v := range p {
			s += int64(i) * int64(v)
		}
		if s != c.SumIPerm {
			t.Errorf("n=%d seed=%d: sum i*perm[i] %d, numpy %d", c.N, c.Seed, s, c.SumIPerm)
		}
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadVocabAndSplit(t *testing.T) {
	// Three lines, seed 1984: numpy's permutation of 3 is in Permutation.
	text := "16+75  _91  \n52+607 _659 \n75+22  _97  \n"
	d, err := Read(strings.NewReader(text), 1984)
	if err != nil {
		t.Fatal(err)
	}
	// First appearance: question chars then answer chars, line by line.
	if got, want := string(d.Chars), "16+75 _920"; got != want {
		t.Errorf("vocab %q, want %q", got, want)
	}
	if d.QLen != 7 || d.ALen != 5 || d.N() != 3 || d.Split != 3 {
		t.Errorf("QLen %d ALen %d N %d Split %d, want 7 5 3 3", d.QLen, d.ALen, d.N(), d.Split)
	}
	lines := strings.Split(text, "\n")
	for r, k := range Permutation(3, 1984) {
		q := d.Decode(d.Q[r*7 : r*7+7])
		a := d.Decode(d.A[r*5 : r*5+5])
		if q+a != lines[k] {
			t.Errorf("row %d = %q, want line %d %q", r, q+a, k, lines[k])
		}
	}
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "no lines"},
		{"_\n", "line 1: empty question"},
		{"1+1  _2  \n12+1 \n", "line 2: no '_'"},
		{"1+1  _2  \n1+1 _2  \n", "line 2: question/answer lengths"},
	} {
		if _, err := Read(strings.NewReader(tc.in), 1); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestWriteAddition(t *testing.T) {
	var b bytes.Buffer
	if err := WriteAddition(&b, 2000, 7); err != nil {
		t.Fatal(err)
	}
	d, err := Read(bytes.NewReader(b.Bytes()), 1984)
	if err != nil {
		t.Fatal(err)
	}
	if d.N() != 2000 || d.QLen != 7 || d.ALen != 5 || len(d.Chars) != 13 || d.Split != 1800 {
		t.Fatalf("N %d QLen %d ALen %d vocab %d Split %d", d.N(), d.QLen, d.ALen, len(d.Chars), d.Split)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		var x, y, s int
		if _, err := fmt.Sscanf(strings.ReplaceAll(line, " ", ""), "%d+%d_%d", &x, &y, &s); err != nil || x+y != s || len(line) != 12 {
			t.Fatalf("bad line %q (%v)", line, err)
		}
		if seen[line] {
			t.Fatalf("duplicate %q", line)
		}
		seen[line] = true
	}
	var b2 bytes.Buffer
	if err := WriteAddition(&b2, 2000, 7); err != nil || !bytes.Equal(b.Bytes(), b2.Bytes()) {
		t.Error("same seed wrote different data")
	}
	if err := WriteAddition(&b2, 0, 7); err == nil {
		t.Error("n=0 accepted")
	}
}

func FuzzRead(f *testing.F) {
	f.Add("16+75  _91  \n", uint32(1984))
	f.Add("a_b\nc_\n", uint32(0))
	f.Fuzz(func(t *testing.T, s string, seed uint32) {
		d, err := Read(strings.NewReader(s), seed)
		if err != nil {
			return
		}
		if len(d.Q) != d.N()*d.QLen || len(d.A) != d.N()*d.ALen {
			t.Fatal("sizes disagree")
		}
		for _, id := range append(append([]int{}, d.Q...), d.A...) {
			if id < 0 || id >= len(d.Chars) {
				t.Fatal("id out of vocabulary")
			}
		}
	})
}

// TestRandomStateNumpy: np.random.seed(s); np.random.random_sample(k) in
// numpy 1.24.
func TestRandomStateNumpy(t *testing.T) {
	for _, tc := range []struct {
		seed uint32
		want []float64
	}{
		{1984, []float64{0.00875572949604042, 0.2987455681607146, 0.0564140738326363}},
		{0, []float64{0.5488135039273248, 0.7151893663724195}},
	} {
		r := NewRandomState(tc.seed)
		for i, w := range tc.want {
			if got := r.Float64(); got != w {
				t.Errorf("seed %d draw %d: %v, numpy %v", tc.seed, i, got, w)
			}
		}
	}
}
