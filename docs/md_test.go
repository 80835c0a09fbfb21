package docs

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// root is the module's root folder, where README.md lives.
const root = ".."

// page is a Markdown file split into the lines outside fenced code blocks
// (for links and headings) and its fenced blocks.
type page struct {
	path   string // relative to root, slash-separated
	text   []line // lines outside fences, inline code removed
	blocks []block
}

type line struct {
	n    int
	text string // inline code spans removed
	raw  string
}

// block is one fenced code block.
type block struct {
	lang string
	line int // line of the opening fence
	body string
}

// pages reads README.md and every .md file under docs/.
func pages(t *testing.T) []*page {
	t.Helper()
	paths := []string{"README.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			paths = append(paths, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	var out []*page
	for _, p := range paths {
		pg, err := readPage(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pg)
	}
	return out
}

var inlineCode = regexp.MustCompile("`[^`]*`")

func readPage(rel string) (*page, error) {
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pg := &page{path: rel}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var cur *block
	var fence string
	for n := 1; sc.Scan(); n++ {
		s := sc.Text()
		trim := strings.TrimLeft(s, " ")
		if cur == nil {
			if strings.HasPrefix(trim, "```") || strings.HasPrefix(trim, "~~~") {
				fence = trim[:3]
				cur = &block{lang: strings.TrimSpace(trim[3:]), line: n}
				continue
			}
			pg.text = append(pg.text, line{n, inlineCode.ReplaceAllString(s, ""), s})
			continue
		}
		if strings.HasPrefix(trim, fence) && strings.TrimSpace(trim[3:]) == "" {
			pg.blocks = append(pg.blocks, *cur)
			cur = nil
			continue
		}
		cur.body += s + "\n"
	}
	return pg, sc.Err()
}

var (
	heading   = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	mdLink    = regexp.MustCompile(`\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	htmlLink  = regexp.MustCompile(`(?i)\b(?:src|href)\s*=\s*"([^"]+)"`)
	htmlAnchr = regexp.MustCompile(`(?i)<a\s+(?:name|id)\s*=\s*"([^"]+)"`)
	linkText  = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// anchors returns the anchors GitHub makes of the page's headings (and
// explicit <a name=...> anchors).
func (pg *page) anchors() map[string]bool {
	seen := map[string]int{}
	out := map[string]bool{}
	for _, l := range pg.text {
		for _, m := range htmlAnchr.FindAllStringSubmatch(l.text, -1) {
			out[m[1]] = true
		}
		m := heading.FindStringSubmatch(l.raw)
		if m == nil {
			continue
		}
		a := slug(m[1])
		if k := seen[a]; k > 0 {
			out[a+"-"+strconv.Itoa(k)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

// slug is GitHub's heading anchor: lower case, punctuation dropped (letters,
// marks, digits, '_', '-' and spaces kept), spaces turned into '-'.
func slug(h string) string {
	h = linkText.ReplaceAllString(h, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// links returns the page's link targets with their line numbers.
func (pg *page) links() []line {
	var out []line
	for _, l := range pg.text {
		for _, re := range []*regexp.Regexp{mdLink, htmlLink} {
			for _, m := range re.FindAllStringSubmatch(l.text, -1) {
				out = append(out, line{n: l.n, text: m[1]})
			}
		}
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }
