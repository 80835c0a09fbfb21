package docs

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/commands.md from the commands' --help")

var (
	buildOnce sync.Once
	binDir    string
	binErr    error
	cmdNames  []string
)

// commands builds every command under cmd/ once per test binary and returns
// the folder holding them and their names.
func commands(t *testing.T) (string, []string) {
	t.Helper()
	buildOnce.Do(func() {
		ents, err := os.ReadDir(filepath.Join(root, "cmd"))
		if err != nil {
			binErr = err
			return
		}
		for _, e := range ents {
			if _, err := os.Stat(filepath.Join(root, "cmd", e.Name(), "main.go")); e.IsDir() && err == nil {
				cmdNames = append(cmdNames, e.Name())
			}
		}
		sort.Strings(cmdNames)
		binDir, binErr = os.MkdirTemp("", "tapenet-docs-bin")
		if binErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(filepath.Separator), "./cmd/...")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/...: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir, cmdNames
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// helpEnv fixes what a command's defaults may read from the machine
// (serve's --workers defaults to GOMAXPROCS).
var helpEnv = []string{"GOMAXPROCS=2"}

// commandReference renders docs/commands.md from each command's --help.
func commandReference(t *testing.T) []byte {
	dir, names := commands(t)
	var b bytes.Buffer
	b.WriteString("# Command reference\n\n")
	b.WriteString("<!-- Generated from each command's --help by `go test ./docs -run Commands -update`. Do not edit: TestCommands fails when this page and the commands differ. -->\n\n")
	b.WriteString("Every command prints this with `--help` (exit status 0). Exit status otherwise: 0 success, 2 usage error (nothing written), 1 failure; errors are one line on stderr naming the flag or file. ")
	b.WriteString("The defaults shown for `serve --workers` follow the number of CPUs (`GOMAXPROCS`); this page was made with 2.\n\n")
	for _, n := range names {
		fmt.Fprintf(&b, "- [%s](#%s)\n", n, n)
	}
	for _, n := range names {
		cmd := exec.Command(filepath.Join(dir, n), "--help")
		cmd.Env = append(os.Environ(), helpEnv...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s --help: %v\n%s", n, err, errb.String())
		}
		help := strings.TrimRight(out.String()+errb.String(), "\n")
		if strings.Contains(help, "```") {
			t.Fatalf("%s --help contains a code fence", n)
		}
		fmt.Fprintf(&b, "\n## %s\n\n```text\n%s\n```\n", n, help)
	}
	return b.Bytes()
}

// TestCommands checks that docs/commands.md is what the commands print.
func TestCommands(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the commands; skipped with -short")
	}
	want := commandReference(t)
	path := filepath.Join(root, "docs", "commands.md")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run: go test ./docs -run Commands -update)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("docs/commands.md differs from the commands' --help at line %d:\n  page: %q\n  help: %q\nrun: go test ./docs -run Commands -update", i+1, g, w)
			}
		}
	}
}
