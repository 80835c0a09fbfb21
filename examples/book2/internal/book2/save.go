package book2

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// WriteParams writes params the way the book's BaseModel.save_params does
// (`pickle.dump([p.astype(np.float16) for p in params], f)`): a pickle of
// a list of C-ordered float16 numpy arrays, each data[i] of shape
// shapes[i], rounded to float16 (to nearest, ties to even; beyond ±65504
// infinite, as numpy's astype). numpy's pickle.load and ReadParams read
// it back.
//
// The bytes, protocol 4 without frames: PROTO 4, EMPTY_LIST, MARK, then per
// array numpy's own reduction — GLOBAL numpy.core.multiarray._reconstruct,
// GLOBAL numpy.ndarray, (0,), b'b', TUPLE3, REDUCE, then the state tuple
// (1, shape, dtype('f2', False, True) with its state (3, '<', None, None,
// None, -1, -1, 0), False, raw little-endian bytes) and BUILD — APPENDS,
// STOP.
func WriteParams(w io.Writer, shapes [][]int, data [][]float32) error {
	if len(shapes) != len(data) {
		return fmt.Errorf("save params: %d shapes for %d arrays", len(shapes), len(data))
	}
	bw := bufio.NewWriter(w)
	b := []byte{0x80, 4, ']', '('}
	for i, shape := range shapes {
		n := 1
		for _, d := range shape {
			if d < 0 || d > math.MaxInt32 {
				return fmt.Errorf("save params: array %d: shape %v", i, shape)
			}
			n *= d
		}
		if n != len(data[i]) || 2*n > math.MaxInt32 {
			return fmt.Errorf("save params: array %d: %d values for shape %v", i, len(data[i]), shape)
		}
		b = append(b, "cnumpy.core.multiarray\n_reconstruct\n"...)
		b = append(b, "cnumpy\nndarray\n"...)
		b = append(b, 'K', 0, 0x85, 'C', 1, 'b', 0x87, 'R')
		b = append(b, '(', 'K', 1, '(')
		for _, d := range shape {
			b = append(b, 'J')
			b = binary.LittleEndian.AppendUint32(b, uint32(d))
		}
		b = append(b, 't')
		b = append(b, "cnumpy\ndtype\n"...)
		b = append(b, 0x8c, 2, 'f', '2', 0x89, 0x88, 0x87, 'R')
		b = append(b, '(', 'K', 3, 0x8c, 1, '<', 'N', 'N', 'N', 'J', 0xff, 0xff, 0xff, 0xff, 'J', 0xff, 0xff, 0xff, 0xff, 'K', 0, 't', 'b')
		b = append(b, 0x89, 'B')
		b = binary.LittleEndian.AppendUint32(b, uint32(2*n))
		for _, v := range data[i] {
			b = binary.LittleEndian.AppendUint16(b, Float16(v))
		}
		b = append(b, 't', 'b')
		if _, err := bw.Write(b); err != nil {
			return err
		}
		b = b[:0]
	}
	b = append(b, 'e', '.')
	if _, err := bw.Write(b); err != nil {
		return err
	}
	return bw.Flush()
}

// Float16 returns the IEEE half-precision bits nearest to v (ties to even),
// as numpy's astype(np.float16): overflow gives ±Inf, NaN stays NaN.
func Float16(v float32) uint16 {
	x := math.Float32bits(v)
	sign := uint16(x>>16) & 0x8000
	exp := int(x>>23) & 0xff
	man := x & 0x7fffff
	switch {
	case exp == 0xff: // Inf, NaN
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15:
		return sign | 0x7c00
	case exp-127 >= -14: // normal half
		e := uint32(exp - 127 + 15)
		h := e<<10 | man>>13
		rest := man & 0x1fff
		if rest > 0x1000 || rest == 0x1000 && h&1 == 1 {
			h++ // may carry into the exponent, up to Inf: correct
		}
		return sign | uint16(h)
	case exp-127 >= -25: // subnormal half
		m := man | 0x800000
		shift := uint32(-14 - (exp - 127) + 13)
		h := m >> shift
		rest := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rest > half || rest == half && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	return sign
}
