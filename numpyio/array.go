package numpyio

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Array is a float32 array in row-major (C) order: the element at index
// (i0, i1, ..., ik) is Data[((i0*Shape[1]+i1)*Shape[2]+...)*Shape[k]+ik].
// A 0-dimensional array (numpy scalar array) has an empty Shape and one
// element. len(Data) always equals the product of Shape.
//
// The readers also record the type the array was stored as (DType) and,
// for the integer types whose values float32 cannot always hold (32 and
// 64 bits), the exact values (Ints): token ids, labels, indices.
type Array struct {
	Shape []int
	Data  []float32
	// DType is numpy's name of the element type the array was stored as:
	// "float16", "float32", "float64", "int8" ... "int64", "uint8" ...
	// "uint64" or "bool". "" (an Array built by hand) means float32.
	DType string
	// Ints holds the exact values of an array stored as int32, int64,
	// uint32 or uint64 (uint64 values above 2^63-1 wrap), nil for the other
	// types, whose values Data holds exactly. Writers use it, when set, for
	// an Array whose DType is int32 or int64.
	Ints []int64
}

// Safety limits enforced by every reader (and by [WriteNPZ], so that what it
// writes can be read back).
const (
	// MaxDims is the largest number of dimensions accepted.
	MaxDims = 8
	// MaxElements is the largest number of elements accepted in one array,
	// and in all the arrays of one pickle or npz file together.
	MaxElements = 1 << 28
)

// dtype is a numpy scalar type this package can convert to float32.
type dtype struct {
	kind  byte // 'f' float, 'i' signed int, 'u' unsigned int, 'b' bool
	size  int  // bytes per element
	order byte // '<' little, '>' big, '|' not applicable ('=' is mapped to '<')
}

func (d dtype) String() string { return fmt.Sprintf("%c%c%d", d.order, d.kind, d.size) }

// name returns numpy's name of the type: float32, int64, uint8, bool.
func (d dtype) name() string {
	switch d.kind {
	case 'f':
		return fmt.Sprintf("float%d", 8*d.size)
	case 'i':
		return fmt.Sprintf("int%d", 8*d.size)
	case 'u':
		return fmt.Sprintf("uint%d", 8*d.size)
	}
	return "bool"
}

// parseDType parses a numpy type string such as "<f4", ">f8", "|u1", "f4" or
// "=i8". def is the byte order used when s has none. It returns an error
// wrapping ErrDType for types that cannot be converted to float32.
func parseDType(s string, def byte) (dtype, error) {
	orig := s
	order := def
	if s != "" && strings.IndexByte("<>|=", s[0]) >= 0 {
		order, s = s[0], s[1:]
	}
	if order == '=' {
		// Native order of the machine that wrote the file; numpy itself
		// normalises to '<' or '>' when saving, so '=' is essentially always
		// a little-endian writer.
		order = '<'
	}
	if len(s) < 2 {
		return dtype{}, fmt.Errorf("dtype %q: %w", orig, ErrDType)
	}
	size, err := strconv.Atoi(s[1:])
	if err != nil {
		return dtype{}, fmt.Errorf("dtype %q: %w", orig, ErrDType)
	}
	d := dtype{kind: s[0], size: size, order: order}
	ok := false
	switch d.kind {
	case 'f':
		ok = size == 2 || size == 4 || size == 8
	case 'i', 'u':
		ok = size == 1 || size == 2 || size == 4 || size == 8
	case 'b':
		ok = size == 1
	}
	if !ok {
		return dtype{}, fmt.Errorf("dtype %q: %w (only float16/32/64, integers and bool convert to float32)", orig, ErrDType)
	}
	if size == 1 {
		d.order = '|'
	} else if d.order == '|' {
		// numpy never writes '|' for multi-byte types; treat as little endian.
		d.order = '<'
	}
	return d, nil
}

// checkShape validates a shape against the limits and returns its element
// count.
func checkShape(shape []int) (int, error) {
	if len(shape) > MaxDims {
		return 0, fmt.Errorf("shape %s has %d dimensions, more than %d: %w", formatShape(shape), len(shape), MaxDims, ErrLimit)
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %s has a negative dimension: %w", formatShape(shape), ErrFormat)
		}
		if d > MaxElements {
			return 0, fmt.Errorf("shape %s has more than %d elements: %w", formatShape(shape), MaxElements, ErrLimit)
		}
	}
	for _, d := range shape {
		n *= d // n <= MaxElements and d <= MaxElements: no overflow in int64
		if n > MaxElements {
			return 0, fmt.Errorf("shape %s has more than %d elements: %w", formatShape(shape), MaxElements, ErrLimit)
		}
	}
	return n, nil
}

// formatShape formats a shape like Python does: (), (3,), (2, 3).
func formatShape(shape []int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, d := range shape {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(d))
	}
	if len(shape) == 1 {
		b.WriteByte(',')
	}
	b.WriteByte(')')
	return b.String()
}

