package numpyio

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxPickleSize is the largest pickle ReadPickle accepts, in bytes.
const MaxPickleSize = 4 << 30

// ReadPickle decodes a Python pickle (protocols 2 to 5) of a dict (or
// collections.OrderedDict) mapping str keys to numpy arrays, as written by
// pickle.dump(params, f). It never executes anything: the pickle is
// interpreted by a small virtual machine that knows only the opcodes and the
// handful of numpy globals needed to rebuild arrays, and refuses everything
// else (see the package documentation). Arrays are returned in row-major
// order whatever their order in the file, converted to float32.
//
// If the pickle references the same array object under several keys, the
// returned Arrays share their Data.
func ReadPickle(r io.Reader) (m map[string]Array, err error) {
	defer recoverInternal("pickle", &err)
	m, err = readPickle(r)
	if err != nil {
		return nil, fmt.Errorf("numpyio: %w", err)
	}
	return m, nil
}

func readPickle(r io.Reader) (map[string]Array, error) { return readPickleChecked(r, -1, nil) }

// readPickleChecked reads a pickle of size bytes (-1: unknown, read to
// the end) and decodes it, calling check before converting any array.
func readPickleChecked(r io.Reader, size int64, check Check) (map[string]Array, error) {
	var data []byte
	var err error
	if size >= 0 {
		data = make([]byte, size)
		_, err = io.ReadFull(r, data)
	} else {
		data, err = io.ReadAll(io.LimitReader(r, MaxPickleSize+1))
	}
	if err != nil {
		return nil, fmt.Errorf("pickle: read: %w", err)
	}
	if len(data) > MaxPickleSize {
		return nil, fmt.Errorf("pickle: larger than %d bytes: %w", MaxPickleSize, ErrLimit)
	}
	return decodePickle(data, check)
}

// MaxPickleValues bounds the work of the pickle VM: the values it pushes
// on its stack, the memo entries it stores and the marks it sets, counted
// together over the whole pickle, are at most this many. Each costs the VM
// at most about 64 bytes (a memo entry is the largest), so the VM's own
// memory stays under about 16 MiB beyond the pickle's bytes whatever they
// hold. A pickle of weights needs some 20 per array: 2^18 is room for
// over ten thousand arrays.
const MaxPickleValues = 1 << 18

// Pickle opcodes understood by the VM.
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opBinint         = 'J'
	opBinint1        = 'K'
	opBinint2        = 'M'
	opNone           = 'N'
	opBinfloat       = 'G'
	opBinstring      = 'T'
	opShortBinstring = 'U'
	opBinunicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opGet            = 'g'
	opBinget         = 'h'
	opLongBinget     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opPut            = 'p'
	opBinput         = 'q'
	opLongBinput     = 'r'
	opSetitem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetitems       = 'u'
	opReduce         = 'R'
	opBinbytes       = 'B'
	opShortBinbytes  = 'C'
	opProto          = 0x80
	opTuple1         = 0x85
	opTuple2         = 0x86
	opTuple3         = 0x87
	opNewtrue        = 0x88
	opNewfalse       = 0x89
	opLong1          = 0x8a
	opLong4          = 0x8b
	opShortBinuni    = 0x8c
	opBinunicode8    = 0x8d
	opBinbytes8      = 0x8e
	opStackGlobal    = 0x93
	opMemoize        = 0x94
	opFrame          = 0x95
	opBytearray8     = 0x96
	opNextBuffer     = 0x97
	opReadonlyBuffer = 0x98
)

// opName names opcodes the VM deliberately does not implement, for errors.
func opName(op byte) string {
	switch op {
	case 'I':
		return "INT"
	case 'L':
		return "LONG"
	case 'F':
		return "FLOAT"
	case 'S':
		return "STRING"
	case 'V':
		return "UNICODE"
	case 'i':
		return "INST"
	case 'o':
		return "OBJ"
	case 'P':
		return "PERSID"
	case 'Q':
		return "BINPERSID"
	case 0x81:
		return "NEWOBJ"
	case 0x82:
		return "EXT1"
	case 0x83:
		return "EXT2"
	case 0x84:
		return "EXT4"
	case 0x8f:
		return "EMPTY_SET"
	case 0x90:
		return "ADDITEMS"
	case 0x91:
		return "FROZENSET"
	case 0x92:
		return "NEWOBJ_EX"
	}
	return ""
}

// Python values on the VM stack are represented as:
//
//	nil (None), bool, int64, float64, string (str), []byte (bytes,
//	bytearray), pyTuple, *pyList, *pyDict, pyGlobal, *pyArray, *pyDType.
type (
	pyTuple []any
	pyList  struct{ items []any }
	pyDict  struct {
		keys  []string
		vals  map[string]any
		ikeys []int64 // int keys, in order of first appearance
		ivals map[int64]any
	}
)

// pyGlobal is an allow-listed global.
type pyGlobal int

