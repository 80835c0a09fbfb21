package numpyio

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestSharedBufferBomb: one memoized 4 kB buffer used as the data of many
// arrays must not expand past the input size.
func TestSharedBufferBomb(t *testing.T) {
	raw := make([]byte, 4096)
	p := newPK(3).op(opEmptyDict).op(opMark)
	p.str("a0").array([]int32{1024}, "f4", "<", false, raw)
	// memoize the raw bytes: re-emit them once with BINPUT
	p.bytes(raw).op(opBinput, 1, opPop)
	for i := 1; i < 200; i++ {
		p.str("a" + string(rune('0'+i%10)) + string(rune('a'+i/10)))
		p.global("numpy.core.multiarray", "_reconstruct").global("numpy", "ndarray")
		p.int(0).op(opTuple1).op(opShortBinbytes, 1, 'b').op(opTuple3, opReduce)
		p.op(opMark).int(1).int(1024).op(opTuple1).dtype("f4", "<").op(opNewfalse, opBinget, 1, opTuple, opBuild)
	}
	p.op(opSetitems, opStop)
	_, err := ReadPickle(bytes.NewReader(p.b))
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "more data than") {
		t.Fatalf("got %v, want ErrLimit", err)
	}
}

// TestEncodeBomb: _codecs.encode of one memoized string, many times.
func TestEncodeBomb(t *testing.T) {
	p := newPK(2).op(opEmptyList).op(opMark)
	p.global("_codecs", "encode").op(opBinput, 1).str(strings.Repeat("x", 200)).op(opBinput, 2).str("latin1").op(opBinput, 3)
	p.op(opTuple2, opReduce)
	for range 100 {
		p.op(opBinget, 1, opBinget, 2, opBinget, 3, opTuple2, opReduce)
	}
	p.op(opAppends, opStop)
	_, err := ReadPickle(bytes.NewReader(p.b))
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("got %v, want ErrLimit", err)
	}
}

// TestOverlappingZipEntries: two directory entries pointing at the same
// local file are refused.
func TestOverlappingZipEntries(t *testing.T) {
	a := Array{Shape: []int{2}, Data: []float32{1, 2}}
	var buf bytes.Buffer
	if err := WriteNPZ(&buf, []string{"a", "b"}, map[string]Array{"a": a, "b": a}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if _, err := ReadNPZ(bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatalf("unpatched archive: %v", err)
	}
	first := bytes.Index(b, []byte("PK\x01\x02"))
	second := first + 1 + bytes.Index(b[first+1:], []byte("PK\x01\x02"))
	if first < 0 || second <= first {
		t.Fatal("central directory not found")
	}
	binary.LittleEndian.PutUint32(b[second+42:], 0) // b.npy -> a.npy's local header
	_, err := ReadNPZ(bytes.NewReader(b), int64(len(b)))
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "overlap") {
		t.Fatalf("got %v, want an overlap error", err)
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

// pickleBudget is the most a pickle of n bytes may make the package
// allocate, garbage included: the input, and MaxPickleValues values of
// at most 64 bytes each, twice over for the growth of the stack and memo.
func pickleBudget(n int) uint64 { return 1<<20 + 2*uint64(n) + 2*64*MaxPickleValues }

// TestPickleVMBudget: opcodes that each add a value to the stack, the
// memo or the marks stop at MaxPickleValues, within a memory budget,
// however many the pickle holds.
func TestPickleVMBudget(t *testing.T) {
	const n = 16 << 20
	repeat := func(prefix []byte, unit string) []byte {
		b := append([]byte{opProto, 4}, prefix...)
		b = append(b, bytes.Repeat([]byte(unit), n/len(unit))...)
		return append(b, opStop)
	}
	for _, test := range []struct {
		name string
		in   []byte
	}{
		{"MEMOIZE", repeat([]byte{opEmptyDict}, "\x94")},
		{"DUP", repeat([]byte{opEmptyDict}, "2")},
		{"MARK", repeat(nil, "(")},
		{"TUPLE1 around the top", repeat([]byte{opNone}, "\x85")},
		{"APPEND", repeat([]byte{opEmptyList}, "Na")},
		{"BINPUT", repeat([]byte{opNone}, "q\x01")},
	} {
		t.Run(test.name, func(t *testing.T) {
			var err error
			got := allocated(func() { _, err = ReadPickle(bytes.NewReader(test.in)) })
			if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "values pushed, memoized or marked") {
				t.Errorf("got %v, want the values budget", err)
			}
			if budget := pickleBudget(len(test.in)); got > budget {
				t.Errorf("allocated %d MB for a %d MB pickle (budget %d MB)", got>>20, len(test.in)>>20, budget>>20)
			}
			t.Logf("allocated %d MB", got>>20)
		})
	}
}

// npyHeaderBytes returns the preamble and header of a version 1.0 .npy
// file of float32 values of the given shape.
func npyHeaderBytes(shape string) []byte {
	hdr := "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }"
	hdr += strings.Repeat(" ", 63-(10+len(hdr))%64) + "\n"
	b := append([]byte(npyMagic), 1, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(hdr)))
	return append(b, hdr...)
}

