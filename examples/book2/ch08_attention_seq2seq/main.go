// Command ch08_attention_seq2seq is the AttentionSeq2seq of "Deep Learning
// from Scratch 2" (ch08/attention_seq2seq.py, attention_layer.py,
// train.py) on date data:
//
//	encoder  Embedding (wordvec 16) → LSTM 256, every step's state hs
//	decoder  Embedding → LSTM 256 from h0 = hs[:, -1] (c0 zero)
//	         → TimeAttention over hs → [c, h] → TimeDense over the vocabulary
//
// Trained as ch08/train.py does: questions reversed, softmax cross-entropy
// per step, Adam 0.001, gradients clipped to norm 5, batch 128, 10 epochs,
// the book's initialisation (embeddings N(0, 1)/100, LSTM weights
// N(0, 1)/√fan-in, affine N(0, 1)/√2H, biases zero). After each epoch it
// prints the validation accuracy: a question counts when the greedy answer
// (argmax fed back from the start mark '_', ten characters) equals the
// whole answer, as common/util.py eval_seq2seq.
//
//	go run ./examples/book2/ch08_attention_seq2seq [--data date.txt] [--attention map.png]
//
// The data is the book's dataset/date.txt with --data, else 50,000
// generated dates of its format (seqdata.WriteDates); rows split as
// sequence.load_data(file, seed=1984).
//
// With --params it trains nothing and evaluates a file the book's
// save_params wrote (a pickle list of float16 arrays in the model's params
// order: encoder embed W, LSTM Wx, Wh, b; decoder embed W, LSTM Wx, Wh, b,
// affine W, b) on the test split of --data, writing one line per test
// question (the question as in the file, a tab, the greedy answer) to
// --predictions:
//
//	go run ./examples/book2/ch08_attention_seq2seq --params AttentionSeq2seq.pkl \
//	    --data date.txt --predictions predictions.txt
//
// --save writes the trained model as save_params would (book2.WriteParams:
// the same ten float16 arrays, LSTM gates back in the book's order), so
// --params reads it back and the book's numpy code can load it.
//
// --attention draws the attention weights of five test questions (picked
// as ch08/visualize_attention.py does: np.random.seed(1984), randint) as
// heat maps, the book's figure 8-26/8-27.
package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	_ "github.com/tapenet/tapenet/blas"
	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/examples/book2/internal/book2"
	"github.com/tapenet/tapenet/examples/book2/internal/seqdata"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
	"github.com/tapenet/tapenet/numpyio"
	"gorgonia.org/tensor"
)

const usage = `
ch08_attention_seq2seq: the book's AttentionSeq2seq on dates.

Usage:
  go run ./examples/book2/ch08_attention_seq2seq [--data date.txt] [--epochs 10] [--attention map.png] [--save AttentionSeq2seq.pkl]
  go run ./examples/book2/ch08_attention_seq2seq --params AttentionSeq2seq.pkl --data date.txt --predictions FILE
`

// bookFigure is what the book shows for ch08/train.py: figure 8-26 plots
// the validation accuracy per epoch, the attention model climbing to about
// 100% within the first epochs (a curve; the book prints no table of it).
const bookFigure = "book (figure 8-26): the attention model reaches about 100% within its first epochs (a curve, no table printed)"

func main() { cli.Main("ch08_attention_seq2seq", run) }

type options struct {
	data, params, predictions, attention, save string
	epochs, limit, wordvec, hidden, n          int
	seed                                       uint64
}

