// Package osfile opens the files tapenet reads, refusing anything that is
// not a regular file before opening it: opening a named pipe (FIFO) for
// reading blocks until some other process writes to it, and a device may
// never end.
package osfile

import (
	"fmt"
	"io/fs"
	"os"
)

// Open opens path for reading if it is a regular file (symbolic links are
// followed) and returns it with its size. A folder, named pipe, device or
// socket is an error that says which, and is not opened. A missing file
// gives the *fs.PathError of os.Stat (errors.Is(err, fs.ErrNotExist)).
func Open(path string) (*os.File, int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	if err := Regular(path, fi.Mode()); err != nil {
		return nil, 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	// The file may have been replaced between Stat and Open.
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = Regular(path, fi.Mode())
		}
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// Regular returns nil if mode is a regular file's, else an error naming
// path and what it is.
func Regular(path string, mode fs.FileMode) error {
	var what string
	switch {
	case mode.IsRegular():
		return nil
	case mode.IsDir():
		what = "a folder"
	case mode&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		what = "a socket"
	case mode&fs.ModeDevice != 0:
		what = "a device"
	default:
		what = "not a regular file (" + mode.Type().String() + ")"
		return fmt.Errorf("%s is %s", path, what)
	}
	return fmt.Errorf("%s is %s, not a regular file", path, what)
}
