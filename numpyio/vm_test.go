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

// pk assembles pickles opcode by opcode for tests of the VM.
type pk struct{ b []byte }

func newPK(proto byte) *pk { return &pk{b: []byte{opProto, proto}} }

func (p *pk) op(ops ...byte) *pk { p.b = append(p.b, ops...); return p }
func (p *pk) str(s string) *pk {
	p.b = append(p.b, opShortBinuni, byte(len(s)))
	p.b = append(p.b, s...)
	return p
}
func (p *pk) bytes(raw []byte) *pk {
	p.b = append(p.b, opBinbytes)
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(raw)))
	p.b = append(p.b, raw...)
	return p
}
func (p *pk) global(mod, name string) *pk {
	p.b = append(p.b, opGlobal)
	p.b = append(p.b, mod+"\n"+name+"\n"...)
	return p
}
func (p *pk) int(n int32) *pk {
	p.b = append(p.b, opBinint)
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(n))
	return p
}

// dtype pushes numpy.dtype(spec) built with byte order bo.
func (p *pk) dtype(spec, bo string) *pk {
	p.global("numpy", "dtype").str(spec).op(opNewfalse, opNewtrue, opTuple3, opReduce)
	p.op(opMark).int(3).str(bo).op(opNone, opNone, opNone).int(-1).int(-1).int(0).op(opTuple, opBuild)
	return p
}

// array pushes an ndarray built numpy's way; shapeOps push the shape tuple.
func (p *pk) array(shape []int32, spec, bo string, fortran bool, raw []byte) *pk {
	p.global("numpy.core.multiarray", "_reconstruct").global("numpy", "ndarray")
	p.int(0).op(opTuple1).op(opShortBinbytes, 1, 'b').op(opTuple3, opReduce)
	p.op(opMark).int(1).op(opMark)
	for _, d := range shape {
		p.int(d)
	}
	p.op(opTuple).dtype(spec, bo)
	if fortran {
		p.op(opNewtrue)
	} else {
		p.op(opNewfalse)
	}
	p.bytes(raw).op(opTuple, opBuild)
	return p
}