func run(args []string, stdout, _ io.Writer) error {
	fs := cli.NewFlags("ch08_attention_seq2seq", usage, stdout)
	var o options
	fs.StringVar(&o.data, "data", "", "the book's dataset/date.txt (default: 50,000 generated dates)")
	fs.StringVar(&o.params, "params", "", "evaluate the book's AttentionSeq2seq.pkl (save_params: a list of float16 arrays) instead of training")
	fs.StringVar(&o.predictions, "predictions", "", "with --params: write each test question and its greedy answer to this file")
	fs.StringVar(&o.save, "save", "", "after training, write the params as the book's save_params does (AttentionSeq2seq.pkl, float16)")
	fs.StringVar(&o.attention, "attention", "", "draw the attention maps of five test questions to this PNG")
	fs.IntVar(&o.epochs, "epochs", 10, "epochs (the book: 10)")
	fs.IntVar(&o.limit, "limit", 0, "use only the first N rows after the shuffle (0: all)")
	fs.IntVar(&o.n, "generate", 50000, "without --data: the number of generated dates")
	fs.IntVar(&o.wordvec, "wordvec", 16, "embedding size (the book: 16)")
	fs.IntVar(&o.hidden, "hidden", 256, "LSTM size (the book: 256)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the initial weights and of the batch order")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.epochs < 1 || o.limit < 0 || o.wordvec < 1 || o.hidden < 1 || o.n < 1 {
		return cli.Usagef("--epochs, --generate, --wordvec and --hidden must be positive and --limit not negative")
	}
	if o.params != "" && o.data == "" {
		return cli.Usagef("--params needs --data: the vocabulary and the test split come from the book's date.txt")
	}
	if o.predictions != "" && o.params == "" {
		return cli.Usagef("--predictions needs --params")
	}
	if o.save != "" && o.params != "" {
		return cli.Usagef("--save writes a trained model: not with --params")
	}
	for _, p := range []struct{ flag, path string }{{"--predictions", o.predictions}, {"--attention", o.attention}, {"--save", o.save}} {
		if p.path != "" {
			if err := cli.CheckWritable(p.flag, p.path); err != nil {
				return err
			}
		}
	}
	d, err := loadData(o)
	if err != nil {
		return err
	}
	n := d.N()
	if o.limit > 0 && o.limit < n {
		n = o.limit
	}
	split := n - n/10
	if split < 1 || split == n {
		return fmt.Errorf("--limit %d leaves no training or no test rows", n)
	}
	if _, ok := d.IDs['_']; !ok || d.ALen < 2 {
		return fmt.Errorf("--data: no start mark '_' before the answers")
	}
	s := &session{d: d, lo: split, hi: n, v: len(d.Chars), steps: d.ALen - 1}
	if o.params != "" {
		return s.evaluate(o, stdout)
	}
	return s.train(o, stdout)
}

func loadData(o options) (*seqdata.Data, error) {
	if o.data != "" {
		d, err := seqdata.Load(o.data, 1984)
		if err != nil {
			return nil, fmt.Errorf("--data %w", err)
		}
		return d, nil
	}
	var buf bytes.Buffer
	if err := seqdata.WriteDates(&buf, o.n, 1); err != nil {
		return nil, fmt.Errorf("--generate: %w", err)
	}
	return seqdata.Read(&buf, 1984)
}

// session is one data set and its test rows [lo, hi).
type session struct {
	d        *seqdata.Data
	lo, hi   int
	v, steps int
}

// build declares the AttentionSeq2seq for v characters, embeddings of d
// and states of h: inputs the reversed question ids and the decoder's
// input ids, output the logits (steps, v), or with weights the attention
// weights (steps, question length).
func (s *session) build(d, h int, weights bool) (*graph.Model, error) {
	q, dec := graph.Input("question", s.d.QLen), graph.Input("decoder", s.steps)
	hs := graph.ApplyNamed("enc_lstm", &graph.LSTM{Units: h, Sequences: true},
		graph.ApplyNamed("enc_embed", &graph.Embedding{Vocab: s.v, Dim: d}, q))
	h0 := graph.ApplyNamed("enc_last", LastStep{}, hs)
	dhs := graph.ApplyNamed("dec_lstm", &graph.LSTM{Units: h, Sequences: true},
		graph.ApplyNamed("dec_embed", &graph.Embedding{Vocab: s.v, Dim: d}, dec), h0)
	var y *graph.Tensor
	if weights {
		y = graph.ApplyNamed("attention", &TimeAttention{Weights: true}, hs, dhs)
	} else {
		y = graph.ApplyNamed("affine", &graph.TimeDense{Units: s.v},
			graph.ApplyNamed("attention", &TimeAttention{}, hs, dhs))
	}
	return graph.NewModel([]*graph.Tensor{q, dec}, []*graph.Tensor{y})
}

