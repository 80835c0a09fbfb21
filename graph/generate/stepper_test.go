package generate_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/generate"
	"gorgonia.org/tensor"
)

const vocab = 11

var tokens = [][]int{{3, 1, 4, 1, 5, 9, 2}, {10, 0, 7, 7, 2, 6, 8}}

// lm builds a next-token model over T tokens with the given layers after
// an Embedding; all models of one layers value share its parameters.
func lm(t *testing.T, steps int, layers ...graph.Layer) *graph.Model {
	t.Helper()
	m, err := graph.NewSequential([]int{steps}, append([]graph.Layer{&graph.Embedding{Vocab: vocab, Dim: 5}}, layers...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func idTensor(ids [][]int, n int) *tensor.Dense {
	v := make([]float32, 0, len(ids)*n)
	for _, row := range ids {
		for _, id := range row[:n] {
			v = append(v, float32(id))
		}
	}
	return tensor.New(tensor.WithShape(len(ids), n), tensor.WithBacking(v))
}

// copyParams gives dst every parameter of src (same layer names).
func copyParams(t *testing.T, dst, src *graph.Model) {
	t.Helper()
	for _, name := range src.ParamNames() {
		p := src.Param(name)
		if err := dst.SetParam(name, p.Shape(), p.Float32s()); err != nil {
			t.Fatal(err)
		}
	}
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestStepEqualsWhole feeds the tokens one at a time (and in chunks) and
// compares every step's probabilities with the model run over the whole
// prefix at once through the fused recurrent ops: within 1e-6.
func TestStepEqualsWhole(t *testing.T) {
	T := len(tokens[0])
	for _, tc := range []struct {
		name    string
		layers  func() []graph.Layer
		meaning graph.Meaning
		timed   bool
	}{
		{"lstm logits", func() []graph.Layer {
			return []graph.Layer{&graph.LSTM{Units: 6, Sequences: true}, &graph.TimeDense{Units: vocab}}
		}, graph.Logits, true},
		{"gru logits", func() []graph.Layer {
			return []graph.Layer{&graph.GRU{Units: 6, Sequences: true}, &graph.TimeDense{Units: vocab}}
		}, graph.Logits, true},
		{"rnn logits", func() []graph.Layer {
			return []graph.Layer{&graph.SimpleRNN{Units: 6, Sequences: true}, &graph.TimeDense{Units: vocab}}
		}, graph.Logits, true},
		{"lstm gru stack", func() []graph.Layer {
			return []graph.Layer{&graph.LSTM{Units: 8, Sequences: true}, &graph.LayerNorm{}, &graph.GRU{Units: 6, Sequences: true},
				&graph.GELU{}, &graph.TimeDense{Units: vocab}}
		}, graph.Logits, true},
		{"lstm last state softmax", func() []graph.Layer {
			return []graph.Layer{&graph.LSTM{Units: 6}, &graph.Dense{Units: vocab}, graph.Softmax{}}
		}, "", false},
		{"gru last state log_softmax", func() []graph.Layer {
			return []graph.Layer{&graph.GRU{Units: 6}, &graph.Dense{Units: vocab}, graph.LogSoftmax{}}
		}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			layers := tc.layers()
			whole := lm(t, T, layers...)
			whole.Init(7)
			st, err := generate.NewStepper(whole, generate.Options{Meaning: tc.meaning})
			if err != nil {
				t.Fatal(err)
			}
			// want[t][b]: probabilities after tokens[b][:t+1].
			want := make([][][]float32, T)
			for n := 1; n <= T; n++ {
				m, steps := whole, T
				if !tc.timed {
					steps = n
					m = lm(t, n, layers...)
					copyParams(t, m, whole)
				}
				out, err := graph.NewPredictor(m).Forward(idTensor(tokens, steps))
				if err != nil {
					t.Fatal(err)
				}
				v := out.Float32s()
				meaning := tc.meaning
				if meaning == "" {
					meaning = m.OutputMeaning(0)
				}
				if err := graph.ToProbabilities(meaning, v, vocab); err != nil {
					t.Fatal(err)
				}
				want[n-1] = make([][]float32, len(tokens))
				for b := range tokens {
					if tc.timed {
						want[n-1][b] = v[(b*T+n-1)*vocab : (b*T+n)*vocab]
					} else {
						want[n-1][b] = v[b*vocab : (b+1)*vocab]
					}
				}
			}
			if err := st.Reset(); err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for n := 0; n < T; n++ {
				p, err := st.Feed([][]int{{tokens[0][n]}, {tokens[1][n]}})
				if err != nil {
					t.Fatal(err)
				}
				for b := range p {
					worst = math.Max(worst, maxDiff(p[b], want[n][b]))
				}
			}
			// Chunks of 3 then 4 from a fresh state land on the same numbers.
			if err := st.Reset(); err != nil {
				t.Fatal(err)
			}
			for _, c := range [][2]int{{0, 3}, {3, T}} {
				p, err := st.Feed([][]int{tokens[0][c[0]:c[1]], tokens[1][c[0]:c[1]]})
				if err != nil {
					t.Fatal(err)
				}
				for b := range p {
					worst = math.Max(worst, maxDiff(p[b], want[c[1]-1][b]))
				}
			}
			if worst > 1e-6 {
				t.Errorf("stepped vs whole prefix: max difference %g > 1e-6", worst)
			}
			t.Logf("max difference %.2g", worst)
		})
	}
}

// seq2seq is an encoder over a question and a decoder over tokens that
// starts from the encoder's h (and c from a Dense of it), as the book's
// Seq2seq.
func seq2seq(t *testing.T, steps int, enc *graph.LSTM, dec *graph.LSTM, layers map[string]graph.Layer) *graph.Model {
	t.Helper()
	q, tok := graph.Input("question", 5), graph.Input("tokens", steps)
	h := graph.ApplyNamed("enc", enc, graph.ApplyNamed("enc_embed", layers["enc_embed"], q))
	c := graph.ApplyNamed("c0", layers["c0"], h)
	y := graph.ApplyNamed("dec", dec, graph.ApplyNamed("dec_embed", layers["dec_embed"], tok), h, c)
	y = graph.ApplyNamed("affine", layers["affine"], y)
	m, err := graph.NewModel([]*graph.Tensor{q, tok}, []*graph.Tensor{y})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSeq2seqStep: the encoder (not fed by the tokens) is recomputed from
// the question given at Reset, and the decoder starts from its h and c.
func TestSeq2seqStep(t *testing.T) {
	layers := map[string]graph.Layer{"enc_embed": &graph.Embedding{Vocab: vocab, Dim: 4}, "dec_embed": &graph.Embedding{Vocab: vocab, Dim: 4},
		"c0": &graph.Dense{Units: 6}, "affine": &graph.TimeDense{Units: vocab}}
	enc, dec := &graph.LSTM{Units: 6}, &graph.LSTM{Units: 6, Sequences: true}
	T := len(tokens[0])
	m := seq2seq(t, T, enc, dec, layers)
	m.Init(3)
	q := idTensor([][]int{{1, 2, 3, 4, 5}, {9, 8, 7, 6, 5}}, 5)
	out, err := graph.NewPredictor(m).Predict(q, idTensor(tokens, T))
	if err != nil {
		t.Fatal(err)
	}
	want := out[0].Float32s()
	if err := graph.ToProbabilities(graph.Logits, want, vocab); err != nil {
		t.Fatal(err)
	}
	st, err := generate.NewStepper(m, generate.Options{Input: "tokens", Meaning: graph.Logits})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Feed([][]int{{1}, {2}}); err == nil || !strings.Contains(err.Error(), "before Reset") {
		t.Errorf("Feed before Reset: %v", err)
	}
	if err := st.Reset(q); err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for n := 0; n < T; n++ {
		p, err := st.Feed([][]int{{tokens[0][n]}, {tokens[1][n]}})
		if err != nil {
			t.Fatal(err)
		}
		for b := range p {
			worst = math.Max(worst, maxDiff(p[b], want[(b*T+n)*vocab:(b*T+n+1)*vocab]))
		}
	}
	if worst > 1e-6 {
		t.Errorf("stepped decoder vs whole: max difference %g", worst)
	}
	if _, err := st.Feed([][]int{{1}}); err == nil || !strings.Contains(err.Error(), "Feed of 1 sequences") {
		t.Errorf("batch changed: %v", err)
	}
}

func TestNewStepperRefuses(t *testing.T) {
	attention, err := graph.NewSequential([]int{4}, &graph.Embedding{Vocab: vocab, Dim: 4},
		&graph.MultiHeadAttention{Heads: 2, Causal: true}, &graph.TimeDense{Units: vocab})
	if err != nil {
		t.Fatal(err)
	}
	values, err := graph.NewSequential([]int{4}, &graph.Embedding{Vocab: vocab, Dim: 4}, &graph.LSTM{Units: 3, Sequences: true}, &graph.TimeDense{Units: vocab})
	if err != nil {
		t.Fatal(err)
	}
	image, err := graph.NewSequential([]int{2, 2}, &graph.Dense{Units: 3}, graph.Softmax{})
	if err != nil {
		t.Fatal(err)
	}
	bidi, err := graph.NewSequential([]int{4}, &graph.Embedding{Vocab: vocab, Dim: 4},
		&graph.GRU{Units: 3, Sequences: true, Bidirectional: true}, &graph.TimeDense{Units: vocab})
	if err != nil {
		t.Fatal(err)
	}
	ids, lengths := graph.Input("ids", 4), graph.Input("lengths").As(graph.Int64)
	y := graph.Apply(&graph.TimeDense{Units: vocab}, graph.Apply(&graph.LSTM{Units: 3, Sequences: true},
		graph.Apply(&graph.Embedding{Vocab: vocab, Dim: 4}, ids), lengths))
	padded, err := graph.NewModel([]*graph.Tensor{ids, lengths}, []*graph.Tensor{y})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		m    *graph.Model
		opt  generate.Options
		want string
	}{
		{attention, generate.Options{Meaning: graph.Logits}, "layer multiheadattention1 (multiheadattention) may mix time steps"},
		{values, generate.Options{}, `means "values", not class scores`},
		{values, generate.Options{Input: "ids"}, `no input "ids"`},
		{values, generate.Options{Output: 1}, "output 1 of a model with 1 outputs"},
		{image, generate.Options{}, "no input of token ids"},
		{bidi, generate.Options{Meaning: graph.Logits}, "layer gru1 (gru) is bidirectional"},
		{padded, generate.Options{Meaning: graph.Logits}, "takes lengths or a padding mask (lengths)"},
	} {
		if _, err := generate.NewStepper(tc.m, tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.opt, err, tc.want)
		}
	}
	st, err := generate.NewStepper(values, generate.Options{Meaning: graph.Logits})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Reset(idTensor(tokens, 2)); err == nil || !strings.Contains(err.Error(), "Reset got 1 inputs") {
		t.Errorf("Reset with an extra input: %v", err)
	}
	if err := st.Reset(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Feed([][]int{{1, 2}, {3}}); err == nil || !strings.Contains(err.Error(), "sequence 1 has 1 tokens") {
		t.Errorf("ragged Feed: %v", err)
	}
	if _, err := st.Feed([][]int{{vocab}}); err == nil || !strings.Contains(err.Error(), "11") {
		t.Errorf("id outside the vocabulary: %v", err)
	}
}

// TestGenerateSeeded: the same seed gives the same tokens, another seed
// other tokens; greedy generation is the argmax fed back.
func TestGenerateSeeded(t *testing.T) {
	m := lm(t, 4, &graph.LSTM{Units: 6, Sequences: true}, &graph.TimeDense{Units: vocab})
	m.Init(5)
	st, err := generate.NewStepper(m, generate.Options{Meaning: graph.Logits})
	if err != nil {
		t.Fatal(err)
	}
	run := func(smp generate.Sampler) []int {
		t.Helper()
		if err := st.Reset(); err != nil {
			t.Fatal(err)
		}
		out, err := st.Generate([][]int{{3}}, 30, smp)
		if err != nil {
			t.Fatal(err)
		}
		return out[0]
	}
	seeded := func(seed uint64) generate.Sampler {
		return generate.Sampler{Temperature: 1.5, Source: rand.New(rand.NewPCG(seed, 0))}
	}
	a, b, c := run(seeded(1)), run(seeded(1)), run(seeded(2))
	if !equal(a, b) || equal(a, c) {
		t.Errorf("seed 1: %v and %v; seed 2: %v", a, b, c)
	}
	greedy := run(generate.Sampler{})
	// Greedy by hand: argmax of each step's probabilities, fed back.
	if err := st.Reset(); err != nil {
		t.Fatal(err)
	}
	tok := 3
	for i, g := range greedy {
		p, err := st.Feed([][]int{{tok}})
		if err != nil {
			t.Fatal(err)
		}
		best := 0
		for k, v := range p[0] {
			if v > p[0][best] {
				best = k
			}
		}
		if g != best {
			t.Fatalf("greedy token %d is %d, the argmax %d", i, g, best)
		}
		tok = best
	}
	if cold := run(generate.Sampler{Temperature: 1e-4, Source: rand.New(rand.NewPCG(9, 9))}); !equal(cold, greedy) {
		t.Errorf("temperature 1e-4 %v, greedy %v", cold, greedy)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestInt64Tokens: an int64 token input is fed int64 ids.
func TestInt64Tokens(t *testing.T) {
	x := graph.Input("ids", 3).As(graph.Int64)
	y := graph.Apply(&graph.TimeDense{Units: vocab}, graph.Apply(&graph.GRU{Units: 4, Sequences: true},
		graph.Apply(&graph.Embedding{Vocab: vocab, Dim: 3}, x)))
	m, err := graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{y})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(2)
	ids := tensor.New(tensor.WithShape(1, 3), tensor.WithBacking([]int64{4, 0, 10}))
	out, err := graph.NewPredictor(m).Forward(ids)
	if err != nil {
		t.Fatal(err)
	}
	want := out.Float32s()[2*vocab:]
	if err := graph.ToProbabilities(graph.Logits, want, vocab); err != nil {
		t.Fatal(err)
	}
	st, err := generate.NewStepper(m, generate.Options{Meaning: graph.Logits})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Reset(); err != nil {
		t.Fatal(err)
	}
	p, err := st.Feed([][]int{{4, 0, 10}})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(p[0], want); d > 1e-6 || st.Vocab() != vocab {
		t.Errorf("int64 ids: max difference %g, vocab %d", d, st.Vocab())
	}
}
