package models_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tapenet/tapenet/models"
)

// safetensors returns a checkpoint of a 2-2 dense layer and a softmax,
// its header padded so that its length's low byte is pad (0x80 is a
// pickle's first byte).
func safetensors(t *testing.T, pad byte) []byte {
	spec := `{"format":"tapenet.sequential/v1","input":[2],"layers":[{"name":"fc1","kind":"dense","config":{"units":2}},{"name":"softmax1","kind":"softmax"}]}`
	meta, _ := json.Marshal(map[string]string{"format": "tapenet", "format_version": "1", "spec": spec})
	h := `{"__metadata__":` + string(meta) + `,"fc1.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"fc1.bias":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}`
	for len(h)%256 != int(pad) {
		h += " "
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(b, h...), make([]byte, 24)...)
}

// bigNPZ returns a ~1 MB archive whose one entry, W1, claims to be a
// (16384, 16384) float32 array: 1 GiB once inflated (its 1.1 MB of
// incompressible bytes keep the claim within deflate's ceiling).
func bigNPZ(t *testing.T) []byte {
	hdr := "{'descr': '<f4', 'fortran_order': False, 'shape': (16384, 16384), }"
	hdr += strings.Repeat(" ", 63-(10+len(hdr))%64) + "\n"
	npy := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)), byte(len(hdr)>>8))
	npy = append(npy, hdr...)
	noise := make([]byte, 1100<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	data := append(npy, noise...)
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestSpeed)
	fw.Write(data)
	fw.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "W1.npy", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(data),
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: uint64(len(npy)) + 1<<30})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(comp.Bytes())
	zw.Close()
	return buf.Bytes()
}

func TestDetect(t *testing.T) {
	st := safetensors(t, 0x80)
	for _, test := range []struct {
		name string
		head []byte
		size int64
		want models.Format
	}{
		{"safetensors whose length starts with 0x80", st[:16], int64(len(st)), models.Safetensors},
		{"safetensors, size unknown", st[:16], -1, models.Safetensors},
		{"truncated safetensors: still told, to be explained", st[:16], 20, models.Safetensors},
		{"pickle protocol 2", []byte{0x80, 2, '}', 'q', 0, '('}, 100, models.Numpy},
		{"pickle protocol 4 with a frame", []byte{0x80, 4, 0x95, 0x10, 0, 0, 0, 0, 0, 0, 0, '}'}, 100, models.Numpy},
		{"zip", []byte("PK\x03\x04rest"), 100, models.Numpy},
		{"empty zip", []byte("PK\x05\x06rest"), 100, models.Numpy},
		{"npy", []byte("\x93NUMPY\x01\x00"), 100, models.Numpy},
		{"pickle protocol 1", []byte{0x80, 1, '}'}, 100, models.Unknown},
		{"text", []byte("this is a text file"), 40, models.Unknown},
		{"empty", nil, 0, models.Unknown},
	} {
		if got := models.Detect(test.head, test.size); got != test.want {
			t.Errorf("%s: Detect = %v, want %v", test.name, got, test.want)
		}
	}
}

// TestOpenFiles: files a new user might give as --model.
func TestOpenFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := models.Open(write("low80.safetensors", safetensors(t, 0x80))); err != nil {
		t.Errorf("a safetensors whose header length's low byte is 0x80: %v", err)
	}
	fifo := filepath.Join(dir, "fifo.safetensors")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	st := safetensors(t, 0)
	for _, test := range []struct {
		name, path, want string
	}{
		{"text named .npz", write("text.npz", []byte("this is a text file, not an npz archive\n")), `not a model file: it starts with "this is "`},
		{"empty", write("empty.safetensors", nil), "the file is empty"},
		{"truncated", write("trunc.safetensors", st[:len(st)-5]), "but its header describes"},
		{"folder", dir, "is a folder, not a regular file"},
		{"named pipe", fifo, "is a named pipe (FIFO), not a regular file"},
		{"1 GiB npz of one array", write("zeros.npz", bigNPZ(t)), "array b1 is missing (have [W1])"},
		{"missing", filepath.Join(dir, "nope.pkl"), "no such file"},
	} {
		t.Run(test.name, func(t *testing.T) {
			done := make(chan error, 1)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			go func() { _, err := models.Open(test.path); done <- err }()
			select {
			case err := <-done:
				runtime.ReadMemStats(&after)
				if err == nil || !strings.Contains(err.Error(), test.want) || !strings.Contains(err.Error(), test.path) {
					t.Errorf("got %v, want %q and the path", err, test.want)
				}
				if n := after.TotalAlloc - before.TotalAlloc; n > 32<<20 {
					t.Errorf("allocated %d MB", n>>20)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Open blocked")
			}
		})
	}
}
