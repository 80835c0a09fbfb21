package osfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	for _, p := range []string{file, link} {
		f, size, err := Open(p)
		if err != nil || size != 3 {
			t.Fatalf("%s: size %d, %v", p, size, err)
		}
		f.Close()
	}
	for _, test := range []struct{ path, want string }{
		{dir, "is a folder, not a regular file"},
		{fifo, "is a named pipe (FIFO), not a regular file"},
		{"/dev/zero", "is a device, not a regular file"},
	} {
		done := make(chan error, 1)
		go func() { _, _, err := Open(test.path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), test.want) {
				t.Errorf("%s: got %v, want %q", test.path, err, test.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Open blocked", test.path)
		}
	}
	if _, _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