const (
	gReconstruct  pyGlobal = iota + 1 // numpy(.core|._core).multiarray._reconstruct
	gFrombuffer                       // numpy(.core|._core).numeric._frombuffer
	gNDArray                          // numpy.ndarray
	gDType                            // numpy.dtype
	gCodecsEncode                     // _codecs.encode
	gOrderedDict                      // collections.OrderedDict
	gBytes                            // builtins.bytes, only as bytes() == b''
)

// lookupGlobal is the allow-list: it returns 0 for any other global.
func lookupGlobal(module, name string) pyGlobal {
	switch module + "." + name {
	case "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct":
		return gReconstruct
	case "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer":
		return gFrombuffer
	case "numpy.ndarray":
		return gNDArray
	case "numpy.dtype":
		return gDType
	case "_codecs.encode":
		return gCodecsEncode
	case "collections.OrderedDict":
		return gOrderedDict
	case "builtins.bytes", "__builtin__.bytes": // protocol 2 spelling
		return gBytes
	}
	return 0
}

func (g pyGlobal) String() string {
	switch g {
	case gReconstruct:
		return "numpy.core.multiarray._reconstruct"
	case gFrombuffer:
		return "numpy.core.numeric._frombuffer"
	case gNDArray:
		return "numpy.ndarray"
	case gDType:
		return "numpy.dtype"
	case gCodecsEncode:
		return "_codecs.encode"
	case gOrderedDict:
		return "collections.OrderedDict"
	case gBytes:
		return "builtins.bytes"
	}
	return "unknown global"
}

// pyDType is a numpy.dtype under construction.
type pyDType struct {
	spec       string // e.g. "f4"
	order      byte   // from BUILD state; 0 until built
	structured bool   // has fields or a subarray
}

// pyArray is a numpy.ndarray under construction. Conversion to Array is
// deferred until the dict key is known (for error messages) and done once.
type pyArray struct {
	built   bool
	shape   []int
	dt      *pyDType
	fortran bool
	raw     []byte
	object  bool // rawdata was a list: object array

	conv    *Array // conversion result, shared between aliases
	convErr error
}

type vm struct {
	// encodeBudget and convertBudget bound the bytes produced by
	// _codecs.encode and converted into arrays (and OrderedDict pairs) to
	// the input size: a legitimate pickle contains every array's data once,
	// while a hostile one could reference one memoized buffer from many
	// arrays to expand a small file into gigabytes.
	encodeBudget  int
	convertBudget int
	totalElems    int
	values        int // pushes, memo stores and marks so far (MaxPickleValues)

	data  []byte
	pos   int
	op    int // offset of the current opcode
	stack []any
	marks []int
	memo  map[uint32]any
	proto int
}

func (v *vm) errf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("pickle: offset %d: %s: %w", v.op, fmt.Sprintf(format, args...), sentinel)
}

func (v *vm) truncated() error {
	return fmt.Errorf("pickle: offset %d: opcode 0x%02x needs more bytes than the %d left: %w", v.op, v.data[v.op], len(v.data)-v.pos, ErrTruncated)
}

func (v *vm) take(n uint64) ([]byte, error) {
	if n > uint64(len(v.data)-v.pos) {
		return nil, v.truncated()
	}
	b := v.data[v.pos : v.pos+int(n)]
	v.pos += int(n)
	return b, nil
}

func (v *vm) u8() (uint64, error) {
	b, err := v.take(1)
	if err != nil {
		return 0, err
	}
	return uint64(b[0]), nil
}

func (v *vm) u16() (uint64, error) {
	b, err := v.take(2)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint16(b)), nil
}

func (v *vm) u32() (uint64, error) {
	b, err := v.take(4)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint32(b)), nil
}

