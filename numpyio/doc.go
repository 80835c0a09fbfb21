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
//
// # Bounds on work and memory
//
// What each reader may allocate is bounded by its input, not by what the
// input claims:
//
//   - Pickle: the whole pickle is held in memory (at most [MaxPickleSize]
//     bytes). The VM charges every value it pushes on its stack, every
//     memo store and every mark to one budget of [MaxPickleValues] (2^18)
//     for the whole pickle, so its stack, memo and marks together cost at
//     most about 16 MiB whatever the opcodes (16 MiB of MEMOIZE, DUP or
//     MARK stop after 2^18 of them). The array data it produces is at most
//     the pickle's size: a buffer memoized once and referenced by many
//     arrays is refused, and so is _codecs.encode output beyond it.
//   - npz: every entry's sizes are checked before it is inflated: the size
//     the zip directory declares must be what the npy header gives, a
//     stored entry must hold that many bytes, and a deflated one may not
//     claim more than 1032 times its compressed size (deflate's ceiling).
//     Inflation stops at the declared size. Entries that overlap (a
//     classic zip bomb) are refused.
//   - npy: in [Load], the header's data size must match the file's length
//     before any data is read; [ReadNPY] on a stream grows its buffer only
//     as bytes arrive.
//
// [Load] with [Options].Check also lets the caller refuse a file from its
// headers (a missing array, a shape it cannot use) before any array data
// is inflated or converted. Only regular files are opened: a named pipe or
// a device is refused without being opened.
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
