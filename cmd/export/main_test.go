package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"github.com/tapenet/tapenet/models"
	"gorgonia.org/gorgonia"
)

// writeCheckpoint writes a random-initialised BookNet checkpoint and returns
// its path.
func writeCheckpoint(t *testing.T) (string, *graph.Model) {
	t.Helper()
	m, err := models.BookNet()
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	path := filepath.Join(t.TempDir(), "book.safetensors")
	if err := cli.WriteFile(path, func(w io.Writer) error { return checkpoint.Write(w, m) }); err != nil {
		t.Fatal(err)
	}
	return path, m
}

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = cli.Run("export", run, args, &out, &errb)
	return code, out.String(), errb.String()
}

// files lists the names in dir (temporary files included).
func files(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestFormatsToStdoutAndFile(t *testing.T) {
	ckpt, m := writeCheckpoint(t)
	dir := t.TempDir()
	for _, f := range export.Formats() {
		if f.Name == "svg" || f.Name == "png" {
			continue // need Graphviz; covered in package export
		}
		t.Run(f.Name, func(t *testing.T) {
			var want bytes.Buffer
			if err := f.Write(&want, m); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "model"+f.Ext)
			code, stdout, stderr := runCmd("--model", ckpt, "--format", f.Name, "--out", out)
			if code != 0 || stdout != "" || stderr != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("file differs from export.%s output", f.Name)
			}
			if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o644 {
				t.Errorf("mode %v", fi.Mode())
			}
			if !f.Binary {
				code, stdout, stderr := runCmd("--model", ckpt, "--format", f.Name)
				if code != 0 || stdout != want.String() || stderr != "" {
					t.Errorf("stdout: exit %d, stderr %q, %d bytes (want %d)", code, stderr, len(stdout), want.Len())
				}
			}
		})
	}
	if got := files(t, dir); len(got) != 6 {
		t.Errorf("files %v: want one per format, no temporary files", got)
	}
}

