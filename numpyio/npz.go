package numpyio

import (
	"archive/zip"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// ReadNPZ decodes an .npz archive as written by numpy.savez or
// numpy.savez_compressed: a zip file (entries stored or deflated) whose
// entries "name.npy" become map keys "name". size is the archive length in
// bytes. Every entry must be an .npy file; checksums are verified. Each
// entry's sizes (zip directory, npy header, deflate's 1032:1 ceiling) are
// checked before it is inflated, and no entry is inflated past the size it
// declares.
func ReadNPZ(r io.ReaderAt, size int64) (m map[string]Array, err error) {
	defer recoverInternal("npz", &err)
	m, err = readNPZ(r, size, nil)
	if err != nil {
		return nil, fmt.Errorf("numpyio: %w", err)
	}
	return m, nil
}

// maxDeflateRatio bounds how much deflate can expand its input: at best
// about 1032 to 1 (258 bytes per 2-bit code). An entry whose declared
// size is more than that times its compressed size is corrupt or a bomb.
const maxDeflateRatio = 1032

// npzEntry is an archive entry checked from its headers.
type npzEntry struct {
	f   *zip.File
	key string
	h   npyHeader
}

// readNPZ reads an archive in two passes: first every entry's zip and npy
// headers (inflating a few hundred bytes of each), which are checked
// against each other, against what deflate can give, and by check; only
// then the data, inflating no entry past the size it declares.
func readNPZ(r io.ReaderAt, size int64, check Check) (map[string]Array, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("npz: %w: %w", ErrTruncated, err)
		}
		return nil, fmt.Errorf("npz: %w: %w", ErrFormat, err)
	}
	if err := checkOverlap(zr.File); err != nil {
		return nil, err
	}
	var entries []npzEntry
	seen := map[string]bool{}
	total := 0
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue // directory entry
		}
		key, ok := strings.CutSuffix(f.Name, ".npy")
		if !ok {
			return nil, fmt.Errorf("npz: entry %q is not a .npy file: %w", f.Name, ErrFormat)
		}
		if seen[key] {
			return nil, fmt.Errorf("npz: duplicate entry %q: %w", f.Name, ErrFormat)
		}
		seen[key] = true
		if f.Method == zip.Deflate && f.UncompressedSize64 > maxDeflateRatio*f.CompressedSize64+1024 {
			return nil, fmt.Errorf("npz: entry %q declares %d bytes from %d compressed, more than deflate can give: %w", f.Name, f.UncompressedSize64, f.CompressedSize64, ErrFormat)
		}
		if f.Method == zip.Store && f.UncompressedSize64 != f.CompressedSize64 {
			return nil, fmt.Errorf("npz: stored entry %q declares %d bytes but holds %d: %w", f.Name, f.UncompressedSize64, f.CompressedSize64, ErrFormat)
		}
		h, err := readNPZHeader(f)
		if err != nil {
			return nil, fmt.Errorf("npz: entry %q: %w", f.Name, err)
		}
		total += h.n
		if total > MaxElements {
			return nil, fmt.Errorf("npz: more than %d elements in all entries: %w", MaxElements, ErrLimit)
		}
		entries = append(entries, npzEntry{f, key, h})
	}
	if check != nil {
		shapes := make(map[string][]int, len(entries))
		for _, e := range entries {
			shapes[e.key] = slices.Clone(e.h.shape)
		}
		if err := check(shapes); err != nil {
			return nil, err
		}
	}
	out := make(map[string]Array, len(entries))
	for _, e := range entries {
		a, err := readNPZEntry(e.f)
		if err != nil {
			return nil, fmt.Errorf("npz: entry %q: %w", e.f.Name, err)
		}
		out[e.key] = a
	}
	return out, nil
}

