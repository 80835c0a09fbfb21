// Package cmd_test builds the real tapenet commands and runs them as a user
// would: this guards against Gorgonia's start-up panic on new Go releases
// and checks the command-line contract (exit codes, one-line errors, no
// partial files).
package cmd_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var bin string // folder holding the built commands

// measureEnv, when set in the environment of this test binary, makes it
// a launcher: it runs its arguments as a command and writes the command's
// peak memory to the file the variable names. Measuring through a fresh
// small process matters: a child started by the test process itself would
// report the test's own peak memory, which Linux hands to the child at
// exec when they share memory until then (vfork).
const measureEnv = "TAPENET_MEASURE_RSS"

func launch(out string) int {
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintln(os.Stderr, err)
		return 125
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		os.WriteFile(out, []byte(strconv.FormatInt(ru.Maxrss, 10)), 0o644)
	}
	return cmd.ProcessState.ExitCode()
}

func TestMain(m *testing.M) {
	if out := os.Getenv(measureEnv); out != "" {
		os.Exit(launch(out))
	}
	dir, err := os.MkdirTemp("", "tapenet-bin")
	if err != nil {
		panic(err)
	}
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./infer", "./train", "./export", "./serve")
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
	r := runMeasured(t, dir, name, args...)
	return r.stdout, r.stderr, r.code
}

// result is the outcome of a command run.
type result struct {
	stdout, stderr string
	code           int
	elapsed        time.Duration
	peakRSS        int64 // bytes; 0 where the system does not tell
}

