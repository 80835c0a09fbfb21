package numpyio

import (
	"errors"
	"fmt"
)

// kindError is a sentinel error that may refine a broader sentinel: errors.Is
// matches both the sentinel itself and its parent.
type kindError struct {
	msg    string
	parent error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.parent }

// Sentinel errors. Every error returned by this package wraps exactly one of
// them (and, for [ErrTruncated], also [ErrFormat]), so callers can classify
// failures with errors.Is.
var (
	// ErrFormat reports input that is not a well-formed pickle, npy or npz
	// file, or that does not have the structure of a dict of numpy arrays.
	ErrFormat = errors.New("malformed input")

	// ErrTruncated reports input that ends before the data it announces.
	// errors.Is(err, ErrFormat) is also true for it.
	ErrTruncated error = &kindError{msg: "truncated input", parent: ErrFormat}

	// ErrRefusedGlobal reports a pickle that references a Python global
	// outside the allow-list. The error is a [*RefusedGlobalError].
	ErrRefusedGlobal = errors.New("refused global")

	// ErrDType reports an array whose dtype cannot be converted to float32
	// (complex, object, string, structured, datetime, ...).
	ErrDType = errors.New("unsupported dtype")

	// ErrLimit reports input that exceeds a safety limit: more than
	// [MaxDims] dimensions, more than [MaxElements] elements, an oversized
	// header or file.
	ErrLimit = errors.New("size limit exceeded")

	// ErrUnsupported reports a valid but unsupported feature, such as a
	// pickle protocol outside 2..5, out-of-band pickle buffers, or an npz
	// entry compressed with a method other than stored or deflate.
	ErrUnsupported = errors.New("unsupported feature")

	// errInternal wraps a recovered panic. It should never happen; fuzz
	// tests check for it.
	errInternal = errors.New("internal error")
)

// RefusedGlobalError is returned (wrapped) when a pickle references a global
// that is not on the allow-list. It matches [ErrRefusedGlobal] with errors.Is.
type RefusedGlobalError struct {
	Module string // the Python module, e.g. "os"
	Name   string // the qualified name inside Module, e.g. "system"
}

// Error implements error, e.g. `refused global "os.system"`.
func (e *RefusedGlobalError) Error() string {
	return fmt.Sprintf("refused global %q", e.Module+"."+e.Name)
}

// Is reports whether target is [ErrRefusedGlobal].
func (e *RefusedGlobalError) Is(target error) bool { return target == ErrRefusedGlobal }

// recoverInternal turns a panic into an error wrapping errInternal. It is a
// last line of defence: no panic must escape a public function.
func recoverInternal(prefix string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("numpyio: %s: %w: %v", prefix, errInternal, r)
	}
}
