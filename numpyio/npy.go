package numpyio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// maxNPYHeader bounds the header length accepted (numpy itself refuses
// headers above 10000 bytes by default).
const maxNPYHeader = 1 << 20

// ReadNPY decodes one array in numpy's .npy format, versions 1.0, 2.0 and
// 3.0, with any supported dtype (float16/32/64 and integers, cast to float32,
// in either byte order) and either memory order (Fortran-ordered data is
// returned in row-major order). It reads exactly the header and data bytes
// from r. Object arrays are refused: they would need unpickling.
func ReadNPY(r io.Reader) (a Array, err error) {
	defer recoverInternal("npy", &err)
	a, err = readNPY(r)
	if err != nil {
		return Array{}, fmt.Errorf("numpyio: %w", err)
	}
	return a, nil
}

// readExact reads exactly n bytes, growing its buffer only as data actually
// arrives, so a huge claimed length in a short input allocates nothing big.
func readExact(r io.Reader, n int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, n))
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("npy: reading %s: %w: %w", what, ErrTruncated, err)
	}
	if err != nil {
		return nil, fmt.Errorf("npy: reading %s: %w", what, err)
	}
	if int64(len(b)) != n {
		return nil, fmt.Errorf("npy: %s needs %d bytes, only %d present: %w", what, n, len(b), ErrTruncated)
	}
	return b, nil
}

func readNPY(r io.Reader) (Array, error) { return readNPYSized(r, -1) }

// npyHeader is what an .npy header promises.
type npyHeader struct {
	dt      dtype
	fortran bool
	shape   []int
	n       int   // elements
	size    int64 // bytes of the whole file: preamble, header and data
}

// readNPYHeader reads the preamble and header of an .npy file. When avail
// is not negative it is the length of the whole file, and the data size
// the header gives must make exactly that length: this is checked before
// any data is read.
func readNPYHeader(r io.Reader, avail int64) (npyHeader, error) {
	pre, err := readExact(r, 8, "magic")
	if err != nil {
		return npyHeader{}, err
	}
	if string(pre[:6]) != npyMagic {
		return npyHeader{}, fmt.Errorf("npy: bad magic %q: %w", pre[:6], ErrFormat)
	}
	major, minor := pre[6], pre[7]
	var hlen, lenSize int64
	switch {
	case major == 1 && minor == 0:
		b, err := readExact(r, 2, "header length")
		if err != nil {
			return npyHeader{}, err
		}
		hlen, lenSize = int64(binary.LittleEndian.Uint16(b)), 2
	case (major == 2 || major == 3) && minor == 0:
		b, err := readExact(r, 4, "header length")
		if err != nil {
			return npyHeader{}, err
		}
		hlen, lenSize = int64(binary.LittleEndian.Uint32(b)), 4
	default:
		return npyHeader{}, fmt.Errorf("npy: format version %d.%d: %w", major, minor, ErrUnsupported)
	}
	if hlen > maxNPYHeader {
		return npyHeader{}, fmt.Errorf("npy: header of %d bytes: %w", hlen, ErrLimit)
	}
	if avail >= 0 && 8+lenSize+hlen > avail {
		return npyHeader{}, fmt.Errorf("npy: header of %d bytes, but the file has %d in all: %w", hlen, avail, ErrTruncated)
	}
	hdr, err := readExact(r, hlen, "header")
	if err != nil {
		return npyHeader{}, err
	}
	dt, fortran, shape, err := parseNPYHeader(string(hdr))
	if err != nil {
		return npyHeader{}, err
	}
	n, err := checkShape(shape)
	if err != nil {
		return npyHeader{}, fmt.Errorf("npy: %w", err)
	}
	h := npyHeader{dt: dt, fortran: fortran, shape: shape, n: n, size: 8 + lenSize + hlen + int64(n)*int64(dt.size)}
	if avail >= 0 && h.size != avail {
		if h.size > avail {
			return npyHeader{}, fmt.Errorf("npy: shape %s %s needs %d bytes of data, the file has %d: %w", formatShape(shape), dt, h.size-8-lenSize-hlen, avail-8-lenSize-hlen, ErrTruncated)
		}
		return npyHeader{}, fmt.Errorf("npy: %d bytes after the data of shape %s %s: %w", avail-h.size, formatShape(shape), dt, ErrFormat)
	}
	return h, nil
}