// bookInit sets the book's initial weights (AttentionEncoder/Decoder's
// __init__): rn(V, D)/100, rn(D, 4H)/√D, rn(H, 4H)/√H, rn(2H, V)/√2H, zero
// biases, drawn from a generator seeded with seed.
func bookInit(m *graph.Model, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 8))
	for _, name := range m.ParamNames() {
		p := m.Param(name)
		shape := p.Shape()
		vals := make([]float32, shape.TotalSize())
		var scale float64
		switch {
		case strings.HasSuffix(name, "embed.weight"):
			scale = 0.01
		case strings.HasSuffix(name, "weight_ih"), strings.HasSuffix(name, "weight_hh"):
			scale = 1 / math.Sqrt(float64(shape[1]))
		case name == "affine.weight":
			scale = 1 / math.Sqrt(float64(shape[0]))
		}
		for i := range vals {
			vals[i] = float32(rng.NormFloat64() * scale)
		}
		if err := m.SetParam(name, shape, vals); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) train(o options, stdout io.Writer) error {
	m, err := s.build(o.wordvec, o.hidden, false)
	if err != nil {
		return err
	}
	if err := bookInit(m, o.seed); err != nil {
		return err
	}
	tr, err := train.NewTrainer(m, train.Config{LearningRate: 0.001, ClipNorm: 5, Seed: o.seed,
		Losses: []train.Loss{train.CrossEntropy}})
	if err != nil {
		return err
	}
	q, dec, tgt := s.tensors(0, s.lo)
	fmt.Fprintf(stdout, "attention seq2seq: %d train, %d test questions, vocabulary %d, wordvec %d, hidden %d, reversed questions\n",
		s.lo, s.hi-s.lo, s.v, o.wordvec, o.hidden)
	t0 := time.Now()
	for e := 1; e <= o.epochs; e++ {
		te := time.Now()
		st, err := tr.EpochInputs([]*tensor.Dense{q, dec}, []*tensor.Dense{tgt}, 128, nil)
		if err != nil {
			return fmt.Errorf("epoch %d: %w", e, err)
		}
		tt := time.Since(te)
		guess, err := s.generate(m)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "epoch %d  loss %.4f  val acc %.3f%%  (train %.0fs, eval %.0fs)\n", e, st.Loss,
			100*s.accuracy(guess), tt.Seconds(), (time.Since(te) - tt).Seconds())
		if o.attention != "" { // redrawn after every epoch: a stopped run keeps the last one
			if err := s.drawAttention(m, o.wordvec, o.hidden, o.attention); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(stdout, "%s\ntotal %.0fs\n", bookFigure, time.Since(t0).Seconds())
	if o.save != "" {
		if err := cli.WriteFile(o.save, func(w io.Writer) error { return saveBook(w, m, o.wordvec, o.hidden) }); err != nil {
			return fmt.Errorf("--save %w", err)
		}
	}
	return nil
}

// saveBook writes the model's params in the book's order and layout, as
// save_params: LSTM weights back to (in, 4H) with gates f, g, i, o, the
// two biases summed into the book's one.
func saveBook(w io.Writer, m *graph.Model, d, h int) error {
	p := func(name string) []float32 { return m.Param(name).Float32s() }
	var shapes [][]int
	var data [][]float32
	for _, side := range []string{"enc", "dec"} {
		b := append([]float32(nil), p(side+"_lstm.bias_ih")...)
		for i, v := range p(side + "_lstm.bias_hh") {
			b[i] += v
		}
		shapes = append(shapes, []int{paramDim(m, side+"_embed.weight", 0), d}, []int{d, 4 * h}, []int{h, 4 * h}, []int{4 * h})
		data = append(data, p(side+"_embed.weight"), book2.BookLSTMGates(p(side+"_lstm.weight_ih"), d, h),
			book2.BookLSTMGates(p(side+"_lstm.weight_hh"), h, h), book2.BookLSTMGates(b, 1, h))
	}
	v := paramDim(m, "affine.bias", 0)
	shapes = append(shapes, []int{2 * h, v}, []int{v})
	data = append(data, p("affine.weight"), p("affine.bias"))
	return book2.WriteParams(w, shapes, data)
}

// paramDim returns axis i of a parameter's shape.
func paramDim(m *graph.Model, name string, i int) int { return m.Param(name).Shape()[i] }

// evaluate loads the book's params, generates an answer per test question,
// prints the accuracy and writes the predictions.
func (s *session) evaluate(o options, stdout io.Writer) error {
	m, d, h, err := s.load(o.params)
	if err != nil {
		return err
	}
	guess, err := s.generate(m)
	if err != nil {
		return err
	}
	k := s.hi - s.lo
	right := s.accuracy(guess)
	fmt.Fprintf(stdout, "%s: %d test questions, val acc %.3f%% (%d right)\n", o.params, k, 100*right, int(math.Round(right*float64(k))))
	if o.predictions != "" {
		err := cli.WriteFile(o.predictions, func(w io.Writer) error {
			var b strings.Builder
			for r := 0; r < k; r++ {
				row := s.lo + r
				b.WriteString(s.d.Decode(s.d.Q[row*s.d.QLen : (row+1)*s.d.QLen]))
				b.WriteByte('\t')
				b.WriteString(s.d.Decode(guess[r*s.steps : (r+1)*s.steps]))
				b.WriteByte('\n')
			}
			_, err := io.WriteString(w, b.String())
			return err
		})
		if err != nil {
			return fmt.Errorf("--predictions %w", err)
		}
	}
	if o.attention != "" {
		return s.drawAttention(m, d, h, o.attention)
	}
	return nil
}

// paramNames names the book's params in their save_params order.
var paramNames = []string{"encoder embed W", "encoder LSTM Wx", "encoder LSTM Wh", "encoder LSTM b",
	"decoder embed W", "decoder LSTM Wx", "decoder LSTM Wh", "decoder LSTM b", "affine W", "affine b"}

// load reads a save_params list and builds the model from it, checking
// every array's shape against the data's vocabulary first.
func (s *session) load(path string) (*graph.Model, int, int, error) {
	f, err := book2.ReadParams(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("--params %w", err)
	}
	if len(f) != len(paramNames) || len(f[0].Shape) != 2 || len(f[1].Shape) != 2 || f[1].Shape[1]%4 != 0 {
		return nil, 0, 0, fmt.Errorf("--params %s: %d arrays, want AttentionSeq2seq's 10 (%s)", path, len(f), strings.Join(paramNames, ", "))
	}
	v, d, h := s.v, f[0].Shape[1], f[1].Shape[1]/4
	want := [][]int{{v, d}, {d, 4 * h}, {h, 4 * h}, {4 * h}, {v, d}, {d, 4 * h}, {h, 4 * h}, {4 * h}, {2 * h, v}, {v}}
	for i, p := range f {
		if fmt.Sprint(p.Shape) != fmt.Sprint(want[i]) {
			return nil, 0, 0, fmt.Errorf("--params %s: array %d (%s) has shape %v, the model of a %d-character vocabulary wants %v",
				path, i, paramNames[i], p.Shape, v, want[i])
		}
	}
	m, err := s.build(d, h, false)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("--params %s: %w", path, err)
	}
	if err := setBook(m, f, d, h); err != nil {
		return nil, 0, 0, fmt.Errorf("--params %s: %w", path, err)
	}
	return m, d, h, nil
}

// setBook copies the book's arrays into the model: the LSTMs' gate blocks
// f, g, i, o reordered into PyTorch's i, f, g, o rows, the book's one bias
// as bias_ih (bias_hh zero).
func setBook(m *graph.Model, f []numpyio.Array, d, h int) error {
	for _, p := range []struct {
		name  string
		shape []int
		data  []float32
	}{
		{"enc_embed.weight", f[0].Shape, f[0].Data},
		{"enc_lstm.weight_ih", []int{4 * h, d}, book2.LSTMGates(f[1].Data, d, h)},
		{"enc_lstm.weight_hh", []int{4 * h, h}, book2.LSTMGates(f[2].Data, h, h)},
		{"enc_lstm.bias_ih", []int{4 * h}, book2.LSTMGates(f[3].Data, 1, h)},
		{"enc_lstm.bias_hh", []int{4 * h}, make([]float32, 4*h)},
		{"dec_embed.weight", f[4].Shape, f[4].Data},
		{"dec_lstm.weight_ih", []int{4 * h, d}, book2.LSTMGates(f[5].Data, d, h)},
		{"dec_lstm.weight_hh", []int{4 * h, h}, book2.LSTMGates(f[6].Data, h, h)},
		{"dec_lstm.bias_ih", []int{4 * h}, book2.LSTMGates(f[7].Data, 1, h)},
		{"dec_lstm.bias_hh", []int{4 * h}, make([]float32, 4*h)},
		{"affine.weight", f[8].Shape, f[8].Data},
		{"affine.bias", f[9].Shape, f[9].Data},
	} {
		if err := m.SetParam(p.name, p.shape, p.data); err != nil {
			return err
		}
	}
	return nil
}

// tensors returns rows [lo, hi): the reversed questions, the decoder
// inputs t[:, :-1] as float32 ids and the targets t[:, 1:] one-hot.
func (s *session) tensors(lo, hi int) (q, dec, tgt *tensor.Dense) {
	k, st, ql, v := hi-lo, s.steps, s.d.QLen, s.v
	qs, ds, ts := s.questions(lo, hi), make([]float32, k*st), make([]float32, k*st*v)
	for r := 0; r < k; r++ {
		a := s.d.A[(lo+r)*s.d.ALen : (lo+r+1)*s.d.ALen]
		for j := 0; j < st; j++ {
			ds[r*st+j] = float32(a[j])
			ts[(r*st+j)*v+a[j+1]] = 1
		}
	}
	return tensor.New(tensor.WithShape(k, ql), tensor.WithBacking(qs)),
		tensor.New(tensor.WithShape(k, st), tensor.WithBacking(ds)),
		tensor.New(tensor.WithShape(k, st, v), tensor.WithBacking(ts))
}

// questions returns rows [lo, hi) of the questions reversed, as
// x[:, ::-1], float32 ids.
func (s *session) questions(lo, hi int) []float32 {
	ql := s.d.QLen
	qs := make([]float32, (hi-lo)*ql)
	for r := lo; r < hi; r++ {
		for j, id := range s.d.Q[r*ql : (r+1)*ql] {
			qs[(r-lo)*ql+ql-1-j] = float32(id)
		}
	}
	return qs
}

// generate answers every test question greedily: the decoder is causal (an
// LSTM, then attention of each step alone over the encoder's states), so
// running it on the answer so far and reading step j gives the (j+1)-th
// character, as the book's generate feeding back its argmax one step at a
// time. It returns the steps generated ids of each question, in order.
func (s *session) generate(m *graph.Model) ([]int, error) {
	const chunk = 500
	pr := graph.NewPredictor(m)
	st, v, ql := s.steps, s.v, s.d.QLen
	start := float32(s.d.IDs['_'])
	gen := make([]int, (s.hi-s.lo)*st)
	for lo := s.lo; lo < s.hi; lo += chunk {
		hi := min(lo+chunk, s.hi)
		k := hi - lo
		q := tensor.New(tensor.WithShape(k, ql), tensor.WithBacking(s.questions(lo, hi)))
		in := make([]float32, k*st)
		for r := 0; r < k; r++ {
			in[r*st] = start
		}
		for j := 0; j < st; j++ {
			out, err := pr.Predict(q, tensor.New(tensor.WithShape(k, st), tensor.WithBacking(append([]float32(nil), in...))))
			if err != nil {
				return nil, fmt.Errorf("generate: %w", err)
			}
			y := out[0].Float32s()
			for r := 0; r < k; r++ {
				row := y[(r*st+j)*v : (r*st+j+1)*v]
				best := 0
				for c, p := range row {
					if p > row[best] {
						best = c
					}
				}
				gen[(lo-s.lo+r)*st+j] = best
				if j+1 < st {
					in[r*st+j+1] = float32(best)
				}
			}
		}
	}
	return gen, nil
}

// accuracy is the share of test questions whose every generated character
// equals the answer's.
func (s *session) accuracy(gen []int) float64 {
	k := s.hi - s.lo
	right := 0
	for r := 0; r < k; r++ {
		a := s.d.A[(s.lo+r)*s.d.ALen+1 : (s.lo+r+1)*s.d.ALen]
		ok := true
		for j, c := range a {
			ok = ok && gen[r*s.steps+j] == c
		}
		if ok {
			right++
		}
	}
	return float64(right) / float64(k)
}
