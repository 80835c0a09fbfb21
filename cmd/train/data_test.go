package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/graph/checkpoint"
)

// lastJSON returns the last JSON line of a --json run.
func lastJSON(t *testing.T, so string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(so), "\n")
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil {
		t.Fatalf("%v in\n%s", err, so)
	}
	return rec
}

// An .npz classification set and an .npz regression set train from the
// command line: the regression gets an identity head, mse by default, and
// reports mse, mae and r2, not an accuracy; cross_entropy on it is a usage
// error before anything is written.
func TestDataNPZ(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m.safetensors")
	so, se, code := runTrain(t, "--data", filepath.Join("testdata", "blobs.npz"), "--hidden", "16", "--epochs", "10", "--lr", "0.01", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("blobs: exit %d: %s", code, se)
	}
	if rec := lastJSON(t, so); rec["test_accuracy"].(float64) < 0.9 || rec["test_mse"] != nil {
		t.Errorf("blobs: %v", rec)
	}
	so, se, code = runTrain(t, "--data", filepath.Join("testdata", "linear.npz"), "--hidden", "16", "--epochs", "20", "--lr", "0.01", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("linear: exit %d: %s", code, se)
	}
	rec := lastJSON(t, so)
	if rec["test_r2"] == nil || rec["test_r2"].(float64) < 0.85 || rec["test_mae"] == nil || rec["test_accuracy"] != nil || rec["train_accuracy"] != nil {
		t.Errorf("linear: %v", rec)
	}
	so, _, _ = runTrain(t, "--data", filepath.Join("testdata", "linear.npz"), "--hidden", "16", "--epochs", "1", "--out", out)
	if !strings.Contains(so, "loss mse (the output means values, the targets are regression targets)") {
		t.Errorf("linear: %s", so)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := checkpoint.Read(f, nil)
	f.Close()
	if err != nil || m.OutputShape(0)[0] != 2 || m.OutputLayer(0).Kind() != "dense" {
		t.Errorf("regression model: %v, output %v", err, m.OutputShape(0))
	}
	os.Remove(out)
	for _, args := range [][]string{
		{"--loss", "cross_entropy"},
		{"--loss", "nll"},
		{"--plot", filepath.Join(dir, "c.png")},
	} {
		so, se, code := runTrain(t, append([]string{"--data", filepath.Join("testdata", "linear.npz"), "--out", out}, args...)...)
		if code != 2 || strings.Count(se, "\n") != 1 || so != "" {
			t.Errorf("%v on regression targets: exit %d, %q %q", args, code, so, se)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("files written: %v", ents)
	}
}

// writeIDX writes an IDX file of unsigned bytes, gzipped.
func writeIDX(t *testing.T, path string, dims []int, data []byte) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(zw, binary.BigEndian, uint32(d))
	}
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A rank-4 IDX folder of 3x32x32 colour images in 5 classes trains with
// --arch convnet: the model is built for the data's shape and classes.
func TestDataColourIDX(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 1))
	for _, split := range []struct {
		prefix string
		n      int
	}{{"train", 100}, {"t10k", 50}} {
		px, labels := make([]byte, split.n*3*32*32), make([]byte, split.n)
		for i := range labels {
			c := rng.IntN(5)
			labels[i] = byte(c)
			for ch := range 3 {
				for p := range 32 * 32 {
					v := rng.IntN(60)
					if (c+ch)%5 < 2 && (p/32+c*6)%32 < 12 { // a band per class and channel
						v += 180
					}
					px[(i*3+ch)*1024+p] = byte(v)
				}
			}
		}
		writeIDX(t, filepath.Join(dir, split.prefix+"-images-idx4-ubyte.gz"), []int{split.n, 3, 32, 32}, px)
		writeIDX(t, filepath.Join(dir, split.prefix+"-labels-idx1-ubyte.gz"), []int{split.n}, labels)
	}
	out := filepath.Join(t.TempDir(), "m.safetensors")
	so, se, code := runTrain(t, "--data", dir, "--arch", "convnet", "--epochs", "3", "--batch-size", "20", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	if rec := lastJSON(t, so); rec["test_accuracy"] == nil || rec["epoch"].(float64) != 3 {
		t.Errorf("%v", rec)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := checkpoint.Read(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.OutputShape(0); len(got) != 1 || got[0] != 5 || len(m.Input()) != 3 || m.Input()[0] != 3 {
		t.Errorf("model takes %v and gives %v, want (3, 32, 32) and 5 classes", m.Input(), got)
	}
}
