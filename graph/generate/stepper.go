package generate

import (
	"fmt"
	"slices"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/ops"
	"gorgonia.org/tensor"
)

// StepLocal is implemented by a layer whose output at each time step
// depends only on its inputs at that step (and on inputs without a time
// axis): a Stepper may run it one step at a time. The built-in per-step
// layers are known without it.
type StepLocal interface {
	graph.Layer
	// StepLocal marks the layer; it has no behaviour.
	StepLocal()
}

// Options says which input and output of a model a Stepper uses.
type Options struct {
	// Input names the token input, of per-sample shape (time); "" is the
	// model's only input, or its first input of that shape if it has
	// several.
	Input string
	// Output is the index of the model output holding the scores,
	// (time, vocab) or (vocab) per sample.
	Output int
	// Meaning overrides what the output's values are ("" asks the model:
	// Model.OutputMeaning). Set graph.Logits for a model that ends in a
	// TimeDense giving unnormalised scores.
	Meaning graph.Meaning
}

// Stepper runs a next-token model one token at a time, carrying the state
// of its recurrent layers between calls (see the package doc).
type Stepper struct {
	m       *graph.Model // the step model: token input of length 1
	pr      *graph.Predictor
	token   int         // index of the token input among m's inputs
	dtype   graph.DType // its element type
	meaning graph.Meaning
	vocab   int
	timed   bool // the output has a time axis: (1, vocab)
	states  []*state
	ctx     []*tensor.Dense // the other inputs, in m's order (nil at the token's place)
	batch   int             // of ctx, 0 if none
	ready   bool            // Reset has been called
}

// perStep reports whether a built-in layer works on each time step alone
// when its input is (batch, time, ...).
func perStep(l graph.Layer) bool {
	switch l := l.(type) {
	case *graph.Embedding, *graph.TimeDense, *graph.GELU, *graph.Dropout, *graph.LayerNorm,
		graph.Add, graph.Multiply, graph.ReLU, graph.Sigmoid, graph.Tanh, graph.Identity, graph.Softmax, graph.LogSoftmax, graph.Step,
		*graph.Add, *graph.Multiply, *graph.ReLU, *graph.Sigmoid, *graph.Tanh, *graph.Identity, *graph.Softmax, *graph.LogSoftmax, *graph.Step:
		return true
	case *graph.Concat:
		a, err := l.SampleAxis(2)
		return err == nil && a == 1 // a (time, features) sample joined along its features
	case StepLocal:
		return true
	}
	return false
}

// recurrent returns the cell, units, whether every step is returned and
// whether the layer is bidirectional, for the built-in recurrent layers.
func recurrent(l graph.Layer) (cell ops.Cell, units int, sequences, bidirectional, ok bool) {
	switch r := l.(type) {
	case *graph.SimpleRNN:
		return ops.TanhCell, r.Units, r.Sequences, r.Bidirectional, true
	case *graph.LSTM:
		return ops.LSTMCell, r.Units, r.Sequences, r.Bidirectional, true
	case *graph.GRU:
		return ops.GRUCell, r.Units, r.Sequences, r.Bidirectional, true
	}
	return 0, 0, false, false, false
}