// readNPYSized reads an .npy file of avail bytes (-1: unknown).
func readNPYSized(r io.Reader, avail int64) (Array, error) {
	h, err := readNPYHeader(r, avail)
	if err != nil {
		return Array{}, err
	}
	raw, err := readExact(r, int64(h.n)*int64(h.dt.size), fmt.Sprintf("data of shape %s %s", formatShape(h.shape), h.dt))
	if err != nil {
		return Array{}, err
	}
	a, err := makeArray(raw, h.dt, h.shape, h.fortran)
	if err != nil {
		return Array{}, fmt.Errorf("npy: %w", err)
	}
	return a, nil
}

// parseNPYHeader interprets the header dict literal, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (784, 50), }
func parseNPYHeader(h string) (dtype, bool, []int, error) {
	p := &litParser{s: h}
	v, err := p.parse()
	if err != nil {
		return dtype{}, false, nil, fmt.Errorf("npy: header: %w", err)
	}
	d, ok := v.(map[string]any)
	if !ok {
		return dtype{}, false, nil, fmt.Errorf("npy: header is not a dict: %w", ErrFormat)
	}
	if len(d) != 3 {
		return dtype{}, false, nil, fmt.Errorf("npy: header has %d keys, want descr, fortran_order and shape: %w", len(d), ErrFormat)
	}
	descr, ok := d["descr"].(string)
	if !ok {
		if _, isList := d["descr"].([]any); isList {
			return dtype{}, false, nil, fmt.Errorf("npy: structured dtype: %w", ErrDType)
		}
		return dtype{}, false, nil, fmt.Errorf("npy: header descr missing or not a str: %w", ErrFormat)
	}
	if strings.Contains(descr, "O") {
		return dtype{}, false, nil, fmt.Errorf("npy: dtype %q (object array): %w", descr, ErrDType)
	}
	fortran, ok := d["fortran_order"].(bool)
	if !ok {
		return dtype{}, false, nil, fmt.Errorf("npy: header fortran_order missing or not a bool: %w", ErrFormat)
	}
	st, ok := d["shape"].([]any)
	if !ok {
		return dtype{}, false, nil, fmt.Errorf("npy: header shape missing or not a tuple: %w", ErrFormat)
	}
	if len(st) > MaxDims {
		return dtype{}, false, nil, fmt.Errorf("npy: %d dimensions, more than %d: %w", len(st), MaxDims, ErrLimit)
	}
	shape := make([]int, len(st))
	for i, x := range st {
		n, ok := x.(int64)
		if !ok {
			return dtype{}, false, nil, fmt.Errorf("npy: shape element is not an int: %w", ErrFormat)
		}
		if n < 0 || n > MaxElements {
			return dtype{}, false, nil, fmt.Errorf("npy: dimension %d out of range [0, %d]: %w", n, MaxElements, ErrLimit)
		}
		shape[i] = int(n)
	}
	dt, err := parseDType(descr, '=')
	if err != nil {
		return dtype{}, false, nil, fmt.Errorf("npy: %w", err)
	}
	return dt, fortran, shape, nil
}

// litParser parses the tiny subset of Python literals used by npy headers:
// dicts, tuples, lists, str, int, True, False and None. Tuples and lists are
// returned as []any, dicts (str keys) as map[string]any.
type litParser struct {
	s     string
	pos   int
	depth int
}

func (p *litParser) errf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s: %w", p.pos, fmt.Sprintf(format, args...), ErrFormat)
}

func (p *litParser) parse() (any, error) {
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return nil, p.errf("trailing characters")
	}
	return v, nil
}

