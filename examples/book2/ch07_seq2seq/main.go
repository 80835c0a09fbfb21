// Command ch07_seq2seq trains the Seq2seq of "Deep Learning from Scratch 2"
// (ch07/seq2seq.py, ch07/train_seq2seq.py) on addition data: encoder
// Embedding (wordvec 16) → LSTM 128 (last state h); decoder Embedding →
// LSTM 128 starting from h (c zero) → TimeDense over the vocabulary;
// softmax cross-entropy per step, Adam 0.001, gradients clipped to norm 5,
// batch 128. After each epoch it prints the validation accuracy: a
// question counts when the greedy answer (argmax fed back, from the start
// mark '_', by a stateful generate.Stepper) equals the whole answer, as
// common/util.py eval_seq2seq.
//
// The data is the book's dataset/addition.txt with --data, else 50,000
// generated questions of its format; rows split as sequence.load_data(
// file, seed=1984).
//
// --peeky is the book's PeekySeq2seq (ch07/peeky_seq2seq.py): the
// encoder's h is concatenated (before the embedding) to the decoder LSTM's
// input at every step, and (before the LSTM's output) to the TimeDense's
// input, so every step of the decoder sees the question's summary.
//
// The weights start from tapenet's (PyTorch's) initialisation, not the
// book's randn scalings, and the batches come from --seed's shuffle, not
// numpy's: the curves are the book's experiment, not its exact numbers.
// The last line gives what the book reports after 25 epochs (figure 7-26).
//
// Measured (generated data, seed 1, 2-core machine shared by other jobs):
// --reverse --peeky 1.2% after epoch 1, 53.4% after 6, 91.3% after 10,
// 97.1% after 15, 98.3% after 20 and 98.26% after 25 (63 min wall);
// --reverse 24.5% after 10, 37.9% after 20, 45.4% after 23 (53 min
// wall, 43.8% after 25); the baseline 11.5% after 8 epochs (stopped).
package main

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/examples/book2/internal/seqdata"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/generate"
	"github.com/tapenet/tapenet/graph/train"
	"gorgonia.org/tensor"
)

const usage = `usage: ch07_seq2seq [--reverse] [--peeky] [--data addition.txt] [--epochs N] [--limit N]
`

func main() { cli.Main("ch07_seq2seq", run) }

func run(args []string, stdout, _ io.Writer) error {
	fs := cli.NewFlags("ch07_seq2seq", usage, stdout)
	data := fs.String("data", "", "the book's dataset/addition.txt (default: 50,000 generated questions)")
	reverse := fs.Bool("reverse", false, "reverse the questions (the book's is_reverse)")
	peeky := fs.Bool("peeky", false, "the PeekySeq2seq: the encoder's h fed to every decoder step and to the affine")
	epochs := fs.Int("epochs", 25, "epochs (the book: 25)")
	limit := fs.Int("limit", 0, "use only the first N rows after the shuffle (0: all)")
	seed := fs.Uint64("seed", 1, "seed of the initial weights and of the batch order")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *epochs < 1 || *limit < 0 {
		return cli.Usagef("--epochs must be positive and --limit not negative")
	}
	var d *seqdata.Data
	var err error
	if *data != "" {
		d, err = seqdata.Load(*data, 1984)
	} else {
		var buf bytes.Buffer
		if err = seqdata.WriteAddition(&buf, 50000, 1); err == nil {
			d, err = seqdata.Read(&buf, 1984)
		}
	}
	if err != nil {
		return fmt.Errorf("--data %w", err)
	}
	n := d.N()
	if *limit > 0 && *limit < n {
		n = *limit
	}
	split := n - n/10
	if split < 1 || split == n {
		return fmt.Errorf("--limit %d leaves no training or no test rows", n)
	}
	start, ok := d.IDs['_']
	if !ok {
		return fmt.Errorf("--data: no start mark '_' in the answers")
	}
	v := len(d.Chars)
	m, err := model(v, d.QLen, d.ALen-1, *peeky)
	if err != nil {
		return err
	}
	m.Init(*seed)
	tr, err := train.NewTrainer(m, train.Config{LearningRate: 0.001, ClipNorm: 5, Seed: *seed,
		Losses: []train.Loss{train.CrossEntropy}})
	if err != nil {
		return err
	}
	q, dec, tgt := tensors(d, 0, split, *reverse)
	tq, _, _ := tensors(d, split, n, *reverse)
	fmt.Fprintf(stdout, "seq2seq: %d train, %d test questions, vocabulary %d, reverse %v, peeky %v\n", split, n-split, v, *reverse, *peeky)
	for e := 1; e <= *epochs; e++ {
		t0 := time.Now()
		st, err := tr.EpochInputs([]*tensor.Dense{q, dec}, []*tensor.Dense{tgt}, 128, nil)
		if err != nil {
			return fmt.Errorf("epoch %d: %w", e, err)
		}
		acc, err := accuracy(m, d, tq, split, n, start)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "epoch %d  loss %.4f  val acc %.3f%%  (%.1fs)\n", e, st.Loss, 100*acc, time.Since(t0).Seconds())
	}
	fmt.Fprintf(stdout, "book (figure 7-26, after 25 epochs): %s\n", bookFigure(*reverse, *peeky))
	return nil
}