// runMeasured runs a built command and also measures its time and peak
// memory.
func runMeasured(t *testing.T, dir, name string, args ...string) result {
	t.Helper()
	rss := filepath.Join(t.TempDir(), "rss")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, append([]string{filepath.Join(bin, name)}, args...)...)
	cmd.Env = append(os.Environ(), measureEnv+"="+rss)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err = cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(rss); err == nil {
		kb, _ := strconv.ParseInt(string(b), 10, 64)
		r.peakRSS = kb << 10 // kilobytes on Linux
	}
	return r
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

	// The cases of issue 13: small inputs that claim much, and the edge
	// cases a new user hit.
	h := filepath.Join(dir, "h")
	mlp, err := os.ReadFile(filepath.Join("..", "models", "weights", "mlp.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	low80 := checkpointHeader(tinySpec, tinyTensors)
	for len(low80)%256 != 0x80 {
		low80 += " "
	}
	gibSpec := `{"format":"tapenet.sequential/v1","input":[16384],"layers":[{"name":"fc1","kind":"dense","config":{"units":16383}}]}`
	writeFiles(t, h, map[string][]byte{
		"two16384.safetensors": safetensorsFile(checkpointHeader(`{"format":"tapenet.sequential/v1","input":[16384],"layers":[{"name":"fc1","kind":"dense","config":{"units":16384}},{"name":"fc2","kind":"dense","config":{"units":16384}}]}`, ""), nil),
		"gib.safetensors":      safetensorsFile(checkpointHeader(gibSpec, ""), nil),
		"gibclaim.safetensors": safetensorsFile(checkpointHeader(gibSpec, `"fc1.weight":{"dtype":"F32","shape":[16384,16383],"data_offsets":[0,1073676288]},"fc1.bias":{"dtype":"F32","shape":[16383],"data_offsets":[1073676288,1073741820]}`), nil),
		"million.safetensors":  millionLayers(),
		"zeros.npz":            bigNPZ(t),
		"low80.safetensors":    safetensorsFile(low80, make([]byte, 24)),
		"dup.safetensors":      safetensorsFile(checkpointHeader(tinySpec, tinyTensors+`,"fc1.bias":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}`), make([]byte, 24)),
		"scale.safetensors":    safetensorsFile(checkpointHeader(`{"format":"tapenet.sequential/v1","input":[784],"layers":[{"name":"scale1","kind":"scale","config":{"init":0.5}}]}`, `"scale1.gain":{"dtype":"F32","shape":[784],"data_offsets":[0,3136]}`), make([]byte, 3136)),
		"trunc.safetensors":    mlp[:len(mlp)-48],
		"text.npz":             []byte("this is a text file, not an npz archive\n"),
		"memoize.pkl":          pickleRepeat(0x94, 16<<20),
		"dup.pkl":              pickleRepeat('2', 16<<20),
		"mark.pkl":             pickleRepeat('(', 16<<20),
		// 2^20 images of 32x32 claimed by 1 MB of gzip (within deflate's
		// ceiling: only the sample shape in the header tells).
		"bigidx/t10k-images-idx3-ubyte.gz": gzipped(append(idxFile([]int{1 << 20, 32, 32}, nil), noise(1100<<10)...)),
		"bigidx/t10k-labels-idx1-ubyte":    idxFile([]int{1 << 20}, make([]byte, 1<<20)),
		"badgz/t10k-images-idx3-ubyte.gz":  {0x1f, 0x8b, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"badgz/t10k-labels-idx1-ubyte":     idxFile([]int{1}, []byte{1}),
		"fifo/t10k-labels-idx1-ubyte":      idxFile([]int{1}, []byte{1}),
		"zero/train-images-idx3-ubyte":     idxFile([]int{0, 28, 28}, nil),
		"zero/train-labels-idx1-ubyte":     idxFile([]int{0}, nil),
		"zero/t10k-images-idx3-ubyte":      idxFile([]int{0, 28, 28}, nil),
		"zero/t10k-labels-idx1-ubyte":      idxFile([]int{0}, nil),
	})
	for _, p := range []string{filepath.Join(h, "fifo", "t10k-images-idx3-ubyte"), filepath.Join(h, "fifo.safetensors")} {
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(dir, "outdir"), 0o755)
	hf := func(name string) string { return filepath.Join(h, name) }

	for _, test := range []struct {
		cmd   string
		args  []string
		code  int
		want  string // in the one stderr line
		heavy bool   // trains or runs on real data: not held to the bounds
	}{
		{"infer", []string{"--nope"}, 2, "unknown flag: --nope", false},
		{"infer", []string{"--batch-size", "0"}, 2, "--batch-size", false},
		{"infer", []string{"--batch-size", "-5"}, 2, "--batch-size", false},
		{"infer", []string{"--batch-size", "ten"}, 2, "--batch-size", false},
		{"infer", []string{"--limit", "-1"}, 2, "--limit", false},
		{"infer", []string{"--split", "validation"}, 2, "--split", false},
		{"infer", []string{"extra"}, 1, "open extra: no such file", false},                      // an image file that is not there
		{"infer", []string{"--limit", "5", "a.png"}, 2, "--limit applies to MNIST runs", false}, // MNIST flags with images
		{"infer", []string{"--polarity", "auto"}, 2, "--polarity applies to image files only", false},
		{"infer", []string{"--polarity", "up", "a.png"}, 2, "--polarity: unknown polarity", false},
		{"infer", []string{empty}, 1, "not a PNG, JPEG, GIF, BMP or WebP image", false},
		{"infer", []string{"--model", "missing.safetensors"}, 1, "missing.safetensors", false},
		{"infer", []string{"--model", "nosuchname"}, 1, `no embedded model "nosuchname"`, false},
		{"infer", []string{"--model", empty}, 1, "empty.safetensors", false},
		{"infer", []string{"--model", random}, 1, "random.safetensors", false},
		{"infer", []string{"--model", truncHeader}, 1, "trunc.safetensors", false},
		{"infer", []string{"--model", filepath.Join(dir, "adir.safetensors")}, 1, "adir.safetensors", false},
		{"infer", []string{"--data", filepath.Join(dir, "emptydata")}, 1, "t10k-images-idx3-ubyte", false},
		{"infer", []string{"--data", filepath.Join(dir, "nodir")}, 1, "nodir", false},
		{"infer", []string{"--data", filepath.Join(dir, "mismatch")}, 1, "3 images but 2 labels", false},
		{"infer", []string{"--data", filepath.Join(dir, "zero")}, 1, "no samples", false},
		{"infer", []string{"--data", filepath.Join(dir, "truncated")}, 1, "t10k-images-idx3-ubyte: malformed IDX data: header claims 2352 elements", false},
		{"infer", []string{"--limit", "10", "--predictions", filepath.Join(notDir, "p.txt")}, 1, "p.txt", false},
		{"infer", []string{"--limit", "10", "--predictions", filepath.Join(dir, "nodir", "p.txt")}, 1, "p.txt", false},
		{"train", []string{"--epochs", "0"}, 2, "--epochs", false},
		{"train", []string{"--optimizer", "lion"}, 2, "--optimizer", false},
		{"train", []string{"--activation", "swish"}, 2, "--activation", false},
		{"train", []string{"--activation", "step"}, 2, "cannot be trained", false},
		{"train", []string{"--lr", "-0.1"}, 2, "--lr", false},
		{"train", []string{"--lr", "0"}, 2, "--lr", false},
		{"train", []string{"--batch-size", "0"}, 2, "--batch-size", false},
		{"train", []string{"--limit", "-3"}, 2, "--limit", false},
		{"train", []string{"--hidden", "0"}, 2, "--hidden", false},
		{"train", []string{"--arch", "resnet50"}, 2, "--arch", false},
		{"train", []string{"--schedule", "linear"}, 2, "--schedule", false},
		{"train", []string{"--limit", "200", "--epochs", "1", "--out", filepath.Join(notDir, "m.safetensors")}, 1, "m.safetensors", false},
		{"train", []string{"--limit", "500", "--epochs", "1", "--optimizer", "sgd", "--lr", "1e9", "--activation", "identity", "--out", filepath.Join(dir, "nan.safetensors")}, 1, "train: epoch 1: step", true},

		// Issue 13.
		{"infer", []string{"--data", hf("zero")}, 1, "no samples", false},
		{"train", []string{"--data", hf("zero")}, 1, "no samples", false},
		{"train", []string{"--limit", "100", "--epochs", "1", "--plot", "X", "--out", "X"}, 2, "--out and --plot both name X", false},
		{"train", []string{"--limit", "100", "--epochs", "1", "--plot", "outdir"}, 2, "--plot outdir is a folder", false},
		{"export", []string{"--out", "outdir"}, 2, "--out outdir is a folder", false},
		{"infer", []string{"--limit", "100", "--predictions", "outdir"}, 2, "--predictions outdir is a folder", false},
		{"infer", []string{"--limit", "100", "--predictions", "p.txt", "--errors", "./p.txt"}, 2, "--predictions and --errors both name", false},
		{"infer", []string{"--model", hf("two16384.safetensors")}, 1, "parameter values", false},
		{"infer", []string{"--model", hf("gib.safetensors")}, 1, "parameter fc1.weight missing", false},
		{"infer", []string{"--model", hf("gibclaim.safetensors")}, 1, "its header describes 1073742195", false},
		{"infer", []string{"--model", hf("million.safetensors")}, 1, "more than 100000 layers", false},
		{"infer", []string{"--model", hf("zeros.npz")}, 1, "array b1 is missing (have [W1])", false},
		{"infer", []string{"--data", hf("bigidx")}, 1, "images are 32x32, samples of shape [1024]; want [784]", false},
		{"infer", []string{"--model", "convnet", "--batch-size", "1000000000"}, 2, "--batch-size 10000: batches that big", false},
		{"infer", []string{"--model", hf("memoize.pkl")}, 1, "values pushed, memoized or marked", false},
		{"infer", []string{"--model", hf("dup.pkl")}, 1, "values pushed, memoized or marked", false},
		{"infer", []string{"--model", hf("mark.pkl")}, 1, "values pushed, memoized or marked", false},
		{"export", []string{"--model", hf("dup.safetensors")}, 1, `tensor "fc1.bias" appears twice`, false},
		{"infer", []string{"--data", hf("fifo")}, 1, "is a named pipe (FIFO), not a regular file", false},
		{"infer", []string{"--model", hf("fifo.safetensors")}, 1, "is a named pipe (FIFO), not a regular file", false},
		{"infer", []string{"--model", hf("trunc.safetensors")}, 1, "file is 815000 bytes, but its header describes 815048", false},
		{"infer", []string{"--model", hf("text.npz")}, 1, `not a model file: it starts with "this is "`, false},
		{"export", []string{"--out", "model.bin"}, 2, "--out model.bin: no format has the extension .bin; give --format", false},
		{"infer", []string{"--model", hf("scale.safetensors")}, 1, `unknown layer kind "scale"`, false},
		{"infer", []string{"--data", hf("badgz")}, 1, "malformed IDX data: gzip: invalid header", false},
	} {
		t.Run(test.cmd+" "+strings.Join(test.args, " "), func(t *testing.T) {
			before, _ := os.ReadDir(dir)
			r := runMeasured(t, dir, test.cmd, test.args...)
			stderr, code := r.stderr, r.code
			if !test.heavy {
				// The issue asks for under 1 s and 200 MB; time is checked
				// loosely here, as CI machines are shared.
				if r.peakRSS > 200<<20 {
					t.Errorf("peak memory %d MB, want under 200 MB", r.peakRSS>>20)
				}
				if r.elapsed > 10*time.Second {
					t.Errorf("took %v", r.elapsed)
				}
				t.Logf("%v, %d MB", r.elapsed.Round(time.Millisecond), r.peakRSS>>20)
			}
			last := test.args[len(test.args)-1]
			if strings.Contains(stderr, "gzip: gzip") || strings.Contains(stderr, "epoch: ") || (strings.HasPrefix(last, h) && strings.Count(stderr, last) > 1) {
				t.Errorf("a message says something twice: %s", stderr)
			}
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
