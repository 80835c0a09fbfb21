// Package numpyio reads numpy weight files safely and writes .npz files.
//
// Deep Learning from Scratch ships its trained network as a Python pickle
// (sample_weight.pkl: a dict of numpy arrays) and many people keep weights
// as .npz archives. This package turns both into plain Go float32 arrays
// without Python and without ever executing code from the file.
//
// # Formats
//
//   - Pickles of a dict (or collections.OrderedDict) mapping str keys to
//     numpy arrays, protocols 2 to 5, as written by numpy 1.x and 2.x:
//     [ReadPickle].
//   - .npy files, format versions 1.0, 2.0 and 3.0: [ReadNPY].
//   - .npz archives from numpy.savez and numpy.savez_compressed (zip,
//     stored or deflated entries): [ReadNPZ]; [WriteNPZ] writes them.
//   - [Load] opens a file and detects the format from its first bytes.
//
// # Arrays
//
// Every array comes back as an [Array]: a shape and float32 data in
// row-major (C) order. Fortran-ordered arrays (numpy's is_fortran flag, or
// fortran_order in .npy headers) are transposed into row-major order; the
// book's weight matrices are stored that way. Supported element types are
// float32, float64 and float16 and the integer and bool types, in little or
// big endian byte order; everything but float32 is converted to float32.
// Complex, object, string, datetime and structured dtypes are refused with
// [ErrDType].
//
// # Safety
//
// Unpickling normally runs arbitrary code. ReadPickle instead interprets
// the pickle with a small virtual machine that has no way to call anything:
// it understands the data opcodes (ints, strings, bytes, tuples, lists,
// dicts, memo PUT/GET/MEMOIZE, framing) and exactly these globals, each
// emulated in Go:
//
//   - numpy.core.multiarray._reconstruct and numpy._core.multiarray._reconstruct
//     (with numpy.ndarray as its class argument), then BUILD with the array
//     state (version, shape, dtype, is_fortran, rawdata);
//   - numpy.core.numeric._frombuffer and numpy._core.numeric._frombuffer,
//     which numpy uses for in-band protocol 5 buffers;
//   - numpy.dtype, then BUILD with its state (version, byteorder, ...);
//   - _codecs.encode(str, "latin1"), which protocol 2 uses for bytes;
//   - collections.OrderedDict;
//   - builtins.bytes (__builtin__.bytes in protocol 2), with no arguments
//     only: protocol 2 writes the empty data of a zero-size array as bytes().
//
// Any other global is refused with a [*RefusedGlobalError] (for example
// `pickle: offset 2: refused global "os.system"`), as are the object-building
// opcodes (NEWOBJ, INST, OBJ, EXT*, persistent ids). Out-of-band protocol 5
// buffers are reported as [ErrUnsupported].
//
// Sizes announced by the input (bytes lengths, npy header lengths, shapes)
// are checked against the bytes actually present before anything is
// allocated for them, shapes are limited to [MaxDims] dimensions and
// [MaxElements] elements (also the limit for all arrays of one file
// together), and the product of a shape must match the data length exactly.
// Amplification is bounded too: the array data a pickle may produce (and
// what _codecs.encode may expand) is limited to the size of the pickle, so a
// buffer memoized once and referenced by thousands of arrays is refused, and
// npz archives whose entries overlap (a classic zip bomb) are refused.
// Arrays that are the same object in the pickle share their Data.
//
// # Errors
//
// Errors are one line, carry context (file, array name or byte offset) and
// wrap one of the sentinels [ErrFormat], [ErrTruncated] (which also matches
// ErrFormat), [ErrRefusedGlobal], [ErrDType], [ErrLimit] and
// [ErrUnsupported], so they can be classified with errors.Is. The exceptions
// are I/O errors of the caller's reader and, in [Load], errors opening the
// file (errors.Is(err, fs.ErrNotExist) works).
//
// # Concurrency
//
// The package has no global mutable state; all functions are safe for
// concurrent use.
package numpyio