func (v *vm) u64() (uint64, error) {
	b, err := v.take(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (v *vm) line() (string, error) {
	for i := v.pos; i < len(v.data); i++ {
		if v.data[i] == '\n' {
			s := string(v.data[v.pos:i])
			v.pos = i + 1
			return s, nil
		}
	}
	return "", v.truncated()
}

// count charges one value to the budget of MaxPickleValues.
func (v *vm) count() error {
	if v.values++; v.values > MaxPickleValues {
		return v.errf(ErrLimit, "more than %d values pushed, memoized or marked", MaxPickleValues)
	}
	return nil
}

func (v *vm) push(x any) { v.stack = append(v.stack, x) }

func (v *vm) pop() (any, error) {
	base := 0
	if len(v.marks) > 0 {
		base = v.marks[len(v.marks)-1]
	}
	if len(v.stack) <= base {
		return nil, v.errf(ErrFormat, "stack underflow")
	}
	x := v.stack[len(v.stack)-1]
	v.stack = v.stack[:len(v.stack)-1]
	return x, nil
}

func (v *vm) top() (any, error) {
	base := 0
	if len(v.marks) > 0 {
		base = v.marks[len(v.marks)-1]
	}
	if len(v.stack) <= base {
		return nil, v.errf(ErrFormat, "stack underflow")
	}
	return v.stack[len(v.stack)-1], nil
}

// popMark pops everything above the topmost mark and the mark itself.
func (v *vm) popMark() ([]any, error) {
	if len(v.marks) == 0 {
		return nil, v.errf(ErrFormat, "no MARK on the stack")
	}
	m := v.marks[len(v.marks)-1]
	v.marks = v.marks[:len(v.marks)-1]
	items := append([]any(nil), v.stack[m:]...)
	clear(v.stack[m:])
	v.stack = v.stack[:m]
	return items, nil
}

func (v *vm) popN(n int) ([]any, error) {
	items := make([]any, n)
	for i := n - 1; i >= 0; i-- {
		x, err := v.pop()
		if err != nil {
			return nil, err
		}
		items[i] = x
	}
	return items, nil
}

func (v *vm) memoGet(idx uint64) error {
	x, ok := v.memo[uint32(idx)]
	if !ok || idx > math.MaxUint32 {
		return v.errf(ErrFormat, "memo key %d not defined", idx)
	}
	v.push(x)
	return nil
}

func (v *vm) memoPut(idx uint64) error {
	if err := v.count(); err != nil {
		return err
	}
	if idx > math.MaxUint32 {
		return v.errf(ErrFormat, "memo key %d out of range", idx)
	}
	x, err := v.top()
	if err != nil {
		return err
	}
	v.memo[uint32(idx)] = x
	return nil
}

// decodePickle runs the VM over a complete pickle and converts the
// result; check, when not nil, sees the arrays' shapes first.
func decodePickle(data []byte, check Check) (map[string]Array, error) {
	v := &vm{data: data, memo: map[uint32]any{}, encodeBudget: len(data), convertBudget: len(data)}
	res, err := v.run()
	if err != nil {
		return nil, err
	}
	d, ok := res.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("pickle: top-level object is %s, want a dict of numpy arrays: %w", typeName(res), ErrFormat)
	}
	if len(d.ikeys) > 0 {
		return nil, fmt.Errorf("pickle: dict key of type int (%d), want str keys naming arrays: %w", d.ikeys[0], ErrFormat)
	}
	shapes := make(map[string][]int, len(d.keys))
	for _, k := range d.keys {
		a, ok := d.vals[k].(*pyArray)
		if !ok {
			return nil, fmt.Errorf("pickle: key %q: value is %s, want a numpy array: %w", k, typeName(d.vals[k]), ErrFormat)
		}
		shapes[k] = slices.Clone(a.shape)
	}
	if check != nil {
		if err := check(shapes); err != nil {
			return nil, err
		}
	}
	out := make(map[string]Array, len(d.keys))
	for _, k := range d.keys {
		arr, err := v.convert(d.vals[k].(*pyArray))
		if err != nil {
			return nil, fmt.Errorf("pickle: array %q: %w", k, err)
		}
		out[k] = arr
	}
	return out, nil
}

func (v *vm) run() (any, error) {
	if len(v.data) == 0 {
		return nil, fmt.Errorf("pickle: empty input: %w", ErrTruncated)
	}
	if v.data[0] != opProto {
		return nil, fmt.Errorf("pickle: does not start with the PROTO opcode 0x80 (protocol 0 or 1, or not a pickle): %w", ErrFormat)
	}
	for v.pos < len(v.data) {
		v.op = v.pos
		op := v.data[v.pos]
		v.pos++
		if v.op > 0 && op == opProto {
			return nil, v.errf(ErrFormat, "PROTO opcode after the start")
		}
		if op == opStop {
			x, err := v.pop()
			if err != nil {
				return nil, err
			}
			return x, nil
		}
		depth := len(v.stack) + len(v.marks)
		if err := v.step(op); err != nil {
			return nil, err
		}
		// An opcode that leaves the stack no shorter has made a value
		// (a push, a mark, a tuple of one around the top): charge it.
		if len(v.stack)+len(v.marks) >= depth {
			if err := v.count(); err != nil {
				return nil, err
			}
		}
	}
	return nil, fmt.Errorf("pickle: no STOP opcode after %d bytes: %w", len(v.data), ErrTruncated)
}

func (v *vm) step(op byte) error {
	switch op {
	case opProto:
		p, err := v.u8()
		if err != nil {
			return err
		}
		if p < 2 || p > 5 {
			return v.errf(ErrUnsupported, "pickle protocol %d (want 2 to 5)", p)
		}
		v.proto = int(p)
	case opFrame:
		n, err := v.u64()
		if err != nil {
			return err
		}
		if n > uint64(len(v.data)-v.pos) {
			return v.truncated()
		}
	case opMark:
		v.marks = append(v.marks, len(v.stack))
	case opPop:
		if len(v.marks) > 0 && v.marks[len(v.marks)-1] == len(v.stack) {
			_, err := v.popMark() // Python's POP discards a mark at the top
			return err
		}
		_, err := v.pop()
		return err
	case opPopMark:
		_, err := v.popMark()
		return err
	case opDup:
		x, err := v.top()
		if err != nil {
			return err
		}
		v.push(x)
	case opNone:
		v.push(nil)
	case opNewtrue:
		v.push(true)
	case opNewfalse:
		v.push(false)
	case opBinint:
		n, err := v.u32()
		if err != nil {
			return err
		}
		v.push(int64(int32(uint32(n))))
	case opBinint1:
		n, err := v.u8()
		if err != nil {
			return err
		}
		v.push(int64(n))
	case opBinint2:
		n, err := v.u16()
		if err != nil {
			return err
		}
		v.push(int64(n))
	case opLong1, opLong4:
		var n uint64
		var err error
		if op == opLong1 {
			n, err = v.u8()
		} else {
			n, err = v.u32()
		}
		if err != nil {
			return err
		}
		b, err := v.take(n)
		if err != nil {
			return err
		}
		if len(b) > 8 {
			return v.errf(ErrLimit, "integer of %d bytes", len(b))
		}
		var x int64
		for i := len(b) - 1; i >= 0; i-- {
			x = x<<8 | int64(b[i])
		}
		if len(b) > 0 && len(b) < 8 && b[len(b)-1]&0x80 != 0 { // sign-extend
			x -= 1 << (8 * uint(len(b)))
		}
		v.push(x)
	case opBinfloat:
		b, err := v.take(8)
		if err != nil {
			return err
		}
		v.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case opShortBinuni, opBinunicode, opBinunicode8:
		var n uint64
		var err error
		switch op {
		case opShortBinuni:
			n, err = v.u8()
		case opBinunicode:
			n, err = v.u32()
		default:
			n, err = v.u64()
		}
		if err != nil {
			return err
		}
		b, err := v.take(n)
		if err != nil {
			return err
		}
		if !utf8.Valid(b) {
			return v.errf(ErrFormat, "string is not valid UTF-8")
		}
		v.push(string(b))
	case opShortBinbytes, opBinbytes, opBinbytes8, opBytearray8, opShortBinstring, opBinstring:
		var n uint64
		var err error
		switch op {
		case opShortBinbytes, opShortBinstring:
			n, err = v.u8()
		case opBinbytes, opBinstring:
			n, err = v.u32()
		default:
			n, err = v.u64()
		}
		if err != nil {
			return err
		}
		b, err := v.take(n)
		if err != nil {
			return err
		}
		v.push(b)
	case opNextBuffer:
		return v.errf(ErrUnsupported, "out-of-band buffer (NEXT_BUFFER): the pickle was written with a buffer_callback; pickle it in-band")
	case opReadonlyBuffer:
		// Marks the top buffer read-only: nothing to do.
		if _, err := v.top(); err != nil {
			return err
		}
	case opEmptyDict:
		v.push(&pyDict{vals: map[string]any{}})
	case opDict:
		items, err := v.popMark()
		if err != nil {
			return err
		}
		d := &pyDict{vals: map[string]any{}}
		if err := v.setItems(d, items); err != nil {
			return err
		}
		v.push(d)
	case opEmptyList:
		v.push(&pyList{})
	case opList:
		items, err := v.popMark()
		if err != nil {
			return err
		}
		v.push(&pyList{items: items})
	case opEmptyTuple:
		v.push(pyTuple{})
	case opTuple:
		items, err := v.popMark()
		if err != nil {
			return err
		}
		v.push(pyTuple(items))
	case opTuple1, opTuple2, opTuple3:
		items, err := v.popN(int(op-opTuple1) + 1)
		if err != nil {
			return err
		}
		v.push(pyTuple(items))
	case opAppend, opAppends:
		var items []any
		var err error
		if op == opAppend {
			items, err = v.popN(1)
		} else {
			items, err = v.popMark()
		}
		if err != nil {
			return err
		}
		t, err := v.top()
		if err != nil {
			return err
		}
		l, ok := t.(*pyList)
		if !ok {
			return v.errf(ErrFormat, "APPEND to %s", typeName(t))
		}
		l.items = append(l.items, items...)
	case opSetitem, opSetitems:
		var items []any
		var err error
		if op == opSetitem {
			items, err = v.popN(2)
		} else {
			items, err = v.popMark()
		}
		if err != nil {
			return err
		}
		t, err := v.top()
		if err != nil {
			return err
		}
		d, ok := t.(*pyDict)
		if !ok {
			return v.errf(ErrFormat, "SETITEM on %s", typeName(t))
		}
		return v.setItems(d, items)
	case opPut:
		s, err := v.line()
		if err != nil {
			return err
		}
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return v.errf(ErrFormat, "PUT argument %q", s)
		}
		return v.memoPut(n)
	case opBinput:
		n, err := v.u8()
		if err != nil {
			return err
		}
		return v.memoPut(n)
	case opLongBinput:
		n, err := v.u32()
		if err != nil {
			return err
		}
		return v.memoPut(n)
	case opMemoize:
		return v.memoPut(uint64(len(v.memo)))
	case opGet:
		s, err := v.line()
		if err != nil {
			return err
		}
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return v.errf(ErrFormat, "GET argument %q", s)
		}
		return v.memoGet(n)
	case opBinget:
		n, err := v.u8()
		if err != nil {
			return err
		}
		return v.memoGet(n)
	case opLongBinget:
		n, err := v.u32()
		if err != nil {
			return err
		}
		return v.memoGet(n)
	case opGlobal:
		mod, err := v.line()
		if err != nil {
			return err
		}
		name, err := v.line()
		if err != nil {
			return err
		}
		return v.global(mod, name)
	case opStackGlobal:
		items, err := v.popN(2)
		if err != nil {
			return err
		}
		mod, ok1 := items[0].(string)
		name, ok2 := items[1].(string)
		if !ok1 || !ok2 {
			return v.errf(ErrFormat, "STACK_GLOBAL of %s and %s, want two str", typeName(items[0]), typeName(items[1]))
		}
		return v.global(mod, name)
	case opReduce:
		items, err := v.popN(2)
		if err != nil {
			return err
		}
		x, err := v.reduce(items[0], items[1])
		if err != nil {
			return err
		}
		v.push(x)
	case opBuild:
		state, err := v.pop()
		if err != nil {
			return err
		}
		t, err := v.top()
		if err != nil {
			return err
		}
		return v.build(t, state)
	default:
		if name := opName(op); name != "" {
			return v.errf(ErrUnsupported, "opcode %s (0x%02x) is not allowed", name, op)
		}
		return v.errf(ErrFormat, "unknown opcode 0x%02x", op)
	}
	return nil
}