// readNPZHeader inflates just the npy header of an entry and checks it
// against the size the zip directory declares.
func readNPZHeader(f *zip.File) (npyHeader, error) {
	if f.UncompressedSize64 > math.MaxInt64 {
		return npyHeader{}, fmt.Errorf("declared size %d: %w", f.UncompressedSize64, ErrLimit)
	}
	rc, err := f.Open()
	if err != nil {
		if errors.Is(err, zip.ErrAlgorithm) {
			return npyHeader{}, fmt.Errorf("compression method %d: %w", f.Method, ErrUnsupported)
		}
		return npyHeader{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	defer rc.Close()
	h, err := readNPYHeader(rc, int64(f.UncompressedSize64))
	if err != nil && !classified(err) {
		err = fmt.Errorf("%w: %w", ErrFormat, err) // bad deflate data
	}
	return h, err
}

// checkOverlap refuses archives whose entries share compressed data: a few
// kilobytes referenced by thousands of directory entries would otherwise
// expand without bound (an overlapping-entry zip bomb).
func checkOverlap(files []*zip.File) error {
	type span struct {
		start, end int64
		name       string
	}
	spans := make([]span, 0, len(files))
	for _, f := range files {
		off, err := f.DataOffset()
		if err != nil {
			return fmt.Errorf("npz: entry %q: %w: %w", f.Name, ErrFormat, err)
		}
		spans = append(spans, span{off, off + int64(f.CompressedSize64), f.Name})
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end {
			return fmt.Errorf("npz: entries %q and %q overlap: %w", spans[i-1].name, spans[i].name, ErrFormat)
		}
	}
	return nil
}

func readNPZEntry(f *zip.File) (Array, error) {
	rc, err := f.Open()
	if err != nil {
		if errors.Is(err, zip.ErrAlgorithm) {
			return Array{}, fmt.Errorf("compression method %d: %w", f.Method, ErrUnsupported)
		}
		return Array{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	defer rc.Close()
	a, err := readNPYSized(rc, int64(f.UncompressedSize64))
	if err != nil {
		if !classified(err) {
			// Errors of the zip layer below: bad deflate data, checksum.
			err = fmt.Errorf("%w: %w", ErrFormat, err)
		}
		return Array{}, err
	}
	// Read to the end so archive/zip verifies the size and CRC-32; refuse
	// trailing bytes after the array data.
	var one [1]byte
	n, err := io.ReadFull(rc, one[:])
	switch {
	case n > 0:
		return Array{}, fmt.Errorf("trailing bytes after the array data: %w", ErrFormat)
	case errors.Is(err, io.EOF):
		return a, nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Array{}, fmt.Errorf("%w: %w", ErrTruncated, err)
	default:
		return Array{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
}

// WriteNPZ writes arrays as an uncompressed .npz archive readable by
// numpy.load: one entry "name.npy" per name, in the order of names, each a
// version 1.0 .npy file in C order, of dtype '<f4' or the Array's own
// float64, int64 or int32 (see [WriteNPY]). Every name must be
// non-empty, unique and present in arrays, and every Array must have
// len(Data) equal to the product of Shape and respect [MaxDims] and
// [MaxElements]. Arrays not listed in names are not written. The output is
// deterministic (fixed timestamps).
func WriteNPZ(w io.Writer, names []string, arrays map[string]Array) (err error) {
	defer recoverInternal("npz", &err)
	seen := make(map[string]bool, len(names))
	entries := make([][]byte, len(names))
	for i, name := range names {
		if name == "" {
			return fmt.Errorf("numpyio: write npz: empty array name: %w", ErrFormat)
		}
		if seen[name] {
			return fmt.Errorf("numpyio: write npz: duplicate name %q: %w", name, ErrFormat)
		}
		seen[name] = true
		a, ok := arrays[name]
		if !ok {
			return fmt.Errorf("numpyio: write npz: no array named %q: %w", name, ErrFormat)
		}
		b, err := encodeNPY(a)
		if err != nil {
			return fmt.Errorf("numpyio: write npz: array %q: %w", name, err)
		}
		entries[i] = b
	}
	zw := zip.NewWriter(w)
	mod := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, name := range names {
		b := entries[i]
		fh := &zip.FileHeader{
			Name:               name + ".npy",
			Method:             zip.Store,
			Modified:           mod,
			CRC32:              crc32.ChecksumIEEE(b),
			CompressedSize64:   uint64(len(b)),
			UncompressedSize64: uint64(len(b)),
		}
		ew, err := zw.CreateRaw(fh)
		if err != nil {
			return fmt.Errorf("numpyio: write npz: entry %q: %w", fh.Name, err)
		}
		if _, err := io.Copy(ew, bytes.NewReader(b)); err != nil {
			return fmt.Errorf("numpyio: write npz: entry %q: %w", fh.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("numpyio: write npz: %w", err)
	}
	return nil
}

// classified reports whether err wraps one of the package's sentinels.
func classified(err error) bool {
	for _, s := range []error{ErrFormat, ErrRefusedGlobal, ErrDType, ErrLimit, ErrUnsupported} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