// model builds the seq2seq: inputs the question ids (qlen) and the
// decoder's input ids (steps), output the logits (steps, vocab). The
// decoder LSTM starts from the encoder's h (c zero), as the book's
// set_state(h). With peeky, the decoder LSTM's input at each step is
// [h, embedding] and the affine's [h, LSTM output], the book's order.
func model(v, qlen, steps int, peeky bool) (*graph.Model, error) {
	q, dec := graph.Input("question", qlen), graph.Input("decoder", steps)
	h := graph.ApplyNamed("enc_lstm", &graph.LSTM{Units: 128},
		graph.ApplyNamed("enc_embed", &graph.Embedding{Vocab: v, Dim: 16}, q))
	in := graph.ApplyNamed("dec_embed", &graph.Embedding{Vocab: v, Dim: 16}, dec)
	var hs *graph.Tensor
	if peeky {
		hs = graph.ApplyNamed("peek", &Repeat{}, h, in)
		in = graph.ApplyNamed("peek_in", &graph.Concat{Axis: -1}, hs, in)
	}
	out := graph.ApplyNamed("dec_lstm", &graph.LSTM{Units: 128, Sequences: true}, in, h)
	if peeky {
		out = graph.ApplyNamed("peek_out", &graph.Concat{Axis: -1}, hs, out)
	}
	y := graph.ApplyNamed("dec_affine", &graph.TimeDense{Units: v}, out)
	return graph.NewModel([]*graph.Tensor{q, dec}, []*graph.Tensor{y})
}

// tensors returns rows [lo, hi): the questions (reversed if asked), the
// decoder inputs t[:, :-1] as float32 ids and the targets t[:, 1:] one-hot.
func tensors(d *seqdata.Data, lo, hi int, reverse bool) (q, dec, tgt *tensor.Dense) {
	k, s := hi-lo, d.ALen-1
	v := len(d.Chars)
	qs, ds, ts := make([]float32, k*d.QLen), make([]float32, k*s), make([]float32, k*s*v)
	for r := 0; r < k; r++ {
		row := d.Q[(lo+r)*d.QLen : (lo+r+1)*d.QLen]
		for j, id := range row {
			if reverse {
				j = d.QLen - 1 - j
			}
			qs[r*d.QLen+j] = float32(id)
		}
		a := d.A[(lo+r)*d.ALen : (lo+r+1)*d.ALen]
		for j := 0; j < s; j++ {
			ds[r*s+j] = float32(a[j])
			ts[(r*s+j)*v+a[j+1]] = 1
		}
	}
	return tensor.New(tensor.WithShape(k, d.QLen), tensor.WithBacking(qs)),
		tensor.New(tensor.WithShape(k, s), tensor.WithBacking(ds)),
		tensor.New(tensor.WithShape(k, s, v), tensor.WithBacking(ts))
}

// accuracy generates an answer to every question greedily (answers) and
// returns the share whose every character equals the answer's, as the
// book's eval_seq2seq.
func accuracy(m *graph.Model, d *seqdata.Data, q *tensor.Dense, lo, hi, start int) (float64, error) {
	gen, err := answers(m, q, d.ALen-1, start)
	if err != nil {
		return 0, err
	}
	right := 0
	for r, g := range gen {
		ok := true
		for j, c := range g {
			if c != d.A[(lo+r)*d.ALen+j+1] {
				ok = false
			}
		}
		if ok {
			right++
		}
	}
	return float64(right) / float64(hi-lo), nil
}

// answers runs the decoder one step at a time (generate.Stepper: its LSTM
// starts from the encoder's h of each question and carries h and c), from
// the start mark, feeding back the argmax: steps characters per question,
// all questions as one batch. The book's Seq2seq.generate, batched.
func answers(m *graph.Model, q *tensor.Dense, steps, start int) ([][]int, error) {
	st, err := generate.NewStepper(m, generate.Options{Input: "decoder", Meaning: graph.Logits})
	if err != nil {
		return nil, err
	}
	if err := st.Reset(q); err != nil {
		return nil, err
	}
	first := make([][]int, q.Shape()[0])
	for i := range first {
		first[i] = []int{start}
	}
	gen, err := st.Generate(first, steps, generate.Sampler{})
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	return gen, nil
}

// bookFigure is what the book reports for the configuration after its 25
// epochs (ch07, figure 7-26 and its text): about 10% for the baseline,
// about 50% with the reversed input, and close to 100% with reverse and
// peeky together.
func bookFigure(reverse, peeky bool) string {
	switch {
	case reverse && peeky:
		return "reverse + peeky about 99%"
	case reverse:
		return "reverse about 50%"
	case peeky:
		return "peeky alone is not in the figure (baseline about 10%, reverse + peeky about 99%)"
	}
	return "baseline about 10%"
}
