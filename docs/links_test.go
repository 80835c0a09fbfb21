package docs

import (
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// TestLinks checks that every relative link of README.md and docs/**.md
// resolves: the file or folder exists, and an #anchor names a heading of
// the Markdown page it points to.
func TestLinks(t *testing.T) {
	all := pages(t)
	byPath := map[string]*page{}
	for _, pg := range all {
		byPath[pg.path] = pg
	}
	checked := 0
	for _, pg := range all {
		for _, l := range pg.links() {
			target := l.text
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			file, err := url.PathUnescape(file)
			if err != nil {
				t.Errorf("%s:%d: link %q: %v", pg.path, l.n, target, err)
				continue
			}
			dest := pg.path
			if file != "" {
				dest = path.Clean(path.Join(path.Dir(pg.path), file))
				if strings.HasPrefix(dest, "../") {
					t.Errorf("%s:%d: link %q leaves the repository", pg.path, l.n, target)
					continue
				}
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(dest))); err != nil {
					t.Errorf("%s:%d: link %q: %s does not exist", pg.path, l.n, target, dest)
					continue
				}
			}
			checked++
			if frag == "" {
				continue
			}
			tp := byPath[dest]
			if tp == nil {
				if !strings.HasSuffix(dest, ".md") {
					continue // an anchor into a source file (#L12) is GitHub's business
				}
				t.Errorf("%s:%d: link %q: %s is not a page this test reads", pg.path, l.n, target, dest)
				continue
			}
			if !tp.anchors()[frag] {
				t.Errorf("%s:%d: link %q: %s has no heading with anchor #%s", pg.path, l.n, target, dest, frag)
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d relative links found: the page reader is broken", checked)
	}
}

// TestSlug pins the anchor rules the link check relies on.
func TestSlug(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Two commands", "two-commands"},
		{"The runtime contract", "the-runtime-contract"},
		{"`cmd/infer --input`: arrays in, arrays out", "cmdinfer---input-arrays-in-arrays-out"},
		{"Chapter 8: DeepConvNet (99.38% vs 0.9797)", "chapter-8-deepconvnet-9938-vs-09797"},
		{"[Gorgonia](https://gorgonia.org) pitfalls", "gorgonia-pitfalls"},
		{"시작하기", "시작하기"},
		{"3장: 신경망", "3장-신경망"},
	} {
		if got := slug(c.in); got != c.want {
			t.Errorf("slug(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
