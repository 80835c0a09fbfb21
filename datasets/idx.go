package datasets

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
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
	s, err := openIDX(r, -1)
	if err != nil {
		return nil, err
	}
	defer s.close()
	return s.read()
}

// maxDeflateRatio bounds how much deflate can expand its input (258 bytes
// per 2-bit code, about 1032 to 1).
const maxDeflateRatio = 1032

// idxStream is an IDX file whose header has been read and checked: the
// elements are next.
type idxStream struct {
	src   io.Reader
	zr    *gzip.Reader // nil if not compressed
	dims  []int
	total int
	size  int64     // bytes of the raw file after the header, -1 if unknown (or compressed)
	file  io.Closer // closed by close, if not nil
}

func (s *idxStream) close() {
	if s.zr != nil {
		s.zr.Close()
	}
	if s.file != nil {
		s.file.Close()
	}
}

// openIDX reads and checks the header of an IDX file of size bytes (-1 if
// unknown), raw or gzip-compressed. What the header claims is checked
// against what the file can hold before anything else is read: the exact
// length of a raw file, and for a compressed one what deflate can expand
// its bytes to.
func openIDX(r io.Reader, size int64) (*idxStream, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(2)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrFormat, shortRead(err))
	}
	s := &idxStream{src: br, size: size}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, gzipError(err)
		}
		s.zr, s.src = zr, zr
	}
	head := make([]byte, 4, 4+4*4)
	if _, err := io.ReadFull(s.src, head); err != nil {
		return nil, s.fail(fmt.Errorf("%w: header: %v", ErrFormat, s.readError(err)))
	}
	if nd := int(head[3]); nd >= 1 && nd <= 4 {
		head = head[:4+4*nd]
		if _, err := io.ReadFull(s.src, head[4:]); err != nil {
			return nil, s.fail(fmt.Errorf("%w: dimensions: %v", ErrFormat, s.readError(err)))
		}
	}
	if s.dims, s.total, err = parseHeader(head); err != nil {
		return nil, s.fail(err)
	}
	switch {
	case s.zr == nil && size >= 0:
		s.size -= int64(len(head))
		if s.size != int64(s.total) {
			return nil, fmt.Errorf("%w: header claims %d elements %v but %d bytes follow", ErrFormat, s.total, s.dims, s.size)
		}
	case s.zr != nil && size >= 0 && int64(s.total) > maxDeflateRatio*size:
		return nil, s.fail(fmt.Errorf("%w: header claims %d elements %v, more than %d compressed bytes can hold", ErrFormat, s.total, s.dims, size))
	}
	return s, nil
}

// fail closes the stream and returns err.
func (s *idxStream) fail(err error) error {
	s.close()
	return err
}

// readError describes a read error of the header: a short read, or the
// decompressor's complaint.
func (s *idxStream) readError(err error) error {
	if s.zr != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("gzip: " + strings.TrimPrefix(err.Error(), "gzip: "))
	}
	return shortRead(err)
}

// gzipError words an error of compress/gzip or compress/flate once, without
// "gzip: gzip:".
func gzipError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "gzip: ")
	return fmt.Errorf("%w: gzip: %s", ErrFormat, msg)
}

// read reads the elements: what is present, at most one byte more than
// claimed, so a header is never trusted with an allocation of its size
// before the bytes arrive, and a compressed stream is not inflated past it.
func (s *idxStream) read() (*IDX, error) {
	var buf bytes.Buffer
	if s.size >= 0 {
		buf.Grow(s.total) // a raw file whose length was checked
	}
	n, err := io.Copy(&buf, io.LimitReader(s.src, int64(s.total)+1))
	if err != nil {
		if s.zr != nil {
			return nil, fmt.Errorf("%w: data: gzip: %s", ErrFormat, strings.TrimPrefix(err.Error(), "gzip: "))
		}
		return nil, fmt.Errorf("%w: data: %v", ErrFormat, err)
	}
	if n != int64(s.total) {
		if n > int64(s.total) {
			return nil, fmt.Errorf("%w: trailing bytes after %d elements", ErrFormat, s.total)
		}
		return nil, fmt.Errorf("%w: header claims %d elements %v but %d bytes follow", ErrFormat, s.total, s.dims, n)
	}
	return &IDX{Dims: s.dims, Data: buf.Bytes()}, nil
}

func shortRead(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ParseIDX decodes IDX bytes held in memory, like ReadIDX, without copying
// an uncompressed file: the returned Data aliases b.
func ParseIDX(b []byte) (*IDX, error) {
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		return ReadIDX(bytes.NewReader(b))
	}
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: header: %v", ErrFormat, io.ErrUnexpectedEOF)
	}
	n := 4 + 4*int(b[3])
	if b[3] >= 1 && b[3] <= 4 && len(b) < n {
		return nil, fmt.Errorf("%w: dimensions: %v", ErrFormat, io.ErrUnexpectedEOF)
	}
	dims, total, err := parseHeader(b[:min(n, len(b))])
	if err != nil {
		return nil, err
	}
	if body := len(b) - n; body != total {
		if body > total {
			return nil, fmt.Errorf("%w: trailing bytes after %d elements", ErrFormat, total)
		}
		return nil, fmt.Errorf("%w: header claims %d elements %v but %d bytes follow", ErrFormat, total, dims, body)
	}
	return &IDX{Dims: dims, Data: b[n:]}, nil
}

// parseHeader checks a complete IDX header (magic, type, dimension count
// and sizes) and returns the dimensions and their product.
func parseHeader(head []byte) (dims []int, total int, err error) {
	if head[0] != 0 || head[1] != 0 {
		return nil, 0, fmt.Errorf("%w: bad magic %#08x (want 0x000008NN)", ErrFormat, binary.BigEndian.Uint32(head[:4]))
	}
	if head[2] != 0x08 {
		return nil, 0, fmt.Errorf("%w: element type %#02x not supported (want 0x08, unsigned byte)", ErrFormat, head[2])
	}
	nd := int(head[3])
	if nd < 1 || nd > 4 {
		return nil, 0, fmt.Errorf("%w: %d dimensions (want 1 to 4)", ErrFormat, nd)
	}
	dims = make([]int, nd)
	total = 1
	for i := range dims {
		d := binary.BigEndian.Uint32(head[4+4*i:])
		if d > MaxElements {
			return nil, 0, fmt.Errorf("%w: dimension %d is %d (max %d)", ErrFormat, i, d, MaxElements)
		}
		dims[i] = int(d)
		total *= int(d)
		if total > MaxElements {
			return nil, 0, fmt.Errorf("%w: header claims more than %d elements", ErrFormat, MaxElements)
		}
	}
	return dims, total, nil
}