func (p *litParser) skipSpace() {
	for p.pos < len(p.s) && strings.IndexByte(" \t\r\n\x00", p.s[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *litParser) value() (any, error) {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return nil, p.errf("unexpected end of header")
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 16 {
		return nil, p.errf("nesting too deep")
	}
	c := p.s[p.pos]
	switch {
	case c == '{':
		p.pos++
		m := map[string]any{}
		for {
			p.skipSpace()
			if p.pos < len(p.s) && p.s[p.pos] == '}' {
				p.pos++
				return m, nil
			}
			k, err := p.value()
			if err != nil {
				return nil, err
			}
			ks, ok := k.(string)
			if !ok {
				return nil, p.errf("dict key is not a str")
			}
			p.skipSpace()
			if p.pos >= len(p.s) || p.s[p.pos] != ':' {
				return nil, p.errf("expected ':'")
			}
			p.pos++
			val, err := p.value()
			if err != nil {
				return nil, err
			}
			if _, dup := m[ks]; dup {
				return nil, p.errf("duplicate key %q", ks)
			}
			m[ks] = val
			if err := p.sep('}'); err != nil {
				return nil, err
			}
		}
	case c == '(' || c == '[':
		end := byte(')')
		if c == '[' {
			end = ']'
		}
		p.pos++
		items := []any{}
		for {
			p.skipSpace()
			if p.pos < len(p.s) && p.s[p.pos] == end {
				p.pos++
				return items, nil
			}
			val, err := p.value()
			if err != nil {
				return nil, err
			}
			items = append(items, val)
			if err := p.sep(end); err != nil {
				return nil, err
			}
		}
	case c == '\'' || c == '"':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		p.pos++
		for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
			p.pos++
		}
		n, err := strconv.ParseInt(p.s[start:p.pos], 10, 64)
		if err != nil {
			return nil, p.errf("bad integer %q", p.s[start:p.pos])
		}
		if p.pos < len(p.s) && (p.s[p.pos] == 'L' || p.s[p.pos] == 'l') { // Python 2 long
			p.pos++
		}
		return n, nil
	}
	for _, w := range []struct {
		word string
		val  any
	}{{"True", true}, {"False", false}, {"None", nil}} {
		if strings.HasPrefix(p.s[p.pos:], w.word) {
			p.pos += len(w.word)
			return w.val, nil
		}
	}
	return nil, p.errf("unexpected character %q", c)
}

// sep consumes a ',' or peeks the closing bracket.
func (p *litParser) sep(end byte) error {
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == ',' {
		p.pos++
		return nil
	}
	if p.pos < len(p.s) && p.s[p.pos] == end {
		return nil
	}
	return p.errf("expected ',' or %q", end)
}

func (p *litParser) str() (string, error) {
	q := p.s[p.pos]
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		switch c {
		case q:
			return b.String(), nil
		case '\\':
			if p.pos >= len(p.s) {
				return "", p.errf("unterminated string")
			}
			b.WriteByte(p.s[p.pos])
			p.pos++
		case '\n':
			return "", p.errf("newline in string")
		default:
			b.WriteByte(c)
		}
	}
	return "", p.errf("unterminated string")
}

// WriteNPY writes a as a version 1.0 .npy file readable by numpy.load, in
// C order: as '<f8' if a.DType is "float64", as '<i8' or '<i4' if it is
// "int64" or "int32" (from a.Ints when set, else from Data), else as
// '<f4'. len(a.Data) must equal the product of a.Shape, within [MaxDims]
// and [MaxElements].
func WriteNPY(w io.Writer, a Array) (err error) {
	defer recoverInternal("npy", &err)
	b, err := encodeNPY(a)
	if err != nil {
		return fmt.Errorf("numpyio: write npy: %w", err)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("numpyio: write npy: %w", err)
	}
	return nil
}

// encodeNPY returns a complete version 1.0 .npy file for a (element type
// as WriteNPY says), C order, header padded so the data starts at a
// multiple of 64 bytes.
func encodeNPY(a Array) ([]byte, error) {
	n, err := checkShape(a.Shape)
	if err != nil {
		return nil, err
	}
	if n != len(a.Data) {
		return nil, fmt.Errorf("shape %s has %d elements but Data has %d: %w", formatShape(a.Shape), n, len(a.Data), ErrFormat)
	}
	ints := a.Ints
	if ints != nil && len(ints) != n {
		return nil, fmt.Errorf("shape %s has %d elements but Ints has %d: %w", formatShape(a.Shape), n, len(ints), ErrFormat)
	}
	descr, size := "<f4", 4
	switch a.DType {
	case "float64":
		descr, size = "<f8", 8
	case "int64":
		descr, size = "<i8", 8
	case "int32":
		descr, size = "<i4", 4
	}
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, formatShape(a.Shape))
	total := len(npyMagic) + 2 + 2 + len(hdr) + 1
	pad := (64 - total%64) % 64
	hdr += strings.Repeat(" ", pad) + "\n"
	var buf bytes.Buffer
	buf.Grow(10 + len(hdr) + size*n)
	buf.WriteString(npyMagic)
	buf.Write([]byte{1, 0})
	_ = binary.Write(&buf, binary.LittleEndian, uint16(len(hdr)))
	buf.WriteString(hdr)
	var b [8]byte
	for i, f := range a.Data {
		switch descr {
		case "<f4":
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(f))
		case "<f8":
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(float64(f)))
		case "<i8":
			v := int64(f)
			if ints != nil {
				v = ints[i]
			}
			binary.LittleEndian.PutUint64(b[:], uint64(v))
		case "<i4":
			v := int64(f)
			if ints != nil {
				v = ints[i]
			}
			binary.LittleEndian.PutUint32(b[:], uint32(int32(v)))
		}
		buf.Write(b[:size])
	}
	return buf.Bytes(), nil
}