// NewStepper makes a Stepper for model m: a copy of m whose token input
// takes one step, whose recurrent layers fed by the tokens carry their
// state, with m's parameters. Call Reset before the first Feed.
func NewStepper(m *graph.Model, opt Options) (*Stepper, error) {
	ins := m.Inputs()
	token := -1
	for i, in := range ins {
		if (opt.Input == "" && len(in.Shape) == 1 && token < 0) || in.Name == opt.Input {
			token = i
		}
	}
	switch {
	case token < 0 && opt.Input != "":
		return nil, fmt.Errorf("generate: the model has no input %q", opt.Input)
	case token < 0:
		return nil, fmt.Errorf("generate: the model has no input of token ids (time)")
	case len(ins[token].Shape) != 1:
		return nil, fmt.Errorf("generate: input %q has per-sample shape %v, want (time) token ids", ins[token].Name, ins[token].Shape)
	case ins[token].Batch > 0:
		return nil, fmt.Errorf("generate: input %q has a fixed batch of %d; a Stepper needs a symbolic batch", ins[token].Name, ins[token].Batch)
	}
	if opt.Output < 0 || opt.Output >= len(m.Outputs()) {
		return nil, fmt.Errorf("generate: output %d of a model with %d outputs", opt.Output, len(m.Outputs()))
	}
	outNode := m.OutputNode(opt.Output)
	if len(outNode.Shape) < 1 || len(outNode.Shape) > 2 {
		return nil, fmt.Errorf("generate: output %s has per-sample shape %v, want (time, vocab) or (vocab)", outNode.Name, outNode.Shape)
	}
	meaning := opt.Meaning
	if meaning == "" {
		meaning = m.OutputMeaning(opt.Output)
	}
	if !meaning.Classes() {
		return nil, fmt.Errorf("generate: output %s means %q, not class scores; set Options.Meaning if its values are logits", outNode.Name, meaning)
	}

	// Which tensors carry a time axis fed by the tokens (timed), and which
	// depend on the tokens at all (fed).
	nodes := m.Nodes()
	timed, fed := map[string]bool{ins[token].Name: true}, map[string]bool{ins[token].Name: true}
	dtypes := map[string]graph.DType{}
	for _, in := range ins {
		dtypes[in.Name] = in.DType.Or()
	}
	for _, n := range nodes {
		dtypes[n.Name] = n.DType.Or()
	}
	st := &Stepper{token: token, dtype: ins[token].DType, meaning: meaning, vocab: outNode.Shape[len(outNode.Shape)-1],
		timed: len(outNode.Shape) == 2}
	wrapped := map[string]*stateful{}
	tensors := map[string]*graph.Tensor{}
	var inputs []*graph.Tensor
	for i, in := range ins {
		shape := in.Shape
		if i == token {
			shape = []int{1}
		}
		x := graph.Input(in.Name, shape...)
		if in.DType != "" {
			x = x.As(in.DType)
		}
		if in.Batch > 0 {
			x = x.WithBatch(in.Batch)
		}
		tensors[in.Name] = x
		inputs = append(inputs, x)
	}
	for _, n := range nodes {
		l := m.Layer(n.Layer)
		args := make([]*graph.Tensor, len(n.Inputs))
		anyTimed, anyFed := false, false
		for i, name := range n.Inputs {
			args[i] = tensors[name]
			anyTimed = anyTimed || timed[name]
			anyFed = anyFed || fed[name]
		}
		fed[n.Name] = anyFed
		cell, units, sequences, bidirectional, ok := recurrent(l)
		if ok && anyFed {
			if !timed[n.Inputs[0]] {
				return nil, fmt.Errorf("generate: layer %s (%s) runs over a sequence that is not the tokens' time axis; a Stepper cannot step it", n.Layer, l.Kind())
			}
			if bidirectional {
				return nil, fmt.Errorf("generate: layer %s (%s) is bidirectional: its backward direction needs the steps to come", n.Layer, l.Kind())
			}
			for _, name := range n.Inputs[1:] {
				if dtypes[name] != graph.Float32 {
					return nil, fmt.Errorf("generate: layer %s (%s) takes lengths or a padding mask (%s); a Stepper feeds whole steps, without padding", n.Layer, l.Kind(), name)
				}
			}
		}
		switch {
		case ok && timed[n.Inputs[0]]:
			if wrapped[n.Layer] != nil {
				return nil, fmt.Errorf("generate: recurrent layer %s is applied to the tokens more than once; each use would need a state of its own", n.Layer)
			}
			w := &stateful{inner: l.(graph.ParamLayer), sequences: sequences, st: &state{cell: cell, units: units}}
			wrapped[n.Layer] = w
			st.states = append(st.states, w.st)
			l = w
			timed[n.Name] = sequences
		case anyTimed && !perStep(l):
			return nil, fmt.Errorf("generate: layer %s (%s) may mix time steps; a Stepper runs one step at a time (implement generate.StepLocal if it does not)", n.Layer, l.Kind())
		default:
			timed[n.Name] = anyTimed
		}
		tensors[n.Name] = graph.ApplyNamed(n.Layer, l, args...)
	}
	if !fed[outNode.Name] {
		return nil, fmt.Errorf("generate: output %s does not depend on the token input %q", outNode.Name, ins[token].Name)
	}
	if st.timed != timed[outNode.Name] {
		return nil, fmt.Errorf("generate: output %s of shape %v: its first axis is not the tokens' time", outNode.Name, outNode.Shape)
	}
	sm, err := graph.NewModel(inputs, []*graph.Tensor{tensors[outNode.Name]})
	if err != nil {
		return nil, fmt.Errorf("generate: step model: %w", err)
	}
	for _, name := range sm.ParamNames() {
		p := m.Param(name)
		if p == nil {
			return nil, fmt.Errorf("generate: step model: parameter %s is not in the model", name)
		}
		if err := sm.SetParam(name, p.Shape(), p.Float32s()); err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
	}
	st.m, st.pr = sm, graph.NewPredictor(sm)
	return st, nil
}

// Vocab returns the number of scores per step: the length of each row Feed
// returns.
func (s *Stepper) Vocab() int { return s.vocab }