func (v *vm) global(mod, name string) error {
	g := lookupGlobal(mod, name)
	if g == 0 {
		return fmt.Errorf("pickle: offset %d: %w", v.op, &RefusedGlobalError{Module: mod, Name: name})
	}
	v.push(g)
	return nil
}

func (v *vm) setItems(d *pyDict, items []any) error {
	if len(items)%2 != 0 {
		return v.errf(ErrFormat, "odd number of items (%d) for a dict", len(items))
	}
	for i := 0; i < len(items); i += 2 {
		var key string
		switch k := items[i].(type) {
		case string:
			key = k
		case []byte: // Python 2 str
			key = string(k)
		case int64:
			if d.ivals == nil {
				d.ivals = map[int64]any{}
			}
			if _, dup := d.ivals[k]; !dup {
				d.ikeys = append(d.ikeys, k)
			}
			d.ivals[k] = items[i+1]
			continue
		default:
			return v.errf(ErrFormat, "dict key of type %s, want str", typeName(items[i]))
		}
		if _, dup := d.vals[key]; !dup {
			d.keys = append(d.keys, key)
		}
		d.vals[key] = items[i+1]
	}
	return nil
}

func (v *vm) reduce(fn, argsv any) (any, error) {
	g, ok := fn.(pyGlobal)
	if !ok {
		return nil, v.errf(ErrFormat, "REDUCE calls %s, not an allowed global", typeName(fn))
	}
	args, ok := argsv.(pyTuple)
	if !ok {
		return nil, v.errf(ErrFormat, "REDUCE arguments are %s, want a tuple", typeName(argsv))
	}
	switch g {
	case gReconstruct:
		// _reconstruct(numpy.ndarray, (0,), b'b')
		if len(args) != 3 {
			return nil, v.errf(ErrFormat, "_reconstruct takes 3 arguments, got %d", len(args))
		}
		if c, ok := args[0].(pyGlobal); !ok || c != gNDArray {
			return nil, v.errf(ErrFormat, "_reconstruct of %s, want numpy.ndarray", typeName(args[0]))
		}
		return &pyArray{}, nil
	case gFrombuffer:
		// _frombuffer(buffer, dtype, shape, order) (protocol 5)
		if len(args) != 4 {
			return nil, v.errf(ErrFormat, "_frombuffer takes 4 arguments, got %d", len(args))
		}
		buf, ok := args[0].([]byte)
		if !ok {
			return nil, v.errf(ErrFormat, "_frombuffer buffer is %s", typeName(args[0]))
		}
		dt, ok := args[1].(*pyDType)
		if !ok {
			return nil, v.errf(ErrFormat, "_frombuffer dtype is %s", typeName(args[1]))
		}
		shape, err := v.shape(args[2])
		if err != nil {
			return nil, err
		}
		order, ok := args[3].(string)
		if !ok || (order != "C" && order != "F") {
			return nil, v.errf(ErrFormat, "_frombuffer order %s, want 'C' or 'F'", describe(args[3]))
		}
		return &pyArray{built: true, shape: shape, dt: dt, fortran: order == "F", raw: buf}, nil
	case gDType:
		// dtype('f4', False, True)
		if len(args) < 1 || len(args) > 3 {
			return nil, v.errf(ErrFormat, "numpy.dtype takes 1 to 3 arguments, got %d", len(args))
		}
		spec, ok := args[0].(string)
		if !ok {
			return nil, v.errf(ErrDType, "numpy.dtype of %s", typeName(args[0]))
		}
		return &pyDType{spec: spec}, nil
	case gCodecsEncode:
		// _codecs.encode('...', 'latin1'): protocol 2 spelling of bytes
		if len(args) != 2 {
			return nil, v.errf(ErrFormat, "_codecs.encode takes 2 arguments here, got %d", len(args))
		}
		s, ok1 := args[0].(string)
		enc, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return nil, v.errf(ErrFormat, "_codecs.encode of %s, %s", typeName(args[0]), typeName(args[1]))
		}
		switch strings.ToLower(enc) {
		case "latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1":
		default:
			return nil, v.errf(ErrUnsupported, "_codecs.encode with encoding %q (only latin1)", enc)
		}
		v.encodeBudget -= len(s)
		if v.encodeBudget < 0 {
			return nil, v.errf(ErrLimit, "_codecs.encode produces more data than the pickle contains")
		}
		b := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				return nil, v.errf(ErrFormat, "_codecs.encode: character U+%04X not in latin1", r)
			}
			b = append(b, byte(r))
		}
		return b, nil
	case gBytes:
		// Protocol 2 writes b'' (the data of an empty array) as bytes().
		if len(args) != 0 {
			return nil, v.errf(ErrFormat, "builtins.bytes is only allowed without arguments")
		}
		return []byte{}, nil
	case gOrderedDict:
		d := &pyDict{vals: map[string]any{}}
		if len(args) == 0 {
			return d, nil
		}
		if len(args) != 1 {
			return nil, v.errf(ErrFormat, "OrderedDict takes at most 1 argument, got %d", len(args))
		}
		var pairs []any
		switch l := args[0].(type) {
		case *pyList:
			pairs = l.items
		case pyTuple:
			pairs = l
		default:
			return nil, v.errf(ErrFormat, "OrderedDict of %s", typeName(args[0]))
		}
		v.convertBudget -= len(pairs)
		if v.convertBudget < 0 {
			return nil, v.errf(ErrLimit, "OrderedDict items exceed the pickle size")
		}
		for _, p := range pairs {
			var kv []any
			switch p := p.(type) {
			case *pyList:
				kv = p.items
			case pyTuple:
				kv = p
			}
			if len(kv) != 2 {
				return nil, v.errf(ErrFormat, "OrderedDict item is not a pair")
			}
			if err := v.setItems(d, kv); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	return nil, v.errf(ErrFormat, "calling %s is not allowed", g)
}

