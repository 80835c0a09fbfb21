package datasets

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrFormat is wrapped by every error about malformed IDX bytes.
var ErrFormat = errors.New("malformed IDX data")

// MaxElements caps the number of elements an IDX header may claim
// (1<<30 bytes, far above MNIST's 47 million).
const MaxElements = 1 << 30

// IDX is a decoded IDX array of unsigned bytes: Dims holds its dimensions
// (count first) and Data its elements in row-major order.
type IDX struct {
	Dims []int
	Data []byte
}

// ReadIDX decodes an IDX file of unsigned bytes (type code 0x08), raw or
// gzip-compressed; compression is detected from the first bytes, not from a
// file name.
//
// An IDX file is big-endian: two zero bytes, a type code (0x08 for uint8), the
// number of dimensions d, then d uint32 sizes, then the elements. MNIST
// images have magic 2051 (0x00000803, three dimensions) and labels 2049
// (0x00000801, one dimension).
//
// The header is checked before anything is allocated: the element count is
// capped at MaxElements and must match the bytes present exactly; trailing
// bytes are an error too.
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(2)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrFormat, shortRead(err))
	}
	var src io.Reader = br
	if magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrFormat, err)
		}
		defer zr.Close()
		src = zr
	}
	var head [4]byte
	if _, err := io.ReadFull(src, head[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrFormat, shortRead(err))
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("%w: bad magic %#08x (want 0x000008NN)", ErrFormat, binary.BigEndian.Uint32(head[:]))
	}
	if head[2] != 0x08 {
		return nil, fmt.Errorf("%w: element type %#02x not supported (want 0x08, unsigned byte)", ErrFormat, head[2])
	}
	nd := int(head[3])
	if nd < 1 || nd > 4 {
		return nil, fmt.Errorf("%w: %d dimensions (want 1 to 4)", ErrFormat, nd)
	}
	dimBytes := make([]byte, 4*nd)
	if _, err := io.ReadFull(src, dimBytes); err != nil {
		return nil, fmt.Errorf("%w: dimensions: %v", ErrFormat, shortRead(err))
	}
	dims := make([]int, nd)
	total := 1
	for i := range dims {
		d := binary.BigEndian.Uint32(dimBytes[4*i:])
		if d > MaxElements {
			return nil, fmt.Errorf("%w: dimension %d is %d (max %d)", ErrFormat, i, d, MaxElements)
		}
		dims[i] = int(d)
		total *= int(d)
		if total > MaxElements {
			return nil, fmt.Errorf("%w: header claims more than %d elements", ErrFormat, MaxElements)
		}
	}
	// Read what is present, at most one byte more than claimed, before
	// trusting the header with an allocation of its size.
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(src, int64(total)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: data: %v", ErrFormat, err)
	}
	if n != int64(total) {
		if n > int64(total) {
			return nil, fmt.Errorf("%w: trailing bytes after %d elements", ErrFormat, total)
		}
		return nil, fmt.Errorf("%w: header claims %d elements %v but %d bytes follow", ErrFormat, total, dims, n)
	}
	return &IDX{Dims: dims, Data: buf.Bytes()}, nil
}

func shortRead(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