func f32le(vals ...float32) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func TestVM(t *testing.T) {
	one := f32le(1, 2, 3, 4, 5, 6)
	tests := []struct {
		name  string
		build func() *pk
		want  map[string]Array
		err   error
		msg   string
	}{
		{
			name: "fortran 2x3",
			build: func() *pk {
				return newPK(3).op(opEmptyDict).str("w").array([]int32{2, 3}, "f4", "<", true, one).op(opSetitem, opStop)
			},
			want: map[string]Array{"w": {Shape: []int{2, 3}, Data: []float32{1, 3, 5, 2, 4, 6}}},
		},
		{
			name: "native byte order and int64 via DICT",
			build: func() *pk {
				raw := binary.LittleEndian.AppendUint64(nil, uint64(math.MaxInt64))
				return newPK(2).op(opMark).str("i").array([]int32{1}, "i8", "=", false, raw).op(opDict, opStop)
			},
			want: map[string]Array{"i": {Shape: []int{1}, Data: []float32{9.223372e18}}},
		},
		{
			name: "float16 and bool",
			build: func() *pk {
				return newPK(4).op(opEmptyDict, opMark).
					str("h").array([]int32{4}, "f2", "<", false, []byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c}).
					str("b").array([]int32{2}, "b1", "|", false, []byte{0, 7}).
					op(opSetitems, opStop)
			},
			want: map[string]Array{
				"h": {Shape: []int{4}, Data: []float32{1, -2, 5.9604645e-08, float32(math.Inf(1))}},
				"b": {Shape: []int{2}, Data: []float32{0, 1}},
			},
		},
		{
			name: "text PUT/GET, LONG_BINPUT/GET and aliasing",
			build: func() *pk {
				p := newPK(2).op(opEmptyDict).op(opMark).str("a").array([]int32{2}, "f4", "<", false, f32le(1, 2))
				p.op('p').op([]byte("7\n")...).op(opLongBinput, 0, 0, 1, 0)
				p.str("b").op('g').op([]byte("7\n")...)
				p.str("c").op(opLongBinget, 0, 0, 1, 0)
				return p.op(opSetitems, opStop)
			},
			want: map[string]Array{
				"a": {Shape: []int{2}, Data: []float32{1, 2}},
				"b": {Shape: []int{2}, Data: []float32{1, 2}},
				"c": {Shape: []int{2}, Data: []float32{1, 2}},
			},
		},
		{
			name: "LONG1 shape, POP, POP_MARK, DUP",
			build: func() *pk {
				p := newPK(2).op(opEmptyDict, opDup, opPop).op(opMark, opNone, opNone, opPopMark)
				p.op(opMark, opPop) // POP of an empty frame discards the MARK
				p.str("x")
				p.global("numpy.core.multiarray", "_reconstruct").global("numpy", "ndarray")
				p.int(0).op(opTuple1).op(opShortBinbytes, 1, 'b').op(opTuple3, opReduce)
				p.op(opMark).int(1).op(opLong1, 1, 2, opLong1, 2, 1, 0, opTuple2).dtype("f4", "<").op(opNewfalse).bytes(f32le(1, 2)).op(opTuple, opBuild)
				return p.op(opSetitem, opStop)
			},
			want: map[string]Array{"x": {Shape: []int{2, 1}, Data: []float32{1, 2}}},
		},
		{
			name:  "negative LONG1",
			build: func() *pk { return newPK(2).op(opEmptyDict).str("a").op(opLong1, 1, 0xff, opSetitem, opStop) },
			err:   ErrFormat, msg: `key "a": value is int`,
		},
		{
			name: "protocol 1 refused",
			build: func() *pk {
				return &pk{b: []byte{opEmptyDict, opStop}}
			},
			err: ErrFormat, msg: "PROTO",
		},
		{
			name:  "protocol 6 refused",
			build: func() *pk { return newPK(6).op(opEmptyDict, opStop) },
			err:   ErrUnsupported, msg: "protocol 6",
		},
		{
			name:  "NEWOBJ refused",
			build: func() *pk { return newPK(2).global("numpy", "ndarray").op(opEmptyTuple, 0x81, opStop) },
			err:   ErrUnsupported, msg: "NEWOBJ",
		},
		{
			name:  "STACK_GLOBAL refused",
			build: func() *pk { return newPK(4).str("subprocess").str("Popen").op(opStackGlobal, opStop) },
			err:   ErrRefusedGlobal, msg: `refused global "subprocess.Popen"`,
		},
		{
			name:  "calling numpy.ndarray directly",
			build: func() *pk { return newPK(2).global("numpy", "ndarray").op(opEmptyTuple, opReduce, opStop) },
			err:   ErrFormat, msg: "calling numpy.ndarray is not allowed",
		},
		{
			name: "codecs.encode with another encoding",
			build: func() *pk {
				return newPK(2).global("_codecs", "encode").str("x").str("rot13").op(opTuple2, opReduce, opStop)
			},
			err: ErrUnsupported, msg: "rot13",
		},
		{
			name: "int dict key",
			build: func() *pk {
				return newPK(2).op(opEmptyDict).int(1).array([]int32{1}, "f4", "<", false, f32le(1)).op(opSetitem, opStop)
			},
			err: ErrFormat, msg: "dict key of type int",
		},
		{
			name:  "non-array value",
			build: func() *pk { return newPK(2).op(opEmptyDict).str("epoch").int(3).op(opSetitem, opStop) },
			err:   ErrFormat, msg: `key "epoch": value is int`,
		},
		{
			name: "nine dimensions",
			build: func() *pk {
				return newPK(2).op(opEmptyDict).str("a").array(make([]int32, 9), "f4", "<", false, nil).op(opSetitem, opStop)
			},
			err: ErrLimit, msg: "9 dimensions",
		},
		{
			name: "negative dimension",
			build: func() *pk {
				return newPK(2).op(opEmptyDict).str("a").array([]int32{-1}, "f4", "<", false, nil).op(opSetitem, opStop)
			},
			err: ErrLimit,
		},
		{
			name: "build twice",
			build: func() *pk {
				p := newPK(2).op(opEmptyDict).str("a").array([]int32{1}, "f4", "<", false, f32le(1))
				p.op(opMark).int(1).op(opMark).int(1).op(opTuple).dtype("f4", "<").op(opNewfalse).bytes(f32le(2)).op(opTuple, opBuild)
				return p.op(opSetitem, opStop)
			},
			err: ErrFormat, msg: "already built",
		},
		{
			name:  "undefined memo",
			build: func() *pk { return newPK(2).op(opBinget, 3, opStop) },
			err:   ErrFormat, msg: "memo key 3 not defined",
		},
		{
			name:  "stack underflow",
			build: func() *pk { return newPK(2).op(opTuple2, opStop) },
			err:   ErrFormat, msg: "stack underflow",
		},
		{
			name:  "pop through a mark",
			build: func() *pk { return newPK(2).op(opEmptyDict, opMark, opTuple1, opStop) },
			err:   ErrFormat, msg: "stack underflow",
		},
		{
			name:  "no STOP",
			build: func() *pk { return newPK(2).op(opEmptyDict) },
			err:   ErrTruncated, msg: "no STOP",
		},
		{
			name: "big LONG4",
			build: func() *pk {
				return newPK(2).op(opLong4, 9, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, opStop)
			},
			err: ErrLimit,
		},
		{
			name: "frame longer than input",
			build: func() *pk {
				return newPK(4).op(opFrame, 100, 0, 0, 0, 0, 0, 0, 0, opEmptyDict, opStop)
			},
			err: ErrTruncated,
		},
		{
			name: "structured dtype",
			build: func() *pk {
				p := newPK(2).op(opEmptyDict).str("s")
				p.global("numpy.core.multiarray", "_reconstruct").global("numpy", "ndarray")
				p.int(0).op(opTuple1).op(opShortBinbytes, 1, 'b').op(opTuple3, opReduce)
				p.op(opMark).int(1).int(1).op(opTuple1)
				p.global("numpy", "dtype").str("V8").op(opNewfalse, opNewtrue, opTuple3, opReduce)
				p.op(opMark).int(3).str("|").op(opNone).op(opMark).str("x").op(opTuple).op(opEmptyDict).int(8).int(1).int(0).op(opTuple, opBuild)
				p.op(opNewfalse).bytes(make([]byte, 8)).op(opTuple, opBuild)
				return p.op(opSetitem, opStop)
			},
			err: ErrDType, msg: `array "s": structured dtype "V8"`,
		},
		{
			name: "Python 2 BINSTRING data and keys",
			build: func() *pk {
				p := newPK(2).op(opEmptyDict).op(opShortBinstring, 1, 'k')
				p.global("numpy.core.multiarray", "_reconstruct").global("numpy", "ndarray")
				p.int(0).op(opTuple1).op(opShortBinstring, 1, 'b').op(opTuple3, opReduce)
				p.op(opMark).int(1).int(2).op(opTuple1).dtype("f8", ">").op(opNewfalse)
				p.op(opBinstring, 16, 0, 0, 0).op(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, math.Float64bits(0.5)), math.Float64bits(-1e300))...)
				return p.op(opTuple, opBuild, opSetitem, opStop)
			},
			want: map[string]Array{"k": {Shape: []int{2}, Data: []float32{0.5, float32(math.Inf(-1))}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadPickle(bytes.NewReader(tc.build().b))
			if errors.Is(err, errInternal) {
				t.Fatal(err)
			}
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("got error %v, want %v", err, tc.err)
				}
				if !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("error %q does not contain %q", err, tc.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Errorf("got %d arrays, want %d", len(got), len(tc.want))
			}
			for k, w := range tc.want {
				g := got[k]
				if !slices.Equal(g.Shape, w.Shape) || !slices.Equal(f32bits(g.Data), f32bits(w.Data)) {
					t.Errorf("%s = %v %v, want %v %v", k, g.Shape, g.Data, w.Shape, w.Data)
				}
			}
		})
	}
}