func (v *vm) shape(x any) ([]int, error) {
	t, ok := x.(pyTuple)
	if !ok {
		return nil, v.errf(ErrFormat, "shape is %s, want a tuple", typeName(x))
	}
	if len(t) > MaxDims {
		return nil, v.errf(ErrLimit, "%d dimensions, more than %d", len(t), MaxDims)
	}
	shape := make([]int, len(t))
	for i, d := range t {
		n, ok := d.(int64)
		if !ok {
			return nil, v.errf(ErrFormat, "shape element is %s, want int", typeName(d))
		}
		if n < 0 || n > MaxElements {
			return nil, v.errf(ErrLimit, "dimension %d out of range [0, %d]", n, MaxElements)
		}
		shape[i] = int(n)
	}
	return shape, nil
}

func (v *vm) build(target, statev any) error {
	switch t := target.(type) {
	case *pyArray:
		if t.built {
			return v.errf(ErrFormat, "BUILD on an array that is already built")
		}
		st, ok := statev.(pyTuple)
		if !ok {
			return v.errf(ErrFormat, "array state is %s, want a tuple", typeName(statev))
		}
		// (version, shape, dtype, is_fortran, rawdata); version is absent in
		// very old pickles.
		if len(st) == 5 {
			if _, ok := st[0].(int64); !ok {
				return v.errf(ErrFormat, "array state version is %s", typeName(st[0]))
			}
			st = st[1:]
		}
		if len(st) != 4 {
			return v.errf(ErrFormat, "array state has %d items, want 5", len(st))
		}
		shape, err := v.shape(st[0])
		if err != nil {
			return err
		}
		dt, ok := st[1].(*pyDType)
		if !ok {
			return v.errf(ErrFormat, "array dtype is %s", typeName(st[1]))
		}
		var fortran bool
		switch f := st[2].(type) {
		case bool:
			fortran = f
		case int64:
			fortran = f != 0
		default:
			return v.errf(ErrFormat, "array is_fortran flag is %s", typeName(st[2]))
		}
		*t = pyArray{built: true, shape: shape, dt: dt, fortran: fortran}
		switch raw := st[3].(type) {
		case []byte:
			t.raw = raw
		case string: // Python 2 unicode data (unusual): latin1 code points
			return v.errf(ErrFormat, "array data is a str, want bytes")
		case *pyList:
			t.object = true
		default:
			return v.errf(ErrFormat, "array data is %s, want bytes", typeName(st[3]))
		}
		return nil
	case *pyDType:
		if t.order != 0 {
			return v.errf(ErrFormat, "BUILD on a dtype that is already built")
		}
		st, ok := statev.(pyTuple)
		if !ok || len(st) < 2 {
			return v.errf(ErrFormat, "dtype state is %s, want a tuple (version, byteorder, ...)", typeName(statev))
		}
		bo, ok := st[1].(string)
		if !ok || len(bo) != 1 || strings.IndexByte("<>|=", bo[0]) < 0 {
			return v.errf(ErrFormat, "dtype byte order %s", describe(st[1]))
		}
		t.order = bo[0]
		// (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
		for i := 2; i <= 4 && i < len(st); i++ {
			if st[i] != nil {
				t.structured = true
			}
		}
		return nil
	case *pyDict:
		if d, ok := statev.(*pyDict); statev == nil || (ok && len(d.keys) == 0 && len(d.ikeys) == 0) {
			return nil
		}
		return v.errf(ErrFormat, "BUILD on a dict with state %s", typeName(statev))
	}
	return v.errf(ErrFormat, "BUILD on %s", typeName(target))
}

