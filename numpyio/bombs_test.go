package numpyio

import (
	"bytes"
	"encoding/binary"
	"errors"
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
