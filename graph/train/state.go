package train

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
)

// State is everything a Trainer needs to continue a run exactly as if it
// had not stopped: with the model's parameters (and buffers, such as batch
// normalisation's running statistics), a Trainer given the same Config and
// this State takes the same steps, bit for bit.
type State struct {
	// Steps and Epochs are the counters (Trainer.Steps, Trainer.Epochs).
	Steps, Epochs int
	// BaseRate is the base learning rate (SetLearningRate may change it).
	BaseRate float64
	// Shuffle and Dropout are the states of the generators of the epochs'
	// orders and of dropout masks (rand.PCG's binary form).
	Shuffle, Dropout []byte
	// Optimizer is the optimiser's state.
	Optimizer OptimizerState
	// Extra holds whatever else the caller saves with the run (a command's
	// settings, the state of its own generators); the Trainer ignores it.
	Extra map[string]string
}

// State returns a copy of the Trainer's state. The optimiser must implement
// Stateful.
func (tr *Trainer) State() (*State, error) {
	so, ok := tr.opt.(Stateful)
	if !ok {
		return nil, fmt.Errorf("optimizer %T cannot save its state (it does not implement train.Stateful)", tr.opt)
	}
	sh, err := tr.shuffleSrc.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("shuffle generator: %w", err)
	}
	dr, err := tr.dropoutSrc.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("dropout generator: %w", err)
	}
	return &State{Steps: tr.steps, Epochs: tr.epochs, BaseRate: tr.base, Shuffle: sh, Dropout: dr, Optimizer: so.State()}, nil
}

// SetState continues the run whose state st holds: counters, base rate,
// generators and optimiser state. The model's parameters are not part of
// it: the Trainer's model must already hold them (ReadCheckpoint returns
// both).
func (tr *Trainer) SetState(st *State) error {
	if st == nil {
		return fmt.Errorf("set state: no state")
	}
	so, ok := tr.opt.(Stateful)
	if !ok {
		return fmt.Errorf("set state: optimizer %T cannot restore a state (it does not implement train.Stateful)", tr.opt)
	}
	if st.Steps < 0 || st.Epochs < 0 || !(st.BaseRate > 0) || math.IsInf(st.BaseRate, 0) {
		return fmt.Errorf("set state: %d steps, %d epochs, base rate %v", st.Steps, st.Epochs, st.BaseRate)
	}
	if err := tr.shuffleSrc.UnmarshalBinary(st.Shuffle); err != nil {
		return fmt.Errorf("set state: shuffle generator: %w", err)
	}
	if err := tr.dropoutSrc.UnmarshalBinary(st.Dropout); err != nil {
		return fmt.Errorf("set state: dropout generator: %w", err)
	}
	if err := so.SetState(st.Optimizer); err != nil {
		return fmt.Errorf("set state: %w", err)
	}
	tr.steps, tr.epochs, tr.base = st.Steps, st.Epochs, st.BaseRate
	tr.rate = tr.schedule.Rate(tr.base, max(tr.steps-1, 0))
	return nil
}

// trainerMeta is the JSON of the "trainer" metadata entry.
type trainerMeta struct {
	Steps          int     `json:"steps"`
	Epochs         int     `json:"epochs"`
	BaseRate       float64 `json:"base_rate"`
	Shuffle        string  `json:"shuffle_rng"`
	Dropout        string  `json:"dropout_rng"`
	Optimizer      string  `json:"optimizer"`
	OptimizerSteps int     `json:"optimizer_steps"`
}

// WriteCheckpoint writes the model with the Trainer's State and extra, so
// that ReadCheckpoint can resume the run, in one safetensors file laid out
// as checkpoint.WriteWithState says, with this state:
//
//	"__state__.trainer"         metadata: JSON {"steps", "epochs",
//	                            "base_rate", "shuffle_rng", "dropout_rng"
//	                            (hex of rand.PCG's binary form),
//	                            "optimizer" (OptimizerState.Kind),
//	                            "optimizer_steps"}
//	"__state__.extra.<key>"     metadata: each entry of extra
//	"__state__.optimizer.<buffer>"  a tensor per optimiser buffer, e.g.
//	                            "__state__.optimizer.exp_avg/fc1.weight",
//	                            of the parameter's size (flattened)
//
// Read (and any safetensors reader) still opens the file as the model's
// weights.
func (tr *Trainer) WriteCheckpoint(w io.Writer, extra map[string]string) error {
	st, err := tr.State()
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	meta, err := json.Marshal(trainerMeta{
		Steps: st.Steps, Epochs: st.Epochs, BaseRate: st.BaseRate,
		Shuffle: hex.EncodeToString(st.Shuffle), Dropout: hex.EncodeToString(st.Dropout),
		Optimizer: st.Optimizer.Kind, OptimizerSteps: st.Optimizer.Steps,
	})
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	cs := &checkpoint.State{Metadata: map[string]string{"trainer": string(meta)}, Tensors: map[string][]float32{}}
	for k, v := range extra {
		cs.Metadata["extra."+k] = v
	}
	for k, v := range st.Optimizer.Buffers {
		cs.Tensors["optimizer."+k] = v
	}
	return checkpoint.WriteWithState(w, tr.m, cs)
}

// ReadCheckpoint reads a checkpoint written by WriteCheckpoint: the model
// (with layer kinds decoded by reg, graph.Builtin() when nil) and the
// training state, with State.Extra holding the extra entries. For a
// weights-only checkpoint (checkpoint.Write) the state is nil.
func ReadCheckpoint(r io.Reader, reg *graph.Registry) (*graph.Model, *State, error) {
	m, cs, err := checkpoint.ReadWithState(r, reg)
	if err != nil {
		return nil, nil, err
	}
	if cs == nil {
		return m, nil, nil
	}
	raw, ok := cs.Metadata["trainer"]
	if !ok {
		return nil, nil, fmt.Errorf("%w: state without a trainer entry", checkpoint.ErrMalformed)
	}
	var tm trainerMeta
	if err := json.Unmarshal([]byte(raw), &tm); err != nil {
		return nil, nil, fmt.Errorf("%w: trainer state: %v", checkpoint.ErrMalformed, err)
	}
	st := &State{
		Steps: tm.Steps, Epochs: tm.Epochs, BaseRate: tm.BaseRate,
		Optimizer: OptimizerState{Kind: tm.Optimizer, Steps: tm.OptimizerSteps, Buffers: map[string][]float32{}},
		Extra:     map[string]string{},
	}
	if st.Shuffle, err = hex.DecodeString(tm.Shuffle); err != nil {
		return nil, nil, fmt.Errorf("%w: shuffle generator: %v", checkpoint.ErrMalformed, err)
	}
	if st.Dropout, err = hex.DecodeString(tm.Dropout); err != nil {
		return nil, nil, fmt.Errorf("%w: dropout generator: %v", checkpoint.ErrMalformed, err)
	}
	for k, v := range cs.Metadata {
		if e, ok := strings.CutPrefix(k, "extra."); ok {
			st.Extra[e] = v
		}
	}
	for k, v := range cs.Tensors {
		b, ok := strings.CutPrefix(k, "optimizer.")
		if !ok {
			return nil, nil, fmt.Errorf("%w: unknown state tensor %q", checkpoint.ErrMalformed, k)
		}
		st.Optimizer.Buffers[b] = v
	}
	return m, st, nil
}
