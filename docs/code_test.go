package docs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ownGoBlocks reports whether the Go blocks of a page are this package's to
// check: README.md and the guide, not the pages other tests generate.
func ownGoBlocks(path string) bool {
	return !strings.HasPrefix(path, "docs/book2/") && path != "docs/onnx-coverage.md"
}

// TestGoBlocks type-checks (go vet) every ```go block of README.md and the guide that
// starts with a package clause, each as its own package of a temporary
// module that uses this one through a replace directive. A block that is
// not a whole file must say so on its first line ("// fragment").
func TestGoBlocks(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("compiles the guide's programs; skipped with -short")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var where []string // block i was found at where[i]
	for _, pg := range pages(t) {
		if !ownGoBlocks(pg.path) {
			continue
		}
		for _, b := range pg.blocks {
			if b.lang != "go" {
				continue
			}
			at := fmt.Sprintf("%s:%d", pg.path, b.line)
			first := strings.TrimSpace(strings.SplitN(strings.TrimSpace(b.body), "\n", 2)[0])
			if strings.HasPrefix(first, "// fragment") {
				continue
			}
			if !hasPackageClause(b.body) {
				t.Errorf("%s: a go block must be a whole file (package ...) or start with \"// fragment\"", at)
				continue
			}
			pkg := filepath.Join(dir, fmt.Sprintf("block%03d", len(where)))
			if err := os.Mkdir(pkg, 0o755); err != nil {
				t.Fatal(err)
			}
			// The line directive makes the compiler name the page and its line.
			src := fmt.Sprintf("//line %s:%d\n%s", pg.path, b.line+1, b.body)
			if err := os.WriteFile(filepath.Join(pkg, "main.go"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			where = append(where, at)
		}
	}
	if len(where) == 0 {
		t.Fatal("no whole-file go block found: the page reader is broken")
	}
	gomod := fmt.Sprintf("module docblocks\n\ngo 1.26.0\n\nrequire github.com/tapenet/tapenet v0.0.0\n\nreplace github.com/tapenet/tapenet => %s\n", abs)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	// go vet type-checks every block as the compiler would (it fails on
	// any compile error) and runs the vet checks; nothing is linked.
	for _, args := range [][]string{{"vet", "./..."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOPROXY=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("go %s of the guide's %d programs: %v\n%s", strings.Join(args, " "), len(where), err, out)
			return
		}
	}
	t.Logf("%d programs type-check and pass go vet", len(where))
}

// hasPackageClause reports whether the first line that is not blank or a
// comment is a package clause.
func hasPackageClause(src string) bool {
	for _, l := range strings.Split(src, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "//") {
			continue
		}
		return strings.HasPrefix(l, "package ")
	}
	return false
}
