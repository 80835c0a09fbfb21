package numpyio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestLongDecoding(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want int64
	}{
		{[]byte{opLong1, 0}, 0},
		{[]byte{opLong1, 1, 0xff}, -1},
		{[]byte{opLong1, 1, 0x7f}, 127},
		{[]byte{opLong1, 2, 0x00, 0x80}, -32768},
		{[]byte{opLong1, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, math.MaxInt64},
		{[]byte{opLong4, 3, 0, 0, 0, 1, 2, 3}, 0x030201},
	} {
		v := &vm{data: tc.in, memo: map[uint32]any{}}
		v.pos = 1
		if err := v.step(tc.in[0]); err != nil {
			t.Fatalf("%x: %v", tc.in, err)
		}
		if got := v.stack[0].(int64); got != tc.want {
			t.Errorf("%x: got %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestAliasedArraysShareData(t *testing.T) {
	p := newPK(2).op(opEmptyDict).op(opMark).str("a").array([]int32{2}, "f4", "<", false, f32le(1, 2))
	p.op(opBinput, 9).str("b").op(opBinget, 9).op(opSetitems, opStop)
	m, err := ReadPickle(bytes.NewReader(p.b))
	if err != nil {
		t.Fatal(err)
	}
	if &m["a"].Data[0] != &m["b"].Data[0] {
		t.Error("aliased arrays were converted twice")
	}
}

func TestParseDType(t *testing.T) {
	good := map[string]dtype{
		"<f4": {'f', 4, '<'}, ">f8": {'f', 8, '>'}, "f4": {'f', 4, '<'}, "=i8": {'i', 8, '<'},
		"|u1": {'u', 1, '|'}, "<u1": {'u', 1, '|'}, "|b1": {'b', 1, '|'}, ">i2": {'i', 2, '>'}, "<f2": {'f', 2, '<'},
	}
	for s, want := range good {
		got, err := parseDType(s, '=')
		if err != nil || got != want {
			t.Errorf("parseDType(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"<c8", "|O", "O8", "<U5", "|S3", "<M8", "V16", "f", "", "<f3", "<f16", "<fx", "b2"} {
		if _, err := parseDType(s, '='); !errors.Is(err, ErrDType) {
			t.Errorf("parseDType(%q): got %v, want ErrDType", s, err)
		}
	}
}

func TestHalf(t *testing.T) {
	for h, want := range map[uint16]float32{
		0x0000: 0, 0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0001: 5.9604645e-08, 0x03ff: 6.0975552e-05,
		0x0400: 6.1035156e-05, 0x3555: 0.33325195, 0xfc00: float32(math.Inf(-1)),
	} {
		if got := halfToFloat32(h); got != want {
			t.Errorf("half %#04x = %v, want %v", h, got, want)
		}
	}
	if got := halfToFloat32(0x8000); math.Float32bits(got) != 0x80000000 {
		t.Errorf("-0 half = %v", got)
	}
	if got := halfToFloat32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("NaN half = %v", got)
	}
}

func TestFortranToC(t *testing.T) {
	// shape (2, 3, 4): Fortran offset of (i, j, k) is i + 2*j + 6*k.
	shape := []int{2, 3, 4}
	src := make([]float32, 24)
	for i := range 2 {
		for j := range 3 {
			for k := range 4 {
				src[i+2*j+6*k] = float32(100*i + 10*j + k)
			}
		}
	}
	got := fortranToC(src, shape)
	for n, v := range got {
		i, j, k := n/12, n/4%3, n%4
		if v != float32(100*i+10*j+k) {
			t.Fatalf("element (%d,%d,%d) = %v", i, j, k, v)
		}
	}
	if got := fortranToC([]float32(nil), []int{0, 5}); len(got) != 0 {
		t.Error("empty")
	}
}

func TestNPYHeader(t *testing.T) {
	mk := func(major byte, hdr string, data []byte) []byte {
		b := []byte(npyMagic)
		b = append(b, major, 0)
		if major == 1 {
			b = binary.LittleEndian.AppendUint16(b, uint16(len(hdr)))
		} else {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(hdr)))
		}
		return append(append(b, hdr...), data...)
	}
	ok := []struct {
		hdr  string
		data []byte
		want Array
	}{
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }  \n", f32le(1, 2), Array{Shape: []int{2}, Data: []float32{1, 2}, DType: "float32"}},
		{`{"descr":"<f4","fortran_order":True,"shape":(2,2)}`, f32le(1, 2, 3, 4), Array{Shape: []int{2, 2}, Data: []float32{1, 3, 2, 4}, DType: "float32"}},
		{"{'descr': '|u1', 'fortran_order': False, 'shape': (3L,), }", []byte{1, 2, 255}, Array{Shape: []int{3}, Data: []float32{1, 2, 255}, DType: "uint8"}},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", f32le(7), Array{Shape: []int{}, Data: []float32{7}, DType: "float32"}},
	}
	for _, tc := range ok {
		got, err := ReadNPY(bytes.NewReader(mk(1, tc.hdr, tc.data)))
		if err != nil {
			t.Errorf("%s: %v", tc.hdr, err)
			continue
		}
		if !slices.Equal(got.Shape, tc.want.Shape) || !slices.Equal(got.Data, tc.want.Data) {
			t.Errorf("%s: got %v, want %v", tc.hdr, got, tc.want)
		}
	}
	bad := []struct {
		b    []byte
		want error
		msg  string
	}{
		{mk(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8)), ErrDType, "<c8"},
		{mk(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8)), ErrDType, "object"},
		{mk(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", make([]byte, 4)), ErrDType, "structured"},
		{mk(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f32le(1)), ErrTruncated, "needs 12 bytes"},
		{mk(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }", nil), ErrLimit, "elements"},
		{mk(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", nil), ErrLimit, "dimensions"},
		{mk(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", nil), ErrLimit, "out of range"},
		{mk(1, "{'descr': '<f4', 'fortran_order': False}", nil), ErrFormat, "2 keys"},
		{mk(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", nil), ErrFormat, "fortran_order"},
		{mk(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", nil), ErrFormat, "4 keys"},
		{mk(1, "{'descr': '<f4', 'descr': '<f4', 'shape': (1,)}", nil), ErrFormat, "duplicate"},
		{mk(1, "{'descr': '<f4' 'fortran_order': False}", nil), ErrFormat, "expected ','"},
		{mk(1, "{'descr': '<f4, 'fortran_order': False}", nil), ErrFormat, ""},
		{mk(1, strings.Repeat("(", 100), nil), ErrFormat, "too deep"},
		{mk(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", f32le(3)), nil, ""},
		{append([]byte(npyMagic), 4, 0, 0, 0), ErrUnsupported, "version 4.0"},
		{append([]byte(npyMagic), 2, 0, 0xff, 0xff, 0xff, 0xff), ErrLimit, "header of"},
		{append([]byte(npyMagic), 2, 0, 0xff, 0xff, 0, 0), ErrTruncated, "header needs"},
		{[]byte("\x93NUMPZ\x01\x00"), ErrFormat, "bad magic"},
	}
	for _, tc := range bad {
		_, err := ReadNPY(bytes.NewReader(tc.b))
		if tc.want == nil {
			if err != nil {
				t.Errorf("%q: %v", tc.b, err)
			}
			continue
		}
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: got %v, want %v containing %q", tc.b, err, tc.want, tc.msg)
		}
	}
}

func float32frombits(b uint32) float32 { return math.Float32frombits(b) }

func TestDecodeAllDTypes(t *testing.T) {
	type tc struct {
		spec string
		raw  func(binary.AppendByteOrder) []byte
		want []float32
	}
	le, be := binary.AppendByteOrder(binary.LittleEndian), binary.AppendByteOrder(binary.BigEndian)
	u16 := func(bo binary.AppendByteOrder, v ...uint16) []byte {
		var b []byte
		for _, x := range v {
			b = bo.AppendUint16(b, x)
		}
		return b
	}
	u32 := func(bo binary.AppendByteOrder, v ...uint32) []byte {
		var b []byte
		for _, x := range v {
			b = bo.AppendUint32(b, x)
		}
		return b
	}
	u64 := func(bo binary.AppendByteOrder, v ...uint64) []byte {
		var b []byte
		for _, x := range v {
			b = bo.AppendUint64(b, x)
		}
		return b
	}
	m1 := ^uint64(0)
	cases := []tc{
		{"i1", func(binary.AppendByteOrder) []byte { return []byte{0x80, 0xff, 0x7f} }, []float32{-128, -1, 127}},
		{"u1", func(binary.AppendByteOrder) []byte { return []byte{0, 0xff, 0x7f} }, []float32{0, 255, 127}},
		{"b1", func(binary.AppendByteOrder) []byte { return []byte{0, 2, 1} }, []float32{0, 1, 1}},
		{"i2", func(bo binary.AppendByteOrder) []byte { return u16(bo, 0x8000, 0xffff, 300) }, []float32{-32768, -1, 300}},
		{"u2", func(bo binary.AppendByteOrder) []byte { return u16(bo, 0x8000, 0xffff, 300) }, []float32{32768, 65535, 300}},
		{"i4", func(bo binary.AppendByteOrder) []byte { return u32(bo, 0x80000000, 0xffffffff, 70000) }, []float32{-2147483648, -1, 70000}},
		{"u4", func(bo binary.AppendByteOrder) []byte { return u32(bo, 0x80000000, 0xffffffff, 70000) }, []float32{2147483648, 4294967295, 70000}},
		{"i8", func(bo binary.AppendByteOrder) []byte { return u64(bo, 1<<63, m1, 1<<40) }, []float32{-9.223372e18, -1, 1 << 40}},
		{"u8", func(bo binary.AppendByteOrder) []byte { return u64(bo, 1<<63, m1, 1<<40) }, []float32{9.223372e18, 1.8446744e19, 1 << 40}},
		{"f2", func(bo binary.AppendByteOrder) []byte { return u16(bo, 0x3c00, 0xc000, 0x3800) }, []float32{1, -2, 0.5}},
		{"f4", func(bo binary.AppendByteOrder) []byte { return u32(bo, math.Float32bits(1.5), math.Float32bits(-3), 1) }, []float32{1.5, -3, math.SmallestNonzeroFloat32}},
		{"f8", func(bo binary.AppendByteOrder) []byte {
			return u64(bo, math.Float64bits(1.5), math.Float64bits(-1e-50), math.Float64bits(1e300))
		}, []float32{1.5, float32(math.Copysign(0, -1)), float32(math.Inf(1))}},
	}
	for _, c := range cases {
		for _, order := range []byte{'<', '>'} {
			bo := le
			if order == '>' {
				bo = be
			}
			dt, err := parseDType(string(order)+c.spec, '=')
			if err != nil {
				t.Fatal(err)
			}
			a, err := makeArray(c.raw(bo), dt, []int{3}, false)
			if err != nil {
				t.Fatalf("%c%s: %v", order, c.spec, err)
			}
			if !slices.Equal(f32bits(a.Data), f32bits(c.want)) {
				t.Errorf("%c%s: got %v, want %v", order, c.spec, a.Data, c.want)
			}
		}
	}
}
