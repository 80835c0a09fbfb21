// Package cmd_test builds the real tapenet commands and runs them as a user
// would: this guards against Gorgonia's start-up panic on new Go releases
// and checks the command-line contract (exit codes, one-line errors, no
// partial files).
package cmd_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var bin string // folder holding the built commands

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tapenet-bin")
	if err != nil {
		panic(err)
	}
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./infer", "./train")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(dir)
		panic("go build: " + err.Error())
	}
	bin = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs a built command and returns stdout, stderr and the exit code.
func run(t *testing.T, dir, name string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

type inferJSON struct {
	Model     string    `json:"model"`
	Samples   int       `json:"samples"`
	Correct   int       `json:"correct"`
	Accuracy  float64   `json:"accuracy"`
	PerClass  []float64 `json:"per_class"`
	Confusion [][]int   `json:"confusion"`
	Seconds   float64   `json:"seconds"`
	PerSecond float64   `json:"images_per_second"`
}

func TestInferDefaultModel(t *testing.T) {
	out, stderr, code := run(t, t.TempDir(), "infer", "--json", "--limit", "2000", "--batch-size", "128")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r inferJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	total := 0
	for _, row := range r.Confusion {
		for _, v := range row {
			total += v
		}
	}
	if r.Samples != 2000 || total != 2000 || r.Model != "mlp" || len(r.PerClass) != 10 {
		t.Errorf("samples %d, confusion total %d, model %q, %d classes", r.Samples, total, r.Model, len(r.PerClass))
	}
	if r.Accuracy < 0.97 || r.Accuracy != float64(r.Correct)/2000 || !(r.Seconds > 0) {
		t.Errorf("accuracy %v (%d correct) in %v s", r.Accuracy, r.Correct, r.Seconds)
	}
	report, _, code := run(t, t.TempDir(), "infer", "--limit", "300")
	for _, want := range []string{"accuracy: 0.", "per-class accuracy:", "confusion matrix", "images per second:"} {
		if code != 0 || !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}

func TestTrainThenInfer(t *testing.T) {
	dir := t.TempDir()
	out, stderr, code := run(t, dir, "train", "--epochs", "2", "--limit", "3000", "--seed", "1", "--hidden", "32", "--out", "m.safetensors", "--json")
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one JSON line per epoch, got:\n%s", out)
	}
	var ep struct {
		Epoch         int      `json:"epoch"`
		Loss          *float64 `json:"loss"`
		TrainAccuracy float64  `json:"train_accuracy"`
		TestAccuracy  float64  `json:"test_accuracy"`
		Seconds       float64  `json:"seconds"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &ep); err != nil {
		t.Fatal(err)
	}
	if ep.Epoch != 2 || ep.Loss == nil || *ep.Loss <= 0 || ep.TestAccuracy < 0.8 || !(ep.Seconds > 0) {
		t.Errorf("epoch line %s", lines[1])
	}
	out, stderr, code = run(t, dir, "infer", "--model", "m.safetensors", "--json", "--predictions", "p.txt")
	if code != 0 {
		t.Fatalf("infer exit %d: %s", code, stderr)
	}
	var r inferJSON
	json.Unmarshal([]byte(out), &r)
	if r.Samples != 10000 || r.Accuracy != ep.TestAccuracy {
		t.Errorf("infer: %d samples, accuracy %v; train reported test accuracy %v", r.Samples, r.Accuracy, ep.TestAccuracy)
	}
	preds, err := os.ReadFile(filepath.Join(dir, "p.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(preds), "\n"); n != 10000 {
		t.Errorf("%d predictions written", n)
	}
	// Same seed, same bytes.
	run(t, dir, "train", "--epochs", "2", "--limit", "3000", "--seed", "1", "--hidden", "32", "--out", "again.safetensors", "--json")
	a, _ := os.ReadFile(filepath.Join(dir, "m.safetensors"))
	b, _ := os.ReadFile(filepath.Join(dir, "again.safetensors"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("two runs with the same seed wrote different checkpoints")
	}
}

func TestHelp(t *testing.T) {
	for _, name := range []string{"infer", "train"} {
		out, _, code := run(t, t.TempDir(), name, "--help")
		if code != 0 || !strings.Contains(out, "Usage:") || !strings.Contains(out, "--batch-size") {
			t.Errorf("%s --help: exit %d\n%s", name, code, out)
		}
	}
}

// TestBadInput runs the commands over bad input: each must exit with the
// right code, print exactly one line on stderr, never a Go panic, and
// leave no file behind.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := write("empty.safetensors", nil)
	random := write("random.safetensors", bytes.Repeat([]byte{0x5a, 0xa5, 0x13}, 1000))
	truncHeader := write("trunc.safetensors", []byte{200, 0, 0, 0, 0, 0, 0, 0, '{'})
	os.Mkdir(filepath.Join(dir, "adir.safetensors"), 0o755)
	os.Mkdir(filepath.Join(dir, "emptydata"), 0o755)
	// MNIST-format folders: 3 images but 2 labels; a truncated image file.
	idx := func(dims []int, data []byte) []byte {
		b := []byte{0, 0, 8, byte(len(dims))}
		for _, d := range dims {
			b = append(b, byte(d>>24), byte(d>>16), byte(d>>8), byte(d))
		}
		return append(b, data...)
	}
	for _, d := range []struct {
		name        string
		images, lab []byte
	}{
		{"mismatch", idx([]int{3, 28, 28}, make([]byte, 3*784)), idx([]int{2}, []byte{1, 2})},
		{"truncated", idx([]int{3, 28, 28}, make([]byte, 3*784-10)), idx([]int{3}, []byte{1, 2, 3})},
		{"zero", idx([]int{0, 28, 28}, nil), idx([]int{0}, nil)},
	} {
		os.Mkdir(filepath.Join(dir, d.name), 0o755)
		write(filepath.Join(d.name, "t10k-images-idx3-ubyte"), d.images)
		write(filepath.Join(d.name, "t10k-labels-idx1-ubyte"), d.lab)
	}
	notDir := empty // a file where a folder belongs: unwritable even for root

	for _, test := range []struct {
		cmd  string
		args []string
		code int
		want string // in the one stderr line
	}{
		{"infer", []string{"--nope"}, 2, "unknown flag: --nope"},
		{"infer", []string{"--batch-size", "0"}, 2, "--batch-size"},
		{"infer", []string{"--batch-size", "-5"}, 2, "--batch-size"},
		{"infer", []string{"--batch-size", "ten"}, 2, "--batch-size"},
		{"infer", []string{"--limit", "-1"}, 2, "--limit"},
		{"infer", []string{"--split", "validation"}, 2, "--split"},
		{"infer", []string{"extra"}, 2, "unexpected argument"},
		{"infer", []string{"--model", "missing.safetensors"}, 1, "missing.safetensors"},
		{"infer", []string{"--model", "nosuchname"}, 1, `no embedded model "nosuchname"`},
		{"infer", []string{"--model", empty}, 1, "empty.safetensors"},
		{"infer", []string{"--model", random}, 1, "random.safetensors"},
		{"infer", []string{"--model", truncHeader}, 1, "trunc.safetensors"},
		{"infer", []string{"--model", filepath.Join(dir, "adir.safetensors")}, 1, "adir.safetensors"},
		{"infer", []string{"--data", filepath.Join(dir, "emptydata")}, 1, "t10k-images-idx3-ubyte"},
		{"infer", []string{"--data", filepath.Join(dir, "nodir")}, 1, "nodir"},
		{"infer", []string{"--data", filepath.Join(dir, "mismatch")}, 1, "3 images but 2 labels"},
		{"infer", []string{"--data", filepath.Join(dir, "zero")}, 1, "no samples"},
		{"infer", []string{"--data", filepath.Join(dir, "truncated")}, 1, "t10k-images-idx3-ubyte: malformed IDX data: header claims 2352 elements"},
		{"infer", []string{"--limit", "10", "--predictions", filepath.Join(notDir, "p.txt")}, 1, "p.txt"},
		{"infer", []string{"--limit", "10", "--predictions", filepath.Join(dir, "nodir", "p.txt")}, 1, "p.txt"},
		{"train", []string{"--epochs", "0"}, 2, "--epochs"},
		{"train", []string{"--optimizer", "rmsprop"}, 2, "--optimizer"},
		{"train", []string{"--activation", "swish"}, 2, "--activation"},
		{"train", []string{"--activation", "step"}, 2, "cannot be trained"},
		{"train", []string{"--lr", "-0.1"}, 2, "--lr"},
		{"train", []string{"--lr", "0"}, 2, "--lr"},
		{"train", []string{"--batch-size", "0"}, 2, "--batch-size"},
		{"train", []string{"--limit", "-3"}, 2, "--limit"},
		{"train", []string{"--hidden", "0"}, 2, "--hidden"},
		{"train", []string{"--arch", "resnet"}, 2, "--arch"},
		{"train", []string{"--schedule", "step"}, 2, "--schedule"},
		{"train", []string{"--limit", "200", "--epochs", "1", "--out", filepath.Join(notDir, "m.safetensors")}, 1, "m.safetensors"},
		{"train", []string{"--limit", "500", "--epochs", "1", "--optimizer", "sgd", "--lr", "1e9", "--activation", "identity", "--out", filepath.Join(dir, "nan.safetensors")}, 1, "lower learning rate"},
	} {
		t.Run(test.cmd+" "+strings.Join(test.args, " "), func(t *testing.T) {
			before, _ := os.ReadDir(dir)
			_, stderr, code := run(t, dir, test.cmd, test.args...)
			if code != test.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, test.code, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
				t.Errorf("stderr is not one line: %q", stderr)
			}
			if !strings.Contains(stderr, test.want) {
				t.Errorf("stderr %q does not mention %q", stderr, test.want)
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
				t.Errorf("Go panic: %s", stderr)
			}
			after, _ := os.ReadDir(dir)
			if len(after) != len(before) {
				t.Errorf("files left behind: %d before, %d after", len(before), len(after))
			}
		})
	}
}

// A model exported by PyTorch runs in infer, fine-tunes with train --init
// (its weights, not fresh ones: the first epoch starts from its accuracy),
// and the resulting checkpoint runs in infer.
func TestONNXModelInferTrain(t *testing.T) {
	dir := t.TempDir()
	model, _ := filepath.Abs(filepath.Join("..", "onnximport", "testdata", "mlp_op11.onnx"))
	out, stderr, code := run(t, dir, "infer", "--model", model, "--json")
	if code != 0 {
		t.Fatalf("infer exit %d: %s", code, stderr)
	}
	var before inferJSON
	if err := json.Unmarshal([]byte(out), &before); err != nil {
		t.Fatal(err)
	}
	if before.Samples != 10000 || before.Accuracy < 0.9 {
		t.Errorf("infer %s: %d samples, accuracy %v", model, before.Samples, before.Accuracy)
	}
	out, stderr, code = run(t, dir, "train", "--init", model, "--epochs", "1", "--limit", "10000", "--out", "tuned.safetensors", "--json")
	if code != 0 {
		t.Fatalf("train --init exit %d: %s", code, stderr)
	}
	var ep struct {
		TestAccuracy float64 `json:"test_accuracy"`
	}
	if err := json.Unmarshal([]byte(out), &ep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if ep.TestAccuracy < before.Accuracy {
		t.Errorf("fine-tuned test accuracy %v, imported %v", ep.TestAccuracy, before.Accuracy)
	}
	out, stderr, code = run(t, dir, "infer", "--model", "tuned.safetensors", "--json")
	if code != 0 {
		t.Fatalf("infer of the fine-tuned checkpoint: exit %d: %s", code, stderr)
	}
	var after inferJSON
	json.Unmarshal([]byte(out), &after)
	if after.Accuracy != ep.TestAccuracy {
		t.Errorf("infer: accuracy %v; train reported %v", after.Accuracy, ep.TestAccuracy)
	}
	t.Logf("mlp_op11.onnx: imported %.4f, after one epoch over 10,000 images %.4f", before.Accuracy, after.Accuracy)
	_, stderr, code = run(t, dir, "infer", "--model", filepath.Join("..", "onnximport", "testdata", "make_fixtures.py"))
	if code != 1 || !strings.Contains(stderr, "make_fixtures.py") {
		t.Errorf("a file that is no model: exit %d, %q", code, stderr)
	}
}