// Reset forgets every carried state and sets the model's other inputs (in
// the model's order, leaving out the token input), each (batch, ...) for
// the batch of sequences that Feed then runs; a model with only the token
// input takes none. After Reset the recurrent layers start from zeros, or
// from the initial states the model gives them.
func (s *Stepper) Reset(inputs ...*tensor.Dense) error {
	ins := s.m.Inputs()
	if len(inputs) != len(ins)-1 {
		return fmt.Errorf("generate: Reset got %d inputs; the model has %d besides the tokens", len(inputs), len(ins)-1)
	}
	s.ready, s.batch = false, 0
	s.ctx = make([]*tensor.Dense, len(ins))
	k := 0
	for i := range ins {
		if i == s.token {
			continue
		}
		x := inputs[k]
		k++
		if x == nil || x.Dims() < 1 {
			return fmt.Errorf("generate: Reset: input %s is empty", ins[i].Name)
		}
		b := x.Shape()[0]
		if s.batch != 0 && b != s.batch && ins[i].Batch == 0 {
			return fmt.Errorf("generate: Reset: input %s has a batch of %d, another of %d", ins[i].Name, b, s.batch)
		}
		if ins[i].Batch == 0 {
			s.batch = b
		}
		s.ctx[i] = x
	}
	for _, st := range s.states {
		st.reset()
	}
	s.ready = true
	return nil
}

// Feed runs the next tokens of every sequence of the batch, ids[b] for
// sequence b (all of one length n >= 1, in order), carrying the state
// from the previous Feed since Reset, and returns for each sequence the
// probabilities of the token after its last one (Vocab values, a new slice
// the caller may keep). The batch is fixed from the first Feed after Reset
// (or by Reset's inputs).
func (s *Stepper) Feed(ids [][]int) ([][]float32, error) {
	if !s.ready {
		return nil, fmt.Errorf("generate: Feed before Reset")
	}
	b := len(ids)
	if b == 0 || len(ids[0]) == 0 {
		return nil, fmt.Errorf("generate: Feed of no tokens")
	}
	if s.batch != 0 && b != s.batch {
		return nil, fmt.Errorf("generate: Feed of %d sequences, the inputs given at Reset are of %d", b, s.batch)
	}
	n := len(ids[0])
	for i, row := range ids {
		if len(row) != n {
			return nil, fmt.Errorf("generate: Feed: sequence %d has %d tokens, sequence 0 %d", i, len(row), n)
		}
	}
	var out *tensor.Dense
	for j := 0; j < n; j++ {
		xs := slices.Clone(s.ctx)
		xs[s.token] = tokens(s.dtype, ids, j)
		o, err := s.pr.Predict(xs...)
		if err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
		out = o[0]
		s.batch = b
	}
	data := out.Float32s()
	if len(data) != b*s.vocab {
		return nil, fmt.Errorf("generate: output of shape %v, want %d rows of %d", out.Shape(), b, s.vocab)
	}
	if err := graph.ToProbabilities(s.meaning, data, s.vocab); err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	p := make([][]float32, b)
	for i := range p {
		p[i] = data[i*s.vocab : (i+1)*s.vocab : (i+1)*s.vocab]
	}
	return p, nil
}

// tokens returns the j-th token of every sequence as a (batch, 1) tensor
// of the input's element type.
func tokens(d graph.DType, ids [][]int, j int) *tensor.Dense {
	b := len(ids)
	switch d {
	case graph.Int64:
		v := make([]int64, b)
		for i := range ids {
			v[i] = int64(ids[i][j])
		}
		return tensor.New(tensor.WithShape(b, 1), tensor.WithBacking(v))
	case graph.Int32:
		v := make([]int32, b)
		for i := range ids {
			v[i] = int32(ids[i][j])
		}
		return tensor.New(tensor.WithShape(b, 1), tensor.WithBacking(v))
	}
	v := make([]float32, b)
	for i := range ids {
		v[i] = float32(ids[i][j])
	}
	return tensor.New(tensor.WithShape(b, 1), tensor.WithBacking(v))
}

// Generate resets nothing: it feeds start (one row per sequence, each of
// one length >= 1) from the current state, then picks n tokens per
// sequence with smp, feeding each back, and returns the n picked tokens
// of every sequence. Call Reset first for a fresh start.
func (s *Stepper) Generate(start [][]int, n int, smp Sampler) ([][]int, error) {
	if n < 0 {
		return nil, fmt.Errorf("generate: %d tokens to generate", n)
	}
	p, err := s.Feed(start)
	if err != nil {
		return nil, err
	}
	out := make([][]int, len(start))
	next := make([][]int, len(start))
	for k := 0; k < n; k++ {
		for i, row := range p {
			id, err := smp.Pick(row)
			if err != nil {
				return nil, fmt.Errorf("generate: sequence %d, token %d: %w", i, k, err)
			}
			out[i] = append(out[i], id)
			next[i] = []int{id}
		}
		if k+1 < n {
			if p, err = s.Feed(next); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
