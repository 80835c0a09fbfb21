package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
)

// idxBytes encodes an IDX file of unsigned bytes with the given dimensions.
func idxBytes(dims []int, data []byte) []byte {
	b := []byte{0, 0, 0x08, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, data...)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestReadIDX(t *testing.T) {
	good := idxBytes([]int{2, 3}, []byte{1, 2, 3, 4, 5, 6})
	for _, in := range [][]byte{good, gz(good)} {
		got, err := ReadIDX(bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := ParseIDX(in)
		if err != nil || !bytes.Equal(parsed.Data, got.Data) {
			t.Fatalf("ParseIDX: %v", err)
		}
		if !slices.Equal(got.Dims, []int{2, 3}) || !bytes.Equal(got.Data, []byte{1, 2, 3, 4, 5, 6}) {
			t.Errorf("got %v %v", got.Dims, got.Data)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	for _, test := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "header"},
		{"short header", []byte{0, 0}, "header"},
		{"bad magic", []byte{1, 2, 8, 1, 0, 0, 0, 1, 9}, "bad magic"},
		{"float type", []byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 9}, "element type"},
		{"zero dims", []byte{0, 0, 8, 0}, "dimensions"},
		{"five dims", []byte{0, 0, 8, 5}, "dimensions"},
		{"truncated dims", []byte{0, 0, 8, 2, 0, 0, 0, 1}, "dimensions"},
		{"missing data", idxBytes([]int{2, 3}, []byte{1, 2}), "claims 6 elements"},
		{"trailing data", idxBytes([]int{1}, []byte{1, 2}), "trailing"},
		{"huge claim", idxBytes([]int{1 << 20, 1 << 20}, nil), "more than"},
		{"bad gzip", []byte{0x1f, 0x8b, 0, 0}, "gzip"},
		{"truncated gzip", gz(idxBytes([]int{4}, []byte{1, 2, 3, 4}))[:20], ""},
	} {
		t.Run(test.name, func(t *testing.T) {
			if _, err := ParseIDX(test.in); !errors.Is(err, ErrFormat) {
				t.Errorf("ParseIDX: %v, want ErrFormat", err)
			}
			_, err := ReadIDX(bytes.NewReader(test.in))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %q does not wrap ErrFormat", err)
			}
			if !strings.Contains(err.Error(), test.want) {
				t.Errorf("error %q does not mention %q", err, test.want)
			}
		})
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 2}, []byte{1, 2, 3, 4}))
	f.Add(gz(idxBytes([]int{3}, []byte{7, 8, 9})))
	f.Add(idxBytes([]int{1, 2, 2}, []byte{0, 255, 1, 2}))
	f.Add(gz(idxBytes([]int{1 << 20, 32, 32}, make([]byte, 4096))))
	f.Add([]byte{0x1f, 0x8b, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var idx *IDX
		var err error
		// Memory follows the bytes present (inflated at most 1032 times,
		// twice over for the buffer's growth), not the header's claims.
		if got, budget := allocated(func() { idx, err = ReadIDX(bytes.NewReader(b)) }), 1<<20+2*maxDeflateRatio*uint64(len(b)); got > budget {
			t.Fatalf("allocated %d bytes for %d input bytes", got, len(b))
		}
		parsed, perr := ParseIDX(b)
		if (err == nil) != (perr == nil) {
			t.Fatalf("ReadIDX: %v, ParseIDX: %v", err, perr)
		}
		if err != nil {
			return
		}
		if !slices.Equal(idx.Dims, parsed.Dims) || !bytes.Equal(idx.Data, parsed.Data) {
			t.Fatalf("ReadIDX and ParseIDX disagree")
		}
		n := 1
		for _, d := range idx.Dims {
			n *= d
		}
		if n != len(idx.Data) {
			t.Fatalf("dims %v but %d bytes", idx.Dims, len(idx.Data))
		}
	})
}