func TestSummaryByDefault(t *testing.T) {
	ckpt, _ := writeCheckpoint(t)
	code, stdout, stderr := runCmd("--model", ckpt)
	if code != 0 || !strings.Contains(stdout, "Total params: 45,360 (177.19 KB)") || stderr != "" {
		t.Errorf("exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
	}
}

// Without --format, the --out extension picks the format.
func TestFormatFromExtension(t *testing.T) {
	ckpt, _ := writeCheckpoint(t)
	dir := t.TempDir()
	for ext, magic := range map[string]string{".onnx": "\x08\x08", ".npz": "PK\x03\x04", ".json": "{\n", ".dot": "digraph"} {
		out := filepath.Join(dir, "m"+ext)
		if code, _, stderr := runCmd("--model", ckpt, "-o", out); code != 0 {
			t.Fatalf("%s: exit %d: %s", ext, code, stderr)
		}
		b, _ := os.ReadFile(out)
		if !bytes.HasPrefix(b, []byte(magic)) {
			t.Errorf("%s: starts %q, want %q", ext, b[:min(len(b), 8)], magic)
		}
	}
}

func TestDefaultModel(t *testing.T) {
	if _, err := models.Open(models.Default); err != nil {
		t.Skipf("no default model embedded: %v", err)
	}
	code, stdout, stderr := runCmd("--format", "json")
	var doc export.Document
	if code != 0 || json.Unmarshal([]byte(stdout), &doc) != nil || len(doc.Graph.Nodes) == 0 {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestErrors(t *testing.T) {
	ckpt, _ := writeCheckpoint(t)
	dir := t.TempDir()
	// A file that exists keeps its contents when an export fails.
	existing := filepath.Join(dir, "keep.onnx")
	os.WriteFile(existing, []byte("old"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown format", []string{"--model", ckpt, "--format", "tflite"}, 2, `--format: unknown format "tflite"`},
		{"binary to stdout", []string{"--model", ckpt, "--format", "onnx"}, 2, "--format onnx is binary: give --out FILE"},
		{"npz to stdout", []string{"--model", ckpt, "--format", "npz"}, 2, "give --out"},
		{"empty model", []string{"--model", "", "--format", "json"}, 2, "--model must name"},
		{"unknown flag", []string{"--modle", ckpt}, 2, "unknown flag: --modle"},
		{"positional", []string{"model.onnx"}, 2, `unexpected argument "model.onnx"`},
		{"missing model file", []string{"--model", filepath.Join(dir, "nope.safetensors"), "--format", "onnx", "--out", filepath.Join(dir, "x.onnx")}, 1, "nope.safetensors: no such file"},
		{"no embedded model", []string{"--model", "no-such-model", "--format", "summary"}, 1, `no embedded model "no-such-model"`},
		{"bad checkpoint", []string{"--model", existing, "--format", "summary"}, 1, "keep.onnx"},
		{"missing folder", []string{"--model", ckpt, "--out", filepath.Join(dir, "no", "x.onnx")}, 1, "x.onnx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "export: ") {
				t.Errorf("exit %d (want %d), stderr %q (want one line with %q)", code, tc.code, stderr, tc.msg)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
		})
	}
	if got := files(t, dir); len(got) != 1 || got[0] != "keep.onnx" {
		t.Errorf("files left behind: %v", got)
	}
	if b, _ := os.ReadFile(existing); string(b) != "old" {
		t.Errorf("existing file changed to %q", b)
	}
}

// A failed export leaves no file: neither the output nor a temporary file,
// and an existing output keeps its contents. Without Graphviz on PATH, png
// fails after the temporary file is created.
func TestFailedExportLeavesNothing(t *testing.T) {
	ckpt, _ := writeCheckpoint(t)
	dir := t.TempDir()
	t.Setenv("PATH", "")
	out := filepath.Join(dir, "graph.png")
	code, _, stderr := runCmd("--model", ckpt, "--out", out)
	if code != 1 || !strings.Contains(stderr, "graph.png") || !strings.Contains(stderr, "Graphviz") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("files left behind: %v", got)
	}
	os.WriteFile(out, []byte("old"), 0o644)
	if code, _, _ := runCmd("--model", ckpt, "--format", "png", "--out", out); code != 1 {
		t.Errorf("exit %d", code)
	}
	if b, _ := os.ReadFile(out); string(b) != "old" || len(files(t, dir)) != 1 {
		t.Errorf("existing file changed to %q or temp files left: %v", b, files(t, dir))
	}

	// A layer with no ONNX form, from Go: same guarantee through cli.WriteFile.
	m, err := graph.NewSequential([]int{4}, &graph.Dense{Units: 2}, mystery{})
	if err != nil {
		t.Fatal(err)
	}
	onnxOut := filepath.Join(dir, "m.onnx")
	err = cli.WriteFile(onnxOut, func(w io.Writer) error { return export.WriteONNX(w, m) })
	if err == nil || !strings.Contains(err.Error(), `layer mystery1: kind "mystery" has no ONNX translation`) {
		t.Errorf("error %v", err)
	}
	if _, err := os.Stat(onnxOut); err == nil || len(files(t, dir)) != 1 {
		t.Errorf("files left behind: %v", files(t, dir))
	}
}

type mystery struct{}

func (mystery) Kind() string { return "mystery" }
func (mystery) Forward(_ *graph.Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.Neg(x)
}

func TestHelp(t *testing.T) {
	code, stdout, stderr := runCmd("--help")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range append(export.Names(), "Examples:", "--format dot | dot -Tsvg", "--out model.onnx", "--model string", "transpose of PyTorch") {
		if !strings.Contains(stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// A checkpoint of a functional model (two inputs, a shared layer, a merge)
// exports to every format but the rendered ones: the summary is the
// functional one and the ONNX model names its inputs after the model's.
func TestFunctionalModel(t *testing.T) {
	a, b := graph.Input("left", 4), graph.Input("right", 4)
	d := &graph.Dense{Units: 3}
	out := graph.Apply(graph.Softmax{}, graph.Apply(&graph.Concat{}, graph.Apply(d, a), graph.Apply(d, b)))
	m, err := graph.NewModel([]*graph.Tensor{a, b}, []*graph.Tensor{out})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(2)
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "pair.safetensors")
	if err := cli.WriteFile(ckpt, func(w io.Writer) error { return checkpoint.Write(w, m) }); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd("--model", ckpt)
	if code != 0 || !strings.Contains(stdout, "Connected to") || !strings.Contains(stdout, "fc1:1 (dense)") || !strings.Contains(stdout, "concat1 (concat)") || !strings.Contains(stdout, "fc1, fc1:1") {
		t.Errorf("summary: exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
	}
	for _, f := range export.Formats() {
		if f.Name == "svg" || f.Name == "png" {
			continue
		}
		path := filepath.Join(dir, "pair"+f.Ext)
		if code, _, stderr := runCmd("--model", ckpt, "--format", f.Name, "-o", path); code != 0 {
			t.Errorf("%s: exit %d: %s", f.Name, code, stderr)
		}
	}
	onnx, _ := os.ReadFile(filepath.Join(dir, "pair.onnx"))
	for _, name := range []string{"left", "right", "softmax1", "fc1.weight"} {
		if !bytes.Contains(onnx, []byte(name)) {
			t.Errorf("ONNX model lacks %q", name)
		}
	}
}

// ONNX models from PyTorch export in every format, ONNX again included;
// viewnet holds layers of onnximport's own kinds.
func TestONNXModel(t *testing.T) {
	for _, name := range []string{"resnet_op17", "viewnet_op13"} {
		model := filepath.Join("..", "..", "onnximport", "testdata", name+".onnx")
		code, stdout, stderr := runCmd("--model", model)
		if code != 0 || !strings.Contains(stdout, "net.fc (dense)") {
			t.Fatalf("%s summary: exit %d, stderr %q, stdout:\n%s", name, code, stderr, stdout)
		}
		dir := t.TempDir()
		for _, f := range export.Formats() {
			if f.Name == "svg" || f.Name == "png" {
				continue // Graphviz; the dot text is checked
			}
			path := filepath.Join(dir, name+f.Ext)
			if code, _, stderr := runCmd("--model", model, "--format", f.Name, "-o", path); code != 0 {
				t.Errorf("%s %s: exit %d: %s", name, f.Name, code, stderr)
			}
		}
		again, err := models.Open(filepath.Join(dir, name+".onnx"))
		if err != nil {
			t.Fatalf("%s: the exported ONNX model: %v", name, err)
		}
		orig, err := models.Open(model)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(again.ParamNames()) != fmt.Sprint(orig.ParamNames()) {
			t.Errorf("%s: re-exported model has parameters %v, the original %v", name, again.ParamNames(), orig.ParamNames())
		}
	}
}
