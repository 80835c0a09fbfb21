package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCheckOutputs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "m.safetensors")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	for _, test := range []struct {
		name  string
		outs  []Output
		usage bool   // a UsageError (exit 2)
		want  string // "" = no error
	}{
		{"none given", []Output{{"--out", ""}, {"--plot", ""}}, false, ""},
		{"two files", []Output{{"--out", file}, {"--plot", filepath.Join(dir, "c.png")}}, false, ""},
		{"a folder", []Output{{"--out", dir}}, true, "--out " + dir + " is a folder"},
		{"a named pipe", []Output{{"--out", fifo}}, true, "named pipe"},
		{"one file twice", []Output{{"--out", "X"}, {"--plot", "X"}}, true, "--out and --plot both name X"},
		{"one file, two spellings", []Output{{"--out", file}, {"--plot", filepath.Join(dir, ".", "m.safetensors")}}, true, "both name"},
		{"one file through a link", []Output{{"--out", file}, {"--plot", link}}, true, "both name"},
		{"a missing folder", []Output{{"--out", filepath.Join(dir, "no", "m")}}, false, "cannot write there"},
	} {
		t.Run(test.name, func(t *testing.T) {
			wd, _ := os.Getwd()
			os.Chdir(dir)
			defer os.Chdir(wd)
			err := CheckOutputs(test.outs...)
			var ue *UsageError
			switch {
			case test.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case test.want == "":
			case err == nil || !strings.Contains(err.Error(), test.want) || errors.As(err, &ue) != test.usage:
				t.Fatalf("got %v (usage error: %v), want %q (usage error: %v)", err, errors.As(err, &ue), test.want, test.usage)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 3 {
				t.Errorf("files left behind: %d", len(ents))
			}
		})
	}
}

func TestBatch(t *testing.T) {
	for _, test := range []struct {
		batch, samples, values, workers int
		want                            int // 0: a usage error
	}{
		{100, 10000, 532, 2, 100},
		{1_000_000_000, 10000, 532, 2, 10000}, // mlp: clamped to the data
		{1_000_000_000, 10000, 43400, 2, 0},   // convnet: 3.4 GB of activations
		{300, 10000, 43400, 2, 300},           // fits in 128 MiB
		{1_000_000_000, 50, 43400, 2, 50},     // clamped below the bound
		{5, 3, 1 << 30, 1, 0},                 // one sample too big
	} {
		got, err := Batch("--batch-size", test.batch, test.samples, test.values, test.workers)
		var ue *UsageError
		if test.want == 0 {
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), "at most") {
				t.Errorf("%+v: got %d, %v; want a usage error", test, got, err)
			}
			continue
		}
		if err != nil || got != test.want {
			t.Errorf("%+v: got %d, %v; want %d", test, got, err, test.want)
		}
	}
}
