package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"github.com/tapenet/tapenet/graph/train"
	"github.com/tapenet/tapenet/internal/testutil"
)

// smallRun is a quick run: 300 images (200 to test), a 16-unit hidden
// layer.
func smallRun(t *testing.T) []string {
	return []string{"--data", testutil.TinyMNIST(t, 300, 200), "--hidden", "16", "--batch-size", "50"}
}

func runTrain(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var so, se bytes.Buffer
	code = cli.Run("train", run, args, &so, &se)
	return so.String(), se.String(), code
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A run interrupted after epoch 3 of 6 and resumed from its --checkpoint
// file ends with the bytes of the run that was not interrupted: the model
// (--out), the resumable checkpoint (weights, optimizer state, counters,
// generators, settings) and the learning-curve picture (its earlier
// epochs come from the checkpoint). The run uses dropout, augmentation,
// AdamW with decay, clipping, a warm-up and the per-epoch cosine, and a
// validation split with early stopping.
func TestResumeMatchesUninterrupted(t *testing.T) {
	small := smallRun(t)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	args := slices.Clip(append(small, "--epochs", "6", "--dropout", "0.2", "--augment", "shift",
		"--optimizer", "adamw", "--weight-decay", "0.05", "--no-decay-bias-norm", "--clip-norm", "1", "--warmup", "4",
		"--validation", "60", "--patience", "5", "--seed", "3"))
	if _, se, code := runTrain(t, append(args, "--out", p("a.safetensors"), "--checkpoint", p("a.run"), "--plot", p("a.png"))...); code != 0 {
		t.Fatalf("straight run: exit %d: %s", code, se)
	}
	var so, se bytes.Buffer
	if err := runUntil(append(args, "--out", p("b.safetensors"), "--checkpoint", p("b.run"), "--plot", p("b.png")), &so, &se, 3); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(so.String(), "\nepoch "); n != 3 {
		t.Fatalf("interrupted run printed %d epochs:\n%s", n, so.String())
	}
	out, se2, code := runTrain(t, "--resume", p("b.run"), "--out", p("b.safetensors"), "--plot", p("b.png"))
	if code != 0 {
		t.Fatalf("resumed run: exit %d: %s", code, se2)
	}
	if !strings.Contains(out, "resuming "+p("b.run")+" after epoch 3 of 6") || !strings.Contains(out, "epoch 4/6") || strings.Contains(out, "epoch 3/6") {
		t.Fatalf("resumed run printed:\n%s", out)
	}
	for _, pair := range [][2]string{{"a.safetensors", "b.safetensors"}, {"a.run", "b.run"}, {"a.png", "b.png"}} {
		if !bytes.Equal(readFile(t, p(pair[0])), readFile(t, p(pair[1]))) {
			t.Errorf("%s (6 epochs) and %s (3, then resumed for 3) differ", pair[0], pair[1])
		}
	}
}

// A finished run extends with --epochs: a step-decay run of 3 epochs
// resumed to 6 equals 6 straight epochs (its rate does not depend on the
// length of the run, as the cosine's does).
func TestResumeExtends(t *testing.T) {
	small := smallRun(t)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	args := slices.Clip(append(small, "--schedule", "step", "--decay-epochs", "2", "--gamma", "0.5", "--optimizer", "nesterov", "--lr", "0.05"))
	if _, se, code := runTrain(t, append(args, "--epochs", "6", "--out", p("a.safetensors"), "--checkpoint", p("a.run"))...); code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	if _, se, code := runTrain(t, append(args, "--epochs", "3", "--out", p("b.safetensors"), "--checkpoint", p("b.run"))...); code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	// Done already: extend it or it is a usage error.
	if _, se, code := runTrain(t, "--resume", p("b.run"), "--out", p("b.safetensors")); code != 2 || !strings.Contains(se, "has done 3 epochs") {
		t.Fatalf("resuming a finished run: exit %d: %s", code, se)
	}
	if _, se, code := runTrain(t, "--resume", p("b.run"), "--epochs", "6", "--out", p("b.safetensors")); code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	for _, pair := range [][2]string{{"a.safetensors", "b.safetensors"}, {"a.run", "b.run"}} {
		if !bytes.Equal(readFile(t, p(pair[0])), readFile(t, p(pair[1]))) {
			t.Errorf("%s (6 epochs) and %s (3, then extended to 6) differ", pair[0], pair[1])
		}
	}
	// The checkpoint is still a model file, and holds the run's state.
	f, err := os.Open(p("b.run"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, st, err := train.ReadCheckpoint(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	var settings map[string]string
	if err := json.Unmarshal([]byte(st.Extra["settings"]), &settings); err != nil {
		t.Fatal(err)
	}
	if st.Epochs != 6 || st.Steps != 36 || st.Optimizer.Kind != "nesterov" || settings["epochs"] != "6" || settings["hidden"] != "16" || m.ParamCount() != 784*16+16+16*10+10 {
		t.Errorf("state: %d epochs, %d steps, %s; settings %v", st.Epochs, st.Steps, st.Optimizer.Kind, settings)
	}
}

// A seeded run with dropout gives the same files twice in one process.
func TestSeededDropoutRunRepeats(t *testing.T) {
	small := smallRun(t)
	dir := t.TempDir()
	var files [][]byte
	for i := range 2 {
		out := filepath.Join(dir, "m"+string(rune('0'+i)))
		args := append(small, "--epochs", "2", "--dropout", "0.3", "--out", out, "--checkpoint", out+".run")
		if _, se, code := runTrain(t, args...); code != 0 {
			t.Fatalf("exit %d: %s", code, se)
		}
		files = append(files, readFile(t, out), readFile(t, out+".run"))
	}
	if !bytes.Equal(files[0], files[2]) || !bytes.Equal(files[1], files[3]) {
		t.Error("two seeded runs with dropout in one process differ")
	}
	m, err := checkpoint.Read(bytes.NewReader(files[0]), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Layer("dropout1"); got == nil || got.Kind() != "dropout" {
		t.Errorf("--dropout: no dropout1 layer in %v", m.Nodes())
	}
}

// Two outputs naming one file are a usage error (exit 2) before anything
// is written: the same path, another spelling of it, or a hard link.
func TestOutputsNamingOneFile(t *testing.T) {
	small := smallRun(t)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	if err := os.WriteFile(p("a"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(p("a"), p("b")); err != nil {
		t.Fatal(err)
	}
	for _, test := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", p("m.safetensors"), "--plot", p("m.safetensors")}, "--out and --plot both name"},
		{[]string{"--out", p("x/../m.safetensors"), "--plot", p("m.safetensors")}, "--out and --plot"},
		{[]string{"--out", p("m.safetensors"), "--checkpoint", p("m.safetensors")}, "--out and --checkpoint"},
		{[]string{"--out", p("m.safetensors"), "--plot", p("c.png"), "--validation", "50", "--best", p("c.png")}, "--plot and --best"},
		{[]string{"--out", p("a"), "--plot", p("b")}, "--out and --plot both name"},
	} {
		so, se, code := runTrain(t, append(small, test.args...)...)
		if code != 2 || !strings.Contains(se, test.want) || strings.Count(se, "\n") != 1 || so != "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line with %q", test.args, code, se, test.want)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 || string(readFile(t, p("a"))) != "old" {
		t.Errorf("files written: %v", ents)
	}
}

// Mistakes in the new flags are usage errors naming the flag; a weights-only
// file cannot be resumed; the model's flags cannot change on --resume.
func TestSteerFlagErrors(t *testing.T) {
	small := smallRun(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "m.safetensors")
	for _, test := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--optimizer", "lion"}, 2, "--optimizer \"lion\" is not one of sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw"},
		{[]string{"--schedule", "linear"}, 2, "--schedule"},
		{[]string{"--weight-decay", "-1"}, 2, "--weight-decay"},
		{[]string{"--clip-norm", "-0.5"}, 2, "--clip-norm"},
		{[]string{"--momentum", "1"}, 2, "--momentum"},
		{[]string{"--warmup", "-3"}, 2, "--warmup"},
		{[]string{"--dropout", "1"}, 2, "--dropout"},
		{[]string{"--validation", "abc"}, 2, "--validation \"abc\" is neither"},
		{[]string{"--validation", "1.5"}, 2, "--validation"},
		{[]string{"--validation", "300"}, 2, "none would be left"},
		{[]string{"--patience", "2"}, 2, "--patience needs --validation"},
		{[]string{"--best", filepath.Join(dir, "b")}, 2, "--best needs --validation"},
		{[]string{"--resume", filepath.Join(dir, "missing")}, 1, "--resume"},
	} {
		so, se, code := runTrain(t, append(append(small, "--epochs", "1", "--out", out), test.args...)...)
		if code != test.code || !strings.Contains(se, test.want) || strings.Count(se, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", test.args, code, se, test.code, test.want)
		}
		if strings.Contains(so, "epoch 1/") {
			t.Errorf("%v: trained before failing", test.args)
		}
	}
	// A weights-only file, then a resumable one resumed with another model.
	if _, se, code := runTrain(t, append(small, "--epochs", "1", "--out", out, "--checkpoint", out+".run")...); code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	if _, se, code := runTrain(t, "--resume", out, "--epochs", "2", "--out", out+"2"); code != 1 || !strings.Contains(se, "weights only") {
		t.Errorf("resuming a weights-only file: exit %d, %q", code, se)
	}
	if _, se, code := runTrain(t, "--resume", out+".run", "--epochs", "2", "--hidden", "32", "--out", out+"2"); code != 2 || !strings.Contains(se, "--hidden cannot change") {
		t.Errorf("resuming with another --hidden: exit %d, %q", code, se)
	}
	if _, se, code := runTrain(t, "--resume", out+".run", "--epochs", "2", "--out", out+".run"); code != 2 || !strings.Contains(se, "--out and --checkpoint") {
		t.Errorf("--out naming the resumed file (where the state keeps going): exit %d, %q", code, se)
	}
}

// A validation split is scored every epoch (text and JSON), drawn on the
// picture, and stops the run when it stalls; --best keeps the best epoch.
func TestValidationAndEarlyStopping(t *testing.T) {
	small := smallRun(t)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	so, se, code := runTrain(t, append(small, "--epochs", "2", "--validation", "0.2", "--out", p("m"), "--plot", p("c.png"))...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	if !strings.Contains(so, "on 240 samples") || strings.Count(so, "  val ") != 2 {
		t.Errorf("a 0.2 split of 300 images: output\n%s", so)
	}
	img := testutil.DecodePNG(t, p("c.png"))
	green := 0
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := img.Bounds().Dx() / 2; x < img.Bounds().Dx(); x++ {
			if r, g, b, _ := img.At(x, y).RGBA(); r>>8 == 0x23 && g>>8 == 0x8b && b>>8 == 0x45 {
				green++
			}
		}
	}
	if green < 20 {
		t.Errorf("validation curve: %d pixels of its color", green)
	}
	// A rate too small to move the accuracy: no improvement after epoch 1.
	so, se, code = runTrain(t, append(small, "--epochs", "5", "--lr", "1e-12", "--validation", "50", "--patience", "2",
		"--best", p("best"), "--out", p("m"), "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se)
	}
	lines := strings.Split(strings.TrimSpace(so), "\n")
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || last["stopped"] != true || last["validation_accuracy"] == nil || last["best"] != false {
		t.Errorf("early stopping after 1 + 2 epochs without improvement: output\n%s", so)
	}
	if _, err := checkpoint.Read(bytes.NewReader(readFile(t, p("best"))), nil); err != nil {
		t.Errorf("--best: %v", err)
	}
}