func TestVMMoreReduce(t *testing.T) {
	arr := func(p *pk) *pk { return p.array([]int32{1}, "f4", "<", false, f32le(3)) }
	tests := []struct {
		name  string
		build func() *pk
		err   error
		msg   string
	}{
		{"OrderedDict from pairs", func() *pk {
			p := newPK(2).global("collections", "OrderedDict").op(opMark, opMark).str("a")
			return arr(p).op(opTuple).op(opList, opTuple1, opReduce, opStop)
		}, nil, ""},
		{"OrderedDict bad pair", func() *pk {
			return newPK(2).global("collections", "OrderedDict").op(opMark, opMark).int(1).op(opTuple, opList, opTuple1, opReduce, opStop)
		}, ErrFormat, "not a pair"},
		{"OrderedDict two args", func() *pk {
			return newPK(2).global("collections", "OrderedDict").op(opEmptyList, opEmptyList, opTuple2, opReduce, opStop)
		}, ErrFormat, "at most 1"},
		{"frombuffer wrong arity", func() *pk {
			return newPK(5).global("numpy._core.numeric", "_frombuffer").op(opEmptyTuple, opReduce, opStop)
		}, ErrFormat, "4 arguments"},
		{"frombuffer bad order", func() *pk {
			p := newPK(5).op(opEmptyDict).str("a").global("numpy.core.numeric", "_frombuffer").op(opMark).bytes(f32le(1)).dtype("f4", "<").int(1).op(opTuple1).str("K\n")
			return p.op(opTuple, opReduce, opSetitem, opStop)
		}, ErrFormat, `order "K\n"`},
		{"frombuffer str buffer", func() *pk {
			p := newPK(5).global("numpy.core.numeric", "_frombuffer").op(opMark).str("x").dtype("f4", "<").int(1).op(opTuple1).str("C")
			return p.op(opTuple, opReduce, opStop)
		}, ErrFormat, "buffer is str"},
		{"codecs non-latin1", func() *pk {
			return newPK(2).global("_codecs", "encode").str("\u20ac").str("latin1").op(opTuple2, opReduce, opStop)
		}, ErrFormat, "U+20AC"},
		{"bytes with args", func() *pk {
			return newPK(2).global("builtins", "bytes").int(5).op(opTuple1, opReduce, opStop)
		}, ErrFormat, "without arguments"},
		{"reconstruct with dtype class", func() *pk {
			return newPK(2).global("numpy.core.multiarray", "_reconstruct").global("numpy", "dtype").op(opEmptyTuple).str("b").op(opTuple3, opReduce, opStop)
		}, ErrFormat, "want numpy.ndarray"},
		{"REDUCE of non-callable", func() *pk { return newPK(2).int(1).op(opEmptyTuple, opReduce, opStop) }, ErrFormat, "REDUCE calls int"},
		{"BUILD on int", func() *pk { return newPK(2).int(1).op(opNone, opBuild, opStop) }, ErrFormat, "BUILD on int"},
		{"unknown opcode", func() *pk { return newPK(2).op(0xff) }, ErrFormat, "unknown opcode 0xff"},
		{"INST refused", func() *pk { return newPK(2).op('i') }, ErrUnsupported, "INST"},
		{"invalid UTF-8", func() *pk { return newPK(2).op(opShortBinuni, 1, 0xff, opStop) }, ErrFormat, "UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadPickle(bytes.NewReader(tc.build().b))
			if tc.err == nil {
				// top level is an OrderedDict
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v containing %q", err, tc.err, tc.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
		})
	}
}
