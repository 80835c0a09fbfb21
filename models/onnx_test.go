package models_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"github.com/tapenet/tapenet/models"
)

// Open reads ONNX models, told by their bytes (the name need not end in
// .onnx), and checkpoints of imported models, whose layers may be of
// onnximport's kinds.
func TestOpenONNX(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "onnximport", "testdata", "viewnet_op13.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "viewnet.bin")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := models.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	images, err := datasets.MNIST(datasets.Test, datasets.Options{Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if acc := accuracy(t, m, images.Head(1000)); acc < 0.85 {
		t.Errorf("accuracy %.4f on 1000 images", acc)
	}
	var ck bytes.Buffer
	if err := checkpoint.Write(&ck, m); err != nil {
		t.Fatal(err)
	}
	ckPath := filepath.Join(dir, "tuned.safetensors")
	if err := os.WriteFile(ckPath, ck.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := models.Open(ckPath)
	if err != nil {
		t.Fatalf("checkpoint of an imported model: %v", err)
	}
	if len(back.Layers()) != len(m.Layers()) {
		t.Errorf("reloaded %d layers, imported %d", len(back.Layers()), len(m.Layers()))
	}
	bad := filepath.Join(dir, "bad.onnx")
	if err := os.WriteFile(bad, []byte("\x08\x07 not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := models.Open(bad); err == nil {
		t.Error("a broken .onnx file opened")
	}
}
