// Package generate produces sequences from a model that feeds its output
// back: a next-token model whose input is token ids (time) and whose
// output is scores over a vocabulary, (time, vocab) or (vocab).
//
// # Stateful stepping
//
// A Stepper runs such a model one token at a time and keeps the state of
// every recurrent layer (SimpleRNN, LSTM and GRU: h, and c for an LSTM)
// between calls, as the book's stateful TimeLSTM and PyTorch's h_n/c_n
// carried by hand do. Feeding a prefix one token after another gives the
// probabilities the whole model computes over the prefix at once (within
// float32 rounding):
//
//	// model: Embedding -> LSTM (Sequences) -> TimeDense, whose scores are logits
//	st, err := generate.NewStepper(model, generate.Options{Meaning: graph.Logits})
//	err = st.Reset()                 // zero state (and the other inputs, if any)
//	p, err := st.Feed([][]int{{12}}) // probabilities after token 12, one row per sequence
//	p, err = st.Feed([][]int{{7}})   // ... after 12, 7
//	ids, err := st.Generate([][]int{{3}}, 20, generate.Sampler{}) // 3, then 20 greedy tokens
//
// Which layers carry state: the recurrent layers that the token input
// reaches. Layers that do not see the tokens (an encoder fed by another
// input) are computed afresh at every step from the other inputs, which
// Reset fixes. A recurrent layer given an initial state as an extra input
// (a decoder started from an encoder's h) starts from it after Reset and
// then carries its own. Every other layer between the tokens and the
// output must work on each time step alone: Embedding, TimeDense, Concat
// (not along time), Add, Multiply, the activations, Dropout (off at
// inference), LayerNorm, and any layer that implements StepLocal; a
// recurrent layer returning its last state ends the time axis, and
// anything may follow it. A layer that mixes steps (attention, a
// positional embedding, Flatten) is refused by NewStepper with its name.
//
// The Stepper copies the model's parameters when it is made: make a new
// one after training further. It is not safe for concurrent use.
//
// # Choosing the next token
//
// Feed returns probabilities, whatever the model's output means:
// graph.ToProbabilities turns logits or log-probabilities into them (a
// softmax output is used as it is), so nothing applies a softmax twice.
// An output of plain Values (a TimeDense whose scores are logits) needs
// Options.Meaning.
//
// A Sampler picks one id from a row of probabilities: the zero Sampler is
// greedy (the first argmax, as np.argmax); with a Temperature it samples
// from p^(1/Temperature) renormalised, among the TopK likeliest ids if
// TopK > 0, never one of Skip, by inverting the cumulative distribution at
// one uniform draw of its Source. With Temperature 1, no TopK and no Skip
// this is numpy's legacy np.random.choice(len(p), p=p) draw for draw, so a
// Source that is numpy's MT19937 reproduces a numpy program's choices.
// A *rand.Rand of math/rand/v2 is a Source; the same seed gives the same
// sequence.
//
// Generate feeds start tokens and then n tokens picked by a Sampler, for a
// batch of sequences at once.
package generate
