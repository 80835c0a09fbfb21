// Command ch04_word2vec is the book's ch04/eval.py: the words closest to
// you, year, car and toyota, and four analogies, from the CBOW word vectors
// of cbow_params.pkl (the file ch04/train.py writes and the book ships).
//
//	go run ./examples/book2/ch04_word2vec --params cbow_params.pkl
//
// Similarities are common/util.py's: most_similar ranks every word by
// cosine similarity (each vector divided by its norm plus 1e-8) to the
// query's; analogy a:b = c:? ranks by the dot product of every (raw) word
// vector with the normalised b - a + c, leaving out a, b and c. Printed
// as eval.py prints them. The vectors are float16 in the file; the book's
// numpy computes in float16 and prints float16-rounded scores, this
// command in float64 from the same float16 values, so its scores carry
// more digits (the ranking is the same except between words whose float16
// scores tie).
package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/examples/book2/internal/book2"
)

const usage = `
ch04_word2vec: the book's ch04/eval.py queries (most_similar, analogy) on
its CBOW word vectors.

Usage:
  go run ./examples/book2/ch04_word2vec --params cbow_params.pkl
`

func main() { cli.Main("ch04_word2vec", run) }

func run(args []string, stdout, _ io.Writer) error {
	fs := cli.NewFlags("ch04_word2vec", usage, stdout)
	params := fs.String("params", "", "the book's cbow_params.pkl (ch04/train.py's output)")
	top := fs.Int("top", 5, "words per query")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *params == "" {
		return cli.Usagef("--params is required (the book's ch04/cbow_params.pkl)")
	}
	if *top < 1 {
		return cli.Usagef("--top must be positive, got %d", *top)
	}
	c, err := book2.LoadCBOW(*params)
	if err != nil {
		return fmt.Errorf("--params %w", err)
	}
	var b strings.Builder
	for _, q := range []string{"you", "year", "car", "toyota"} {
		mostSimilar(&b, c, q, *top)
	}
	b.WriteString(strings.Repeat("-", 50) + "\n")
	for _, q := range [][3]string{{"king", "man", "queen"}, {"take", "took", "go"}, {"car", "cars", "child"}, {"good", "better", "bad"}} {
		analogy(&b, c, q[0], q[1], q[2], *top)
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}

type cbow = book2.CBOW

func norm(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// cosSimilarity is common/util.py's cos_similarity.
func cosSimilarity(x, y []float64) float64 {
	nx, ny := norm(x)+1e-8, norm(y)+1e-8
	s := 0.0
	for i := range x {
		s += (x[i] / nx) * (y[i] / ny)
	}
	return s
}

// ranked returns the ids by decreasing score (ties: lower id first).
func ranked(scores []float64) []int {
	ids := make([]int, len(scores))
	for i := range ids {
		ids[i] = i
	}
	sort.SliceStable(ids, func(a, b int) bool { return scores[ids[a]] > scores[ids[b]] })
	return ids
}

// mostSimilar is common/util.py's most_similar.
func mostSimilar(w io.Writer, c *cbow, query string, top int) {
	qid, ok := c.IDs[query]
	if !ok {
		fmt.Fprintf(w, "%s is not found\n", query)
		return
	}
	fmt.Fprintf(w, "\n[query] %s\n", query)
	q := f64(c.Vec(qid))
	scores := make([]float64, len(c.Words))
	for i := range scores {
		scores[i] = cosSimilarity(f64(c.Vec(i)), q)
	}
	n := 0
	for _, i := range ranked(scores) {
		if c.Words[i] == query {
			continue
		}
		fmt.Fprintf(w, " %s: %s\n", c.Words[i], book2.PyFloat(scores[i]))
		if n++; n >= top {
			return
		}
	}
}

// analogy is common/util.py's analogy.
func analogy(w io.Writer, c *cbow, a, b, cw string, top int) {
	for _, word := range []string{a, b, cw} {
		if _, ok := c.IDs[word]; !ok {
			fmt.Fprintf(w, "%s is not found\n", word)
			return
		}
	}
	fmt.Fprintf(w, "\n[analogy] %s:%s = %s:?\n", a, b, cw)
	va, vb, vc := c.Vec(c.IDs[a]), c.Vec(c.IDs[b]), c.Vec(c.IDs[cw])
	q := make([]float64, c.Dim)
	for i := range q {
		q[i] = float64(vb[i]) - float64(va[i]) + float64(vc[i])
	}
	s := norm(q)
	for i := range q {
		q[i] /= s
	}
	scores := make([]float64, len(c.Words))
	for i := range scores {
		for k, x := range c.Vec(i) {
			scores[i] += float64(x) * q[k]
		}
	}
	n := 0
	for _, i := range ranked(scores) {
		if math.IsNaN(scores[i]) {
			continue
		}
		if word := c.Words[i]; word == a || word == b || word == cw {
			continue
		}
		fmt.Fprintf(w, " %s: %s\n", c.Words[i], book2.PyFloat(scores[i]))
		if n++; n >= top {
			return
		}
	}
}