// makeArray converts raw element bytes of the given dtype and shape into a
// row-major float32 Array. fortran says raw is in column-major order. The
// length of raw must match the shape exactly.
func makeArray(raw []byte, dt dtype, shape []int, fortran bool) (Array, error) {
	n, err := checkShape(shape)
	if err != nil {
		return Array{}, err
	}
	if want := int64(n) * int64(dt.size); int64(len(raw)) != want {
		return Array{}, fmt.Errorf("shape %s of %s needs %d data bytes, got %d: %w", formatShape(shape), dt, want, len(raw), ErrFormat)
	}
	data := decode(raw, dt, n)
	ints := decodeInts(raw, dt, n)
	if fortran && len(shape) > 1 {
		data = fortranToC(data, shape)
		if ints != nil {
			ints = fortranToC(ints, shape)
		}
	}
	return Array{Shape: append([]int{}, shape...), Data: data, DType: dt.name(), Ints: ints}, nil
}

// decodeInts returns the exact values of n elements of raw for 4- and
// 8-byte integer types, nil for the others.
func decodeInts(raw []byte, dt dtype, n int) []int64 {
	if (dt.kind != 'i' && dt.kind != 'u') || dt.size < 4 {
		return nil
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if dt.order == '>' {
		bo = binary.BigEndian
	}
	out := make([]int64, n)
	for i := range out {
		switch {
		case dt.size == 8:
			out[i] = int64(bo.Uint64(raw[8*i:]))
		case dt.kind == 'i':
			out[i] = int64(int32(bo.Uint32(raw[4*i:])))
		default:
			out[i] = int64(bo.Uint32(raw[4*i:]))
		}
	}
	return out
}

// decode converts n elements of raw (validated length) to float32.
func decode(raw []byte, dt dtype, n int) []float32 {
	out := make([]float32, n)
	var bo binary.ByteOrder = binary.LittleEndian
	if dt.order == '>' {
		bo = binary.BigEndian
	}
	switch {
	case dt.kind == 'f' && dt.size == 4:
		for i := range out {
			out[i] = math.Float32frombits(bo.Uint32(raw[4*i:]))
		}
	case dt.kind == 'f' && dt.size == 8:
		for i := range out {
			out[i] = float32(math.Float64frombits(bo.Uint64(raw[8*i:])))
		}
	case dt.kind == 'f' && dt.size == 2:
		for i := range out {
			out[i] = halfToFloat32(bo.Uint16(raw[2*i:]))
		}
	case dt.kind == 'b':
		for i := range out {
			if raw[i] != 0 {
				out[i] = 1
			}
		}
	case dt.kind == 'i' && dt.size == 1:
		for i := range out {
			out[i] = float32(int8(raw[i]))
		}
	case dt.kind == 'u' && dt.size == 1:
		for i := range out {
			out[i] = float32(raw[i])
		}
	case dt.kind == 'i' && dt.size == 2:
		for i := range out {
			out[i] = float32(int16(bo.Uint16(raw[2*i:])))
		}
	case dt.kind == 'u' && dt.size == 2:
		for i := range out {
			out[i] = float32(bo.Uint16(raw[2*i:]))
		}
	case dt.kind == 'i' && dt.size == 4:
		for i := range out {
			out[i] = float32(int32(bo.Uint32(raw[4*i:])))
		}
	case dt.kind == 'u' && dt.size == 4:
		for i := range out {
			out[i] = float32(bo.Uint32(raw[4*i:]))
		}
	case dt.kind == 'i' && dt.size == 8:
		for i := range out {
			out[i] = float32(int64(bo.Uint64(raw[8*i:])))
		}
	case dt.kind == 'u' && dt.size == 8:
		for i := range out {
			out[i] = float32(bo.Uint64(raw[8*i:]))
		}
	}
	return out
}

// halfToFloat32 converts an IEEE 754 binary16 value to float32 exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: mant * 2^-24
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// fortranToC reorders column-major data of the given shape into row-major.
func fortranToC[T float32 | int64](src []T, shape []int) []T {
	dst := make([]T, len(src))
	if len(src) == 0 {
		return dst
	}
	nd := len(shape)
	// Column-major strides (in elements) of each axis.
	fstride := make([]int, nd)
	s := 1
	for k := 0; k < nd; k++ {
		fstride[k] = s
		s *= shape[k]
	}
	idx := make([]int, nd) // current row-major multi-index
	off := 0               // column-major offset of idx
	last := nd - 1
	for i := range dst {
		dst[i] = src[off]
		// increment the multi-index, last axis fastest
		for k := last; k >= 0; k-- {
			idx[k]++
			off += fstride[k]
			if idx[k] < shape[k] {
				break
			}
			off -= fstride[k] * shape[k]
			idx[k] = 0
		}
	}
	return dst
}
