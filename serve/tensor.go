package serve

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/tapenet/tapenet/graph"
)

// values are one input's elements in the type the model takes: float32
// (f) or int64 (i); exactly one is set.
type values struct {
	f []float32
	i []int64
}

func (v values) len() int {
	if v.i != nil {
		return len(v.i)
	}
	return len(v.f)
}

// elemSize returns the bytes of one element of an Open Inference Protocol
// datatype in binary form, 0 for BYTES and unknown names.
func elemSize(dt string) int {
	switch dt {
	case "BOOL", "UINT8", "INT8":
		return 1
	case "UINT16", "INT16", "FP16", "BF16":
		return 2
	case "UINT32", "INT32", "FP32":
		return 4
	case "UINT64", "INT64", "FP64":
		return 8
	}
	return 0
}

// wireType returns the protocol's name for a model's element type.
func wireType(d graph.DType) string {
	switch d.Or() {
	case graph.Float64:
		return "FP64"
	case graph.Int64:
		return "INT64"
	case graph.Int32:
		return "INT32"
	case graph.Bool:
		return "BOOL"
	}
	return "FP32"
}

// accepted lists the datatypes a request may send for a model input of
// element type d: FP32 (or UINT8 pixels, divided by 255) for float32,
// INT64 (or INT32) for int64.
func accepted(d graph.DType) []string {
	switch d.Or() {
	case graph.Float32:
		return []string{"FP32", "UINT8"}
	case graph.Int64:
		return []string{"INT64", "INT32"}
	}
	return nil
}

// decodeBinary reads total elements of datatype dt from b, little-endian
// and row-major as Triton's binary tensor extension sends them, into the
// model's element type (see accepted).
func decodeBinary(b []byte, dt string, total int) (values, error) {
	size := elemSize(dt)
	if size == 0 || int64(len(b)) != int64(total)*int64(size) {
		return values{}, fmt.Errorf("%d bytes of binary data; the shape needs %d elements of %d bytes (%s)", len(b), total, size, dt)
	}
	switch dt {
	case "FP32":
		f := make([]float32, total)
		for k := range f {
			v := math.Float32frombits(binary.LittleEndian.Uint32(b[4*k:]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return values{}, fmt.Errorf("binary element %d is %v; inputs must be finite", k, v)
			}
			f[k] = v
		}
		return values{f: f}, nil
	case "UINT8":
		f := make([]float32, total)
		for k, v := range b {
			f[k] = float32(v) / 255
		}
		return values{f: f}, nil
	case "INT64":
		i := make([]int64, total)
		for k := range i {
			i[k] = int64(binary.LittleEndian.Uint64(b[8*k:]))
		}
		return values{i: i}, nil
	case "INT32":
		i := make([]int64, total)
		for k := range i {
			i[k] = int64(int32(binary.LittleEndian.Uint32(b[4*k:])))
		}
		return values{i: i}, nil
	}
	return values{}, fmt.Errorf("datatype %s is not read in binary form", dt)
}

// appendFP32 appends data as little-endian FP32 bytes.
func appendFP32(dst []byte, data []float32) []byte {
	for _, v := range data {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
	}
	return dst
}

// appendBytes appends strings as a BYTES tensor's binary form: each a
// 4-byte little-endian length, then its bytes.
func appendBytes(dst []byte, strs []string) []byte {
	for _, s := range strs {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

// classify returns Triton's classification strings for rows of width cols:
// the k highest values of each row, highest first (ties by index), as
// "value:index".
func classify(data []float32, cols, k int) []string {
	out := make([]string, 0, len(data)/cols*k)
	idx := make([]int, cols)
	for r := 0; r+cols <= len(data); r += cols {
		row := data[r : r+cols]
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			switch {
			case row[a] > row[b]:
				return -1
			case row[a] < row[b]:
				return 1
			}
			return 0
		})
		for _, i := range idx[:k] {
			out = append(out, strconv.FormatFloat(float64(row[i]), 'g', -1, 32)+":"+strconv.Itoa(i))
		}
	}
	return out
}

// classStringBytes bounds the length of one classification string:
// a float32 (at most 15 bytes), ':', an index, and the BYTES length prefix.
const classStringBytes = 15 + 1 + 10 + 4

// jsonValueBytes bounds the JSON bytes of one float32 with its comma.
const jsonValueBytes = 16

// nonFinite returns the index of the first NaN or infinity in data, or -1.
func nonFinite(data []float32) int {
	for i, v := range data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return i
		}
	}
	return -1
}

// paramInt reads an integer parameter (JSON numbers decode as float64).
func paramInt(p map[string]any, key string) (int64, bool, error) {
	v, ok := p[key]
	if !ok {
		return 0, false, nil
	}
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) || x < 0 || x > 1<<53 {
			return 0, true, fmt.Errorf("parameter %q: %v is not a non-negative integer", key, x)
		}
		return int64(x), true, nil
	case int64:
		return x, true, nil
	}
	return 0, true, fmt.Errorf("parameter %q: want a number, got %v", key, v)
}

// paramBool reads a boolean parameter.
func paramBool(p map[string]any, key string) (bool, bool, error) {
	v, ok := p[key]
	if !ok {
		return false, false, nil
	}
	b, isBool := v.(bool)
	if !isBool {
		return false, true, fmt.Errorf("parameter %q: want true or false, got %v", key, v)
	}
	return b, true, nil
}

// joinQuoted lists names for a message: "a", "b".
func joinQuoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// fmtShape writes a shape as JSON writes it: [1,784].
func fmtShape[T int | int64](shape []T) string {
	return strings.ReplaceAll(fmt.Sprint(shape), " ", ",")
}
