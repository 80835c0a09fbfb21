// Package seqdata reads and writes the character data sets of "Deep
// Learning from Scratch 2" (dataset/addition.txt, dataset/date.txt) as the
// book's dataset/sequence.py load_data does: each line split at its first
// '_' into a question (before) and an answer (from the '_' on, newline
// dropped); the vocabulary in order of first appearance, question
// characters then answer characters, line by line; the rows shuffled with
// numpy's legacy np.random.seed(seed); np.random.shuffle (reproduced
// exactly by Permutation); the last len/10 rows the test set.
package seqdata

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
)

// Data is a loaded data set: ids row-major, one row per question.
type Data struct {
	// Chars is id_to_char; IDs is char_to_id.
	Chars []rune
	IDs   map[rune]int
	// Q holds the questions (N, QLen), A the answers (N, ALen), shuffled.
	Q, A       []int
	QLen, ALen int
	// Split is the first test row: rows [0, Split) train, [Split, N) test.
	Split int
}

// N returns the number of rows.
func (d *Data) N() int { return len(d.Q) / d.QLen }

// Decode turns ids back into text.
func (d *Data) Decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteRune(d.Chars[id])
	}
	return b.String()
}

// Load reads a file in the book's format (see Read).
func Load(path string, seed uint32) (*Data, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := Read(f, seed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// Read parses lines "question_answer\n" as load_data does and shuffles
// them with seed. Every question must have the first one's length, every
// answer the first answer's (the book's numpy arrays need it); a line
// without '_' is an error (the book would silently cut it).
func Read(r io.Reader, seed uint32) (*Data, error) {
	d := &Data{IDs: map[rune]int{}}
	var qs, as [][]rune
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		s := sc.Text()
		i := strings.IndexByte(s, '_')
		if i < 0 {
			return nil, fmt.Errorf("line %d: no '_' between question and answer", line)
		}
		q, a := []rune(s[:i]), []rune(s[i:])
		if len(q) == 0 {
			return nil, fmt.Errorf("line %d: empty question before '_'", line)
		}
		if len(qs) > 0 && (len(q) != len(qs[0]) || len(a) != len(as[0])) {
			return nil, fmt.Errorf("line %d: question/answer lengths %d/%d, want %d/%d like line 1", line, len(q), len(a), len(qs[0]), len(as[0]))
		}
		for _, c := range append(append([]rune{}, q...), a...) {
			if _, ok := d.IDs[c]; !ok {
				d.IDs[c] = len(d.Chars)
				d.Chars = append(d.Chars, c)
			}
		}
		qs, as = append(qs, q), append(as, a)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(qs) == 0 {
		return nil, fmt.Errorf("no lines")
	}
	d.QLen, d.ALen = len(qs[0]), len(as[0])
	for _, k := range Permutation(len(qs), seed) {
		for _, c := range qs[k] {
			d.Q = append(d.Q, d.IDs[c])
		}
		for _, c := range as[k] {
			d.A = append(d.A, d.IDs[c])
		}
	}
	n := len(qs)
	d.Split = n - n/10
	return d, nil
}

// WriteAddition writes n distinct addition questions in dataset/addition.txt's
// format: "a+b" left-aligned in 7 columns, then "_" and the sum left-aligned
// in 4 columns ("16+75  _91  "), a and b having 1 to 3 digits each (digit
// counts drawn uniformly, as Keras's addition_rnn generator the book's file
// follows). Seeded: the same seed writes the same file. n is at most
// 900000 or so (the distinct pairs available).
func WriteAddition(w io.Writer, n int, seed uint64) error {
	if n < 1 || n > 500000 {
		return fmt.Errorf("addition: n must be in [1, 500000], got %d", n)
	}
	rng := rand.New(rand.NewPCG(seed, 1984))
	num := func() int {
		d := 1 + rng.IntN(3)
		v := 0
		for i := 0; i < d; i++ {
			v = v*10 + rng.IntN(10)
		}
		return v
	}
	seen := map[[2]int]bool{}
	bw := bufio.NewWriter(w)
	for len(seen) < n {
		a, b := num(), num()
		if seen[[2]int{a, b}] {
			continue
		}
		seen[[2]int{a, b}] = true
		if _, err := fmt.Fprintf(bw, "%-7s_%-4d\n", fmt.Sprintf("%d+%d", a, b), a+b); err != nil {
			return err
		}
	}
	return bw.Flush()
}
