package cmd_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The hostile and unusual inputs of issue 13, built small in the test:
// each claims much more than it holds.

// safetensorsFile returns a safetensors file of a JSON header and data.
func safetensorsFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

// checkpointHeader returns a tapenet checkpoint header of a spec and
// tensor entries (JSON members, without braces).
func checkpointHeader(spec, tensors string) string {
	meta, _ := json.Marshal(map[string]string{"format": "tapenet", "format_version": "1", "spec": spec})
	if tensors != "" {
		tensors = "," + tensors
	}
	return `{"__metadata__":` + string(meta) + tensors + `}`
}

const tinySpec = `{"format":"tapenet.sequential/v1","input":[2],"layers":[{"name":"fc1","kind":"dense","config":{"units":2}},{"name":"softmax1","kind":"softmax"}]}`

const tinyTensors = `"fc1.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"fc1.bias":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}`

// millionLayers returns a 45 MB checkpoint whose spec has 10^6 layers.
func millionLayers() []byte {
	var b strings.Builder
	b.WriteString(`{"format":"tapenet.sequential/v1","input":[4],"layers":[`)
	for i := range 1_000_000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"relu%d","kind":"relu"}`, i)
	}
	b.WriteString(`]}`)
	return safetensorsFile(checkpointHeader(b.String(), ""), nil)
}

// noise returns n incompressible bytes.
func noise(n int) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(13, 13))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// bigNPZ returns a ~1 MB archive whose entry W1 claims a (16384, 16384)
// float32 array, 1 GiB inflated, and holds 1.1 MB.
func bigNPZ(t *testing.T) []byte {
	hdr := "{'descr': '<f4', 'fortran_order': False, 'shape': (16384, 16384), }"
	hdr += strings.Repeat(" ", 63-(10+len(hdr))%64) + "\n"
	npy := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)), byte(len(hdr)>>8))
	npy = append(npy, hdr...)
	data := append(npy, noise(1100<<10)...)
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

// idxFile encodes an IDX header and data.
func idxFile(dims []int, data []byte) []byte {
	b := []byte{0, 0, 8, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, data...)
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// writeFiles writes files (path relative to dir: contents), making folders.
func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// pickleRepeat returns a protocol 4 pickle of an empty dict followed by
// n copies of op.
func pickleRepeat(op byte, n int) []byte {
	b := append([]byte{0x80, 4, '}'}, bytes.Repeat([]byte{op}, n)...)
	return append(b, '.')
}