// convert turns a built pyArray into an Array, once, within the budgets.
func (v *vm) convert(a *pyArray) (Array, error) {
	if a.conv != nil || a.convErr != nil {
		if a.convErr != nil {
			return Array{}, a.convErr
		}
		return *a.conv, nil
	}
	v.convertBudget -= len(a.raw)
	if v.convertBudget < 0 {
		return Array{}, fmt.Errorf("arrays hold more data than the %d-byte pickle contains (shared buffers): %w", len(v.data), ErrLimit)
	}
	arr, err := a.doConvert()
	if err == nil {
		v.totalElems += len(arr.Data)
		if v.totalElems > MaxElements {
			err = fmt.Errorf("more than %d elements in all arrays: %w", MaxElements, ErrLimit)
		}
	}
	if err != nil {
		a.convErr = err
		return Array{}, err
	}
	a.conv = &arr
	return arr, nil
}

func (a *pyArray) doConvert() (Array, error) {
	if !a.built {
		return Array{}, fmt.Errorf("ndarray was never given its state (no BUILD): %w", ErrFormat)
	}
	if a.dt.structured {
		return Array{}, fmt.Errorf("structured dtype %q: %w", a.dt.spec, ErrDType)
	}
	if a.object || strings.HasPrefix(a.dt.spec, "O") {
		return Array{}, fmt.Errorf("dtype %q (object array): %w", a.dt.spec, ErrDType)
	}
	order := a.dt.order
	if order == 0 {
		order = '='
	}
	dt, err := parseDType(a.dt.spec, order)
	if err != nil {
		return Array{}, err
	}
	return makeArray(a.raw, dt, a.shape, a.fortran)
}

