package numpyio

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/tapenet/tapenet/internal/osfile"
)

// Check inspects the arrays of a file before their data is read: it gets
// every array's shape by name and returns an error to stop reading. With
// it a caller refuses a file that is not what it needs (a missing array, a
// shape it cannot use) without inflating or converting anything.
type Check func(shapes map[string][]int) error

// Options configure Load.
type Options struct {
	// Check, when set, is called once after the headers are read (the npy
	// header, every npz entry's headers, or the whole pickle, which holds
	// its data inline) and before any array data is inflated or converted.
	// Its error is returned wrapped with the file name.
	Check Check
}

// Load reads the weight file at path and returns its arrays by name. The
// format is detected from the first bytes, never from the file name:
//
//   - "PK\x03\x04" (or "PK\x05\x06", an empty archive): .npz, see [ReadNPZ];
//   - 0x80 (the pickle PROTO opcode) and a protocol 2 to 5: pickle, see
//     [ReadPickle];
//   - "\x93NUMPY": a single .npy array, returned under the file's base name
//     without its extension (e.g. "W1" for "dir/W1.npy").
//
// Only a regular file is read (a named pipe or a device is refused without
// being opened), and the headers are checked against the file's length
// before anything of the size they give is read. Errors name the file; a
// file that cannot be opened yields the *fs.PathError of the system
// (wrapped). At most one Options is used.
func Load(path string, opts ...Options) (m map[string]Array, err error) {
	defer recoverInternal("load "+path, &err)
	var opt Options
	if len(opts) > 0 {
		opt = opts[0]
	}
	m, err = load(path, opt.Check)
	if err != nil {
		return nil, fmt.Errorf("numpyio: load %s: %w", path, err)
	}
	return m, nil
}

func load(path string, check Check) (map[string]Array, error) {
	f, size, err := osfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var head [6]byte
	n, err := io.ReadFull(f, head[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	h := head[:n]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(h, []byte("PK\x03\x04")) || bytes.HasPrefix(h, []byte("PK\x05\x06")):
		return readNPZ(f, size, check)
	case IsPickle(h):
		if size > MaxPickleSize {
			return nil, fmt.Errorf("pickle: %d bytes, more than %d: %w", size, MaxPickleSize, ErrLimit)
		}
		return readPickleChecked(f, size, check)
	case bytes.Equal(h, []byte(npyMagic)):
		hd, err := readNPYHeader(f, size)
		if err != nil {
			return nil, err
		}
		base := filepath.Base(path)
		name := strings.TrimSuffix(base, filepath.Ext(base))
		if check != nil {
			if err := check(map[string][]int{name: hd.shape}); err != nil {
				return nil, err
			}
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		a, err := readNPYSized(f, size)
		if err != nil {
			return nil, err
		}
		return map[string]Array{name: a}, nil
	case n == 0:
		return nil, fmt.Errorf("empty file: %w", ErrTruncated)
	}
	return nil, fmt.Errorf("unrecognised format (starts with %q; want npz, npy or a protocol 2-5 pickle): %w", h, ErrFormat)
}

// IsPickle reports whether a file starting with head is a pickle this
// package reads: the PROTO opcode 0x80 and a protocol from 2 to 5.
func IsPickle(head []byte) bool {
	return len(head) >= 2 && head[0] == opProto && head[1] >= 2 && head[1] <= 5
}
