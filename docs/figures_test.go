package docs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// flagDefaults returns the flags of one command's section of
// docs/commands.md (which TestCommands keeps equal to its --help) and the
// default each shows ("" when it shows none).
func flagDefaults(t *testing.T, command string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docs", "commands.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## "+command+"\n")
	if !ok {
		t.Fatalf("docs/commands.md has no section %q", command)
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	flagLine := regexp.MustCompile(`^\s+(--[a-z0-9-]+)(?:\[=[^\]]*\])? \S*\s+(.*)$`)
	def := regexp.MustCompile(`\(default "?([^")]*)"?\)$`)
	out := map[string]string{}
	for _, l := range strings.Split(sec, "\n") {
		m := flagLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		out[m[1]] = ""
		if d := def.FindStringSubmatch(m[2]); d != nil {
			out[m[1]] = d[1]
		}
	}
	if len(out) < 10 {
		t.Fatalf("found %d flags of %s in docs/commands.md: the reader is broken", len(out), command)
	}
	return out
}

// TestServeLimits checks that the table of bounds in docs/serving.md names
// flags cmd/serve has, with the defaults its --help shows.
func TestServeLimits(t *testing.T) {
	flags := flagDefaults(t, "serve")
	pg, err := readPage("docs/serving.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| (`--[^|]*) \\| ([^ |]+)[^|]* \\|")
	name := regexp.MustCompile("`(--[a-z0-9-]+)`")
	checked := 0
	for _, l := range pg.text {
		m := row.FindStringSubmatch(l.raw)
		if m == nil {
			continue
		}
		for _, f := range name.FindAllStringSubmatch(m[1], -1) {
			d, ok := flags[f[1]]
			switch {
			case !ok:
				t.Errorf("docs/serving.md:%d: %s is not a flag of cmd/serve", l.n, f[1])
			case d != m[2]:
				t.Errorf("docs/serving.md:%d: %s default %q on the page, %q in cmd/serve --help", l.n, f[1], m[2], d)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Errorf("only %d flags found in docs/serving.md's table of bounds", checked)
	}
}

// TestCoverageFigure checks that docs/interop.md states the node-suite
// result of the committed docs/onnx-coverage.md (which onnximport's
// TestNodeSuite generates and CI compares with a fresh run).
func TestCoverageFigure(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "docs", "onnx-coverage.md"))
	if err != nil {
		t.Fatal(err)
	}
	fig := regexp.MustCompile(`(?m)^\*\*\d+ node tests: .*\*\*$`).Find(b)
	if fig == nil {
		t.Fatal("docs/onnx-coverage.md has no bold '**N node tests: ...**' line: the reader is broken")
	}
	m := regexp.MustCompile(`^\*\*(\d+) node tests: (\d+) pass`).FindSubmatch(fig)
	if m == nil {
		t.Fatalf("docs/onnx-coverage.md: cannot read the pass count from %s", fig)
	}
	short := fmt.Sprintf("%s of ONNX's %s node tests pass", m[2], m[1]) // the README's form
	for _, c := range []struct{ path, want string }{
		{"docs/interop.md", string(fig)},
		{"README.md", short},
	} {
		pg, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(c.path)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(pg), c.want) {
			t.Errorf("%s does not state the coverage table's figure %q (docs/onnx-coverage.md: %s)", c.path, c.want, fig)
		}
	}
}

// TestFuzzTargetsListed checks that docs/safety.md names every fuzz target
// of the module, so that a new reader of outside bytes gets its line there.
func TestFuzzTargetsListed(t *testing.T) {
	page, err := os.ReadFile(filepath.Join(root, "docs", "safety.md"))
	if err != nil {
		t.Fatal(err)
	}
	fuzz := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(`)
	found := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range fuzz.FindAllSubmatch(src, -1) {
			found++
			if !strings.Contains(string(page), "`"+string(m[1])+"`") {
				t.Errorf("%s: %s is not named in docs/safety.md (say there what that reader promises)", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 10 {
		t.Errorf("found %d fuzz targets: the walk is broken", found)
	}
}