// describe formats a value for an error message on one line: a quoted
// string, or the type name of anything else.
func describe(x any) string {
	if s, ok := x.(string); ok {
		return strconv.Quote(s)
	}
	return typeName(x)
}

func typeName(x any) string {
	switch x := x.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pyDict:
		return "dict"
	case pyGlobal:
		return "global " + x.String()
	case *pyArray:
		return "numpy.ndarray"
	case *pyDType:
		return "numpy.dtype"
	}
	return fmt.Sprintf("%T", x)
}

// Dict is a Python dict decoded by ReadPickleObject: its str keys and its
// int keys, each in order of first appearance, and the values.
type Dict struct {
	// Keys holds the str keys in order.
	Keys []string
	// Values maps each str key to its value.
	Values map[string]any
	// IntKeys holds the int keys in order.
	IntKeys []int64
	// IntValues maps each int key to its value.
	IntValues map[int64]any
}

// MaxPickleDepth is how deeply ReadPickleObject lets lists, tuples and dicts
// nest.
const MaxPickleDepth = 32

// ReadPickleObject decodes a pickle (protocols 2 to 5) of plain data, as
// the book's save_params and pickle.dump of a dict of vocabularies write
// them, with ReadPickle's safe VM and bounds. The result is built of:
//
//	nil, bool, int64, float64, string (str), []byte (bytes),
//	[]any (list or tuple), *Dict (dict: str and int keys), Array (numpy
//	array, converted to float32: float16/32/64, integers, bool).
//
// A value referenced twice in the pickle is the same Go value twice (lists
// and dicts share); a list that contains itself is an error, as is nesting
// deeper than MaxPickleDepth.
func ReadPickleObject(r io.Reader) (obj any, err error) {
	defer recoverInternal("pickle", &err)
	data, err := io.ReadAll(io.LimitReader(r, MaxPickleSize+1))
	if err != nil {
		return nil, fmt.Errorf("numpyio: pickle: read: %w", err)
	}
	if len(data) > MaxPickleSize {
		return nil, fmt.Errorf("numpyio: pickle: larger than %d bytes: %w", MaxPickleSize, ErrLimit)
	}
	v := &vm{data: data, memo: map[uint32]any{}, encodeBudget: len(data), convertBudget: len(data)}
	res, err := v.run()
	if err != nil {
		return nil, fmt.Errorf("numpyio: %w", err)
	}
	c := objConverter{v: v, done: map[any]any{}, busy: map[any]bool{}}
	obj, err = c.convert(res, 0)
	if err != nil {
		return nil, fmt.Errorf("numpyio: pickle: %w", err)
	}
	return obj, nil
}

