package numpyio

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Load reads the weight file at path and returns its arrays by name. The
// format is detected from the first bytes, never from the file name:
//
//   - "PK\x03\x04" (or "PK\x05\x06", an empty archive): .npz, see [ReadNPZ];
//   - 0x80 (the pickle PROTO opcode): pickle, see [ReadPickle];
//   - "\x93NUMPY": a single .npy array, returned under the file's base name
//     without its extension (e.g. "W1" for "dir/W1.npy").
//
// Errors name the file; a file that cannot be opened yields the
// *fs.PathError from os.Open (wrapped).
func Load(path string) (m map[string]Array, err error) {
	defer recoverInternal("load "+path, &err)
	m, err = load(path)
	if err != nil {
		return nil, fmt.Errorf("numpyio: load %s: %w", path, err)
	}
	return m, nil
}

func load(path string) (map[string]Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
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
		return readNPZ(f, st.Size())
	case len(h) > 0 && h[0] == opProto:
		return readPickle(f)
	case bytes.Equal(h, []byte(npyMagic)):
		a, err := readNPY(f)
		if err != nil {
			return nil, err
		}
		base := filepath.Base(path)
		return map[string]Array{strings.TrimSuffix(base, filepath.Ext(base)): a}, nil
	case n == 0:
		return nil, fmt.Errorf("empty file: %w", ErrTruncated)
	}
	return nil, fmt.Errorf("unrecognised format (starts with %q; want npz, npy or a protocol 2-5 pickle): %w", h, ErrFormat)
}
