// Command ch06_rnnlm runs the book's ch06 language model (Rnnlm: a
// TimeEmbedding, a stateful TimeLSTM and a TimeAffine) over the words of a
// text from a reset state and prints, after each word, the five likeliest
// next words and their softmax probabilities.
//
//	go run ./examples/book2/ch06_rnnlm --params Rnnlm.pkl --vocab cbow_params.pkl \
//	    --text "the company said ..."
//
// Rnnlm.pkl is what the book's BaseModel.save_params writes: a pickle of
// the list of its params as float16, in the model's order: embed W (V, D),
// LSTM Wx (D, 4H), Wh (H, 4H), b (4H), affine W (H, V), b (V). The
// vocabulary (word_to_id, id_to_word) comes from ch04's cbow_params.pkl:
// both use the book's PTB ids. The model becomes a tapenet graph:
// Embedding, LSTM (the book's gate blocks f, g, i, o reordered into
// PyTorch's i, f, g, o; the book's one bias as bias_ih, bias_hh zero) with
// every step's state, TimeDense; a stateful LSTM run from a reset state
// over the whole text is that LSTM over the text as one sequence.
//
// With --generate N it writes text as the book's ch07/generate_text.py
// does (RnnlmGen.generate): from the word --start, a stateful step at a
// time (generate.Stepper, carrying the LSTM's h and c), each next word
// drawn from the softmax of the scores until N words including the start
// stand; a word of --skip (the book's N, <unk>, $) is dropped and the
// previous word fed again, the state advancing, as the book's loop does.
// The draws are numpy's: --seed S is np.random.seed(S) and each draw
// np.random.choice(len(p), p=p) (MT19937, random_sample, inverse CDF), so
// the words equal the book's program seeded alike, up to float32 rounding
// of p at a bucket's edge. " <eos>" becomes ".\n", as the book prints it.
//
//	go run ./examples/book2/ch06_rnnlm --params Rnnlm.pkl --vocab cbow_params.pkl \
//	    --generate 100 --start you --seed 1
package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	_ "github.com/tapenet/tapenet/blas"
	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/examples/book2/internal/book2"
	"github.com/tapenet/tapenet/examples/book2/internal/seqdata"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/generate"
	"github.com/tapenet/tapenet/numpyio"
	"gorgonia.org/tensor"
)

const usage = `
ch06_rnnlm: the book's RNN language model (ch06 Rnnlm) over a text: the
five likeliest next words after each word, or generated text (the book's
ch07 generate_text.py).

Usage:
  go run ./examples/book2/ch06_rnnlm --params Rnnlm.pkl --vocab cbow_params.pkl --text "the company said"
  go run ./examples/book2/ch06_rnnlm --params Rnnlm.pkl --vocab cbow_params.pkl --generate 100 --start you --seed 1
`

func main() { cli.Main("ch06_rnnlm", run) }

func run(args []string, stdout, _ io.Writer) error {
	fs := cli.NewFlags("ch06_rnnlm", usage, stdout)
	params := fs.String("params", "", "the book's ch06 Rnnlm.pkl (save_params: a list of float16 arrays)")
	vocab := fs.String("vocab", "", "the book's ch04 cbow_params.pkl, for word_to_id and id_to_word")
	text := fs.String("text", "", "the words to run the model over, separated by spaces")
	top := fs.Int("top", 5, "next words per step")
	gen := fs.Int("generate", 0, "generate text of N words, the start word included (the book's sample_size, 100)")
	start := fs.String("start", "you", "with --generate: the first word")
	seed := fs.Uint32("seed", 0, "with --generate: numpy's np.random.seed of the draws")
	skip := fs.String("skip", "N,<unk>,$", "with --generate: words never generated, comma-separated (those not in the vocabulary are ignored)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *params == "" || *vocab == "" || (strings.TrimSpace(*text) == "") == (*gen == 0) {
		return cli.Usagef("--params, --vocab and one of --text and --generate are required")
	}
	if *top < 1 || *gen < 0 {
		return cli.Usagef("--top must be positive and --generate not negative, got %d and %d", *top, *gen)
	}
	c, err := book2.LoadCBOW(*vocab)
	if err != nil {
		return fmt.Errorf("--vocab %w", err)
	}
	if *gen > 0 {
		return generateText(stdout, c, *params, *vocab, *start, *skip, *gen, *seed)
	}
	words := strings.Fields(*text)
	ids := make([]float32, len(words))
	for i, w := range words {
		id, ok := c.IDs[w]
		if !ok {
			return fmt.Errorf("--text: word %q is not in the vocabulary of %s", w, *vocab)
		}
		ids[i] = float32(id)
	}
	m, err := load(*params, len(c.Words), len(words))
	if err != nil {
		return err
	}
	out, err := graph.NewPredictor(m).Forward(tensor.New(tensor.WithShape(1, len(words)), tensor.WithBacking(ids)))
	if err != nil {
		return err
	}
	v := len(c.Words)
	scores := out.Float32s()
	n := min(*top, v)
	var b strings.Builder
	for t, w := range words {
		p := scores[t*v : (t+1)*v]
		graph.SoftmaxRow(p)
		order := make([]int, v)
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return p[order[a]] > p[order[b]] })
		parts := make([]string, n)
		for k, id := range order[:n] {
			parts[k] = fmt.Sprintf("%s:%.5f", c.Words[id], p[id])
		}
		fmt.Fprintf(&b, "%s -> %s\n", w, strings.Join(parts, " "))
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}

// generateText writes n words from start, as the book's RnnlmGen.generate
// with np.random.seed(seed).
func generateText(stdout io.Writer, c *book2.CBOW, params, vocab, start, skip string, n int, seed uint32) error {
	id, ok := c.IDs[start]
	if !ok {
		return fmt.Errorf("--start: word %q is not in the vocabulary of %s", start, vocab)
	}
	skipped := map[int]bool{}
	for _, w := range strings.Split(skip, ",") {
		if sid, ok := c.IDs[strings.TrimSpace(w)]; ok {
			skipped[sid] = true
		}
	}
	m, err := load(params, len(c.Words), 1)
	if err != nil {
		return err
	}
	st, err := generate.NewStepper(m, generate.Options{Meaning: graph.Logits})
	if err != nil {
		return err
	}
	if err := st.Reset(); err != nil {
		return err
	}
	smp := generate.Sampler{Temperature: 1, Source: seqdata.NewRandomState(seed)}
	words := []string{start}
	for x := id; len(words) < n; {
		p, err := st.Feed([][]int{{x}})
		if err != nil {
			return err
		}
		next, err := smp.Pick(p[0])
		if err != nil {
			return err
		}
		if !skipped[next] {
			x = next
			words = append(words, c.Words[x])
		}
	}
	txt := strings.ReplaceAll(strings.Join(words, " "), " <eos>", ".\n")
	_, err = fmt.Fprintln(stdout, txt)
	return err
}

// load reads the book's Rnnlm params and builds the model for texts of
// steps words over a vocabulary of vocab words.
func load(path string, vocab, steps int) (*graph.Model, error) {
	f, err := readList(path)
	if err != nil {
		return nil, err
	}
	if len(f) != 6 || len(f[0].Shape) != 2 || len(f[1].Shape) != 2 {
		return nil, fmt.Errorf("--params %s: %d arrays, want Rnnlm's 6 (embed W, LSTM Wx, Wh, b, affine W, b)", path, len(f))
	}
	v, d, h := f[0].Shape[0], f[0].Shape[1], f[1].Shape[1]/4
	if v != vocab {
		return nil, fmt.Errorf("--params %s: an embedding of %d words, the vocabulary has %d", path, v, vocab)
	}
	names := []string{"embed W", "lstm Wx", "lstm Wh", "lstm b", "affine W", "affine b"}
	want := [][]int{{v, d}, {d, 4 * h}, {h, 4 * h}, {4 * h}, {h, v}, {v}}
	for i, p := range f {
		if fmt.Sprint(p.Shape) != fmt.Sprint(want[i]) {
			return nil, fmt.Errorf("--params %s: array %d (%s) has shape %v, the model wants %v", path, i, names[i], p.Shape, want[i])
		}
	}
	m, err := graph.NewSequential([]int{steps},
		&graph.Embedding{Vocab: v, Dim: d}, &graph.LSTM{Units: h, Sequences: true}, &graph.TimeDense{Units: v})
	if err != nil {
		return nil, err
	}
	wih, bih := bookGates(f[1].Data, d, h), bookGates(f[3].Data, 1, h)
	whh := bookGates(f[2].Data, h, h)
	for _, p := range []struct {
		name  string
		shape []int
		data  []float32
	}{
		{"embedding1.weight", []int{v, d}, f[0].Data},
		{"lstm1.weight_ih", []int{4 * h, d}, wih},
		{"lstm1.weight_hh", []int{4 * h, h}, whh},
		{"lstm1.bias_ih", []int{4 * h}, bih},
		{"lstm1.bias_hh", []int{4 * h}, make([]float32, 4*h)},
		{"timedense1.weight", []int{h, v}, f[4].Data},
		{"timedense1.bias", []int{v}, f[5].Data},
	} {
		if err := m.SetParam(p.name, p.shape, p.data); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func readList(path string) ([]numpyio.Array, error) {
	ps, err := book2.ReadParams(path)
	if err != nil {
		return nil, fmt.Errorf("--params %w", err)
	}
	return ps, nil
}

// bookGates turns the book's (in, 4H) matrix with gate blocks f, g, i, o
// along its columns into PyTorch's (4H, in) with blocks i, f, g, o along
// its rows.
func bookGates(w []float32, in, h int) []float32 {
	out := make([]float32, 4*h*in)
	src := [4]int{2, 0, 1, 3} // PyTorch's i, f, g, o in the book's f, g, i, o
	for gi, sg := range src {
		for k := 0; k < h; k++ {
			row := out[(gi*h+k)*in : (gi*h+k+1)*in]
			for j := 0; j < in; j++ {
				row[j] = w[j*4*h+sg*h+k]
			}
		}
	}
	return out
}