// ReadPickleArrays decodes a pickle of a list (or tuple) of numpy arrays,
// as the book's save_params writes a model's params (float16), in order.
func ReadPickleArrays(r io.Reader) ([]Array, error) {
	obj, err := ReadPickleObject(r)
	if err != nil {
		return nil, err
	}
	l, ok := obj.([]any)
	if !ok {
		return nil, fmt.Errorf("numpyio: pickle: top-level object is %s, want a list of numpy arrays: %w", objTypeName(obj), ErrFormat)
	}
	out := make([]Array, len(l))
	for i, x := range l {
		a, ok := x.(Array)
		if !ok {
			return nil, fmt.Errorf("numpyio: pickle: item %d is %s, want a numpy array: %w", i, objTypeName(x), ErrFormat)
		}
		out[i] = a
	}
	return out, nil
}

// objTypeName names a ReadPickleObject value's Python type.
func objTypeName(x any) string {
	switch x.(type) {
	case []any:
		return "list"
	case *Dict:
		return "dict"
	case Array:
		return "numpy.ndarray"
	}
	return typeName(x)
}

// tupleKey identifies a tuple of the VM (a slice) for objConverter.done.
type tupleKey struct {
	first *any
	n     int
}

// objConverter turns VM values into ReadPickleObject's, each shared value
// once.
type objConverter struct {
	v    *vm
	done map[any]any  // converted lists and dicts, by VM pointer
	busy map[any]bool // lists and dicts being converted (a cycle if met again)
}

func (c *objConverter) convert(x any, depth int) (any, error) {
	if depth > MaxPickleDepth {
		return nil, fmt.Errorf("nested deeper than %d: %w", MaxPickleDepth, ErrLimit)
	}
	switch x := x.(type) {
	case nil, bool, int64, float64, string, []byte:
		return x, nil
	case *pyArray:
		return c.v.convert(x)
	case pyTuple:
		if len(x) == 0 {
			return []any{}, nil
		}
		// A tuple is memoized by its first item's address: a pickle may
		// nest one memoized tuple twice in the next, and so on.
		key := tupleKey{&x[0], len(x)}
		if y, ok := c.done[key]; ok {
			return y, nil
		}
		y, err := c.list(x, depth)
		if err != nil {
			return nil, err
		}
		c.done[key] = y
		return y, nil
	case *pyList, *pyDict:
		if y, ok := c.done[x]; ok {
			return y, nil
		}
		if c.busy[x] {
			return nil, fmt.Errorf("%s contains itself: %w", typeName(x), ErrFormat)
		}
		c.busy[x] = true
		defer delete(c.busy, x)
		var y any
		var err error
		if l, ok := x.(*pyList); ok {
			y, err = c.list(l.items, depth)
		} else {
			y, err = c.dict(x.(*pyDict), depth)
		}
		if err != nil {
			return nil, err
		}
		c.done[x] = y
		return y, nil
	}
	return nil, fmt.Errorf("%s is not plain data: %w", typeName(x), ErrFormat)
}

func (c *objConverter) list(items []any, depth int) ([]any, error) {
	out := make([]any, len(items))
	for i, it := range items {
		y, err := c.convert(it, depth+1)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out[i] = y
	}
	return out, nil
}

func (c *objConverter) dict(d *pyDict, depth int) (*Dict, error) {
	out := &Dict{Keys: slices.Clone(d.keys), Values: make(map[string]any, len(d.keys)), IntKeys: slices.Clone(d.ikeys), IntValues: make(map[int64]any, len(d.ikeys))}
	for _, k := range d.keys {
		y, err := c.convert(d.vals[k], depth+1)
		if err != nil {
			return nil, fmt.Errorf("[%q]: %w", k, err)
		}
		out.Values[k] = y
	}
	for _, k := range d.ikeys {
		y, err := c.convert(d.ivals[k], depth+1)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", k, err)
		}
		out.IntValues[k] = y
	}
	return out, nil
}
