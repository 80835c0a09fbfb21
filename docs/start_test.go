package docs

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// step is one command of a page and the output the page shows for it.
type step struct {
	at   string // page:line
	cmd  string // the command as the page shows it
	want []string
}

// pageCommands returns the `go run ./...` commands of a page's ```sh
// blocks, continuation lines joined and comments dropped. A ```text block
// that follows a ```sh block directly shows the output of its last
// command: every line of it without "..." must appear in that output.
func pageCommands(t *testing.T, rel string) []step {
	t.Helper()
	pg, err := readPage(rel)
	if err != nil {
		t.Fatal(err)
	}
	var steps []step
	prevSh := -1 // index in steps of the last command of the block just before
	for i, b := range pg.blocks {
		switch b.lang {
		case "sh":
			prevSh = -1
			joined := ""
			for n, l := range strings.Split(b.body, "\n") {
				l = strings.TrimSpace(l)
				if strings.HasSuffix(l, `\`) {
					joined += strings.TrimSuffix(l, `\`) + " "
					continue
				}
				l = joined + l
				joined = ""
				if c, _, ok := strings.Cut(l, " #"); ok {
					l = strings.TrimSpace(c)
				}
				if !strings.HasPrefix(l, "go run ./") {
					continue
				}
				steps = append(steps, step{at: rel + ":" + itoa(b.line+1+n), cmd: l})
				prevSh = len(steps) - 1
			}
		case "text":
			if prevSh >= 0 && i > 0 && pg.blocks[i-1].lang == "sh" {
				for _, l := range strings.Split(b.body, "\n") {
					if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, "...") {
						steps[prevSh].want = append(steps[prevSh].want, l)
					}
				}
			}
			prevSh = -1
		default:
			prevSh = -1
		}
	}
	return steps
}

// TestGettingStarted runs the commands of docs/getting-started.md in order
// in one temporary folder (docs/ linked into it, so the page's example
// files are there), with the built commands in place of `go run`, and
// checks each exits 0 and prints what the page shows. cmd/serve runs until
// it is stopped and is not run here (serve's own tests cover it).
func TestGettingStarted(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the getting-started commands; skipped with -short")
	}
	steps := pageCommands(t, "docs/getting-started.md")
	if len(steps) < 4 {
		t.Fatalf("getting-started.md shows %d commands; the page reader is broken", len(steps))
	}
	bin, _ := commands(t)
	work := t.TempDir()
	abs, err := filepath.Abs(filepath.Join(root, "docs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(abs, filepath.Join(work, "docs")); err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, s := range steps {
		if !strings.HasPrefix(s.cmd, "go run ./cmd/") {
			t.Errorf("%s: %s: getting started runs the commands only (go run ./cmd/...)", s.at, s.cmd)
			continue
		}
		name, args, _ := strings.Cut(strings.TrimPrefix(s.cmd, "go run ./cmd/"), " ")
		if name == "serve" {
			continue
		}
		cmd := exec.Command("bash", "-c", filepath.Join(bin, name)+" "+args)
		cmd.Dir = work
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: %s: %v\n%s", s.at, s.cmd, err, out)
			continue
		}
		ran++
		for _, w := range s.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s: %s: the page shows %q; the command printed:\n%s", s.at, s.cmd, w, out)
			}
		}
	}
	t.Logf("%d commands run", ran)
}

// TestKoreanCommands checks that the Korean pages show the same commands
// as the English ones.
func TestKoreanCommands(t *testing.T) {
	for _, p := range []string{"getting-started.md", "book.md"} {
		en, ko := pageCommands(t, "docs/"+p), pageCommands(t, "docs/ko/"+p)
		var ec, kc []string
		for _, s := range en {
			ec = append(ec, s.cmd)
		}
		for _, s := range ko {
			kc = append(kc, s.cmd)
		}
		if !reflect.DeepEqual(ec, kc) {
			t.Errorf("docs/ko/%s shows other commands than docs/%s:\n  ko: %q\n  en: %q", p, p, kc, ec)
		}
	}
}
