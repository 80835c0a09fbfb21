package cmd_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/internal/testutil"
)

// A seeded run with dropout (and augmentation, validation and a resumable
// checkpoint) gives the same files in two processes of the built command:
// every random draw comes from --seed.
func TestTrainReproducibleAcrossProcesses(t *testing.T) {
	data := testutil.TinyMNIST(t, 400, 100)
	var files [][]byte
	for range 2 {
		dir := t.TempDir()
		_, stderr, code := run(t, dir, "train", "--epochs", "2", "--data", data, "--hidden", "16", "--dropout", "0.3",
			"--augment", "shift", "--validation", "100", "--optimizer", "adamw", "--seed", "5",
			"--out", "m.safetensors", "--checkpoint", "run.safetensors", "--json")
		if code != 0 {
			t.Fatalf("train exit %d: %s", code, stderr)
		}
		for _, name := range []string{"m.safetensors", "run.safetensors"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, b)
		}
	}
	if !bytes.Equal(files[0], files[2]) || !bytes.Equal(files[1], files[3]) {
		t.Error("two processes with the same seed wrote different files")
	}
	if !bytes.Contains(files[0], []byte(`dropout1`)) {
		t.Error("the model has no dropout layer")
	}
}

// --help teaches the steering flags with examples.
func TestTrainHelpSteering(t *testing.T) {
	out, _, code := run(t, t.TempDir(), "train", "--help")
	for _, want := range []string{"--resume run.safetensors", "--optimizer adamw", "--validation", "--patience", "--clip-norm", "--warmup", "--schedule step", "nesterov"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("train --help (exit %d) does not mention %q", code, want)
		}
	}
}