// rawNPZ builds a one-entry archive whose entry holds data deflated and
// declares the uncompressed size declared, whatever data really is.
func rawNPZ(t testing.TB, name string, data []byte, declared uint64) []byte {
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestSpeed)
	fw.Write(data)
	fw.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(data),
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: declared})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(comp.Bytes())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestNPZChecksBeforeInflating: an entry's sizes are checked before it is
// inflated, and Load's Check sees the shapes before any data is read.
func TestNPZChecksBeforeInflating(t *testing.T) {
	gib := npyHeaderBytes("(16384, 16384)")
	noise := make([]byte, 1100<<10) // incompressible: 1 GiB is within deflate's ceiling of it
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	claims1GiB := rawNPZ(t, "W1.npy", append(slices.Clone(gib), noise...), uint64(len(gib))+1<<30)
	small := npyHeaderBytes("(2,)")
	for _, test := range []struct {
		name  string
		in    []byte
		check Check
		want  error
		msg   string
	}{
		{"beyond deflate's ceiling", rawNPZ(t, "a.npy", append(slices.Clone(gib), make([]byte, 1<<20)...), uint64(len(gib))+1<<30), nil, ErrFormat, "more than deflate can give"},
		{"declared size above the header's", rawNPZ(t, "a.npy", append(slices.Clone(small), make([]byte, 8)...), uint64(len(small))+9), nil, ErrFormat, "1 bytes after the data"},
		{"declared size below the header's", rawNPZ(t, "a.npy", append(slices.Clone(small), make([]byte, 8)...), uint64(len(small))+7), nil, ErrTruncated, "needs 8 bytes of data"},
		{"1 GiB claimed, 1 MB present", claims1GiB, nil, ErrTruncated, ""},
		{"1 GiB claimed, refused by Check", claims1GiB, func(shapes map[string][]int) error {
			if !slices.Equal(shapes["W1"], []int{16384, 16384}) {
				t.Errorf("Check got %v", shapes)
			}
			return ErrUnsupported
		}, ErrUnsupported, ""},
	} {
		t.Run(test.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "w.npz")
			if err := os.WriteFile(path, test.in, 0o644); err != nil {
				t.Fatal(err)
			}
			var err error
			got := allocated(func() { _, err = Load(path, Options{Check: test.check}) })
			if !errors.Is(err, test.want) || !strings.Contains(err.Error(), test.msg) {
				t.Errorf("got %v, want %v mentioning %q", err, test.want, test.msg)
			}
			if budget := 16<<20 + 16*uint64(len(test.in)); got > budget {
				t.Errorf("allocated %d MB for a %d kB archive (budget %d MB)", got>>20, len(test.in)>>10, budget>>20)
			}
		})
	}
}
