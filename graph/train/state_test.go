package train

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"gorgonia.org/tensor"
)

// smallNet is a model with every kind of state a run has: dropout masks,
// batch-norm running statistics, biases to leave out of decay.
func smallNet(t testing.TB) *graph.Model {
	t.Helper()
	m, err := graph.NewSequential([]int{6}, &graph.Dense{Units: 10}, &graph.BatchNorm{}, graph.ReLU{},
		&graph.Dropout{Rate: 0.3}, &graph.Dense{Units: 3}, graph.Softmax{})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	return m
}

// toyData returns n samples of 6 values and their labels, one-hot and as
// class indices.
func toyData(n int) (x, oneHotT, labels *tensor.Dense) {
	rng := rand.New(rand.NewPCG(3, 4))
	xs, ls := make([]float32, n*6), make([]int, n)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	for i := range ls {
		ls[i] = rng.IntN(3)
	}
	x = tensor.New(tensor.WithShape(n, 6), tensor.WithBacking(xs))
	return x, oneHot(ls, 3), tensor.New(tensor.WithShape(n), tensor.WithBacking(ls))
}

func resumeConfig(m *graph.Model, name string) Config {
	opt, err := OptimizerByName(name, OptimizerOptions{WeightDecay: 0.01})
	if err != nil {
		panic(err)
	}
	return Config{Optimizer: opt, NoDecay: BiasAndNormParams(m), ClipNorm: 1,
		Schedule: Warmup{Steps: 3, Then: Cosine{Steps: 15}}, Seed: 7}
}

// A run saved after 3 epochs and resumed from the file in a new model and
// Trainer ends with the same checkpoint bytes (weights, running statistics,
// optimiser state, counters, generators) as the same 6 epochs run straight,
// for every optimiser, with dropout, batch norm, weight decay, clipping, a
// per-step schedule and a partial last batch.
func TestResumeMatchesUninterrupted(t *testing.T) {
	x, y, _ := toyData(40)
	for _, opt := range Optimizers() {
		t.Run(opt, func(t *testing.T) {
			epochs := func(tr *Trainer, n int) {
				for range n {
					if _, err := tr.Epoch(x, y, 16, nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			m := smallNet(t)
			tr, err := NewTrainer(m, resumeConfig(m, opt))
			if err != nil {
				t.Fatal(err)
			}
			epochs(tr, 6)
			var straight bytes.Buffer
			if err := tr.WriteCheckpoint(&straight, map[string]string{"note": "run"}); err != nil {
				t.Fatal(err)
			}

			m1 := smallNet(t)
			tr1, err := NewTrainer(m1, resumeConfig(m1, opt))
			if err != nil {
				t.Fatal(err)
			}
			epochs(tr1, 3)
			var saved bytes.Buffer
			if err := tr1.WriteCheckpoint(&saved, map[string]string{"note": "run"}); err != nil {
				t.Fatal(err)
			}
			m2, st, err := ReadCheckpoint(&saved, nil)
			if err != nil {
				t.Fatal(err)
			}
			if st.Epochs != 3 || st.Steps != 9 || st.Extra["note"] != "run" {
				t.Fatalf("state after 3 epochs of 3 steps: %d epochs, %d steps, extra %v", st.Epochs, st.Steps, st.Extra)
			}
			tr2, err := NewTrainer(m2, resumeConfig(m2, opt))
			if err != nil {
				t.Fatal(err)
			}
			if err := tr2.SetState(st); err != nil {
				t.Fatal(err)
			}
			epochs(tr2, 3)
			var resumed bytes.Buffer
			if err := tr2.WriteCheckpoint(&resumed, map[string]string{"note": "run"}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(straight.Bytes(), resumed.Bytes()) {
				t.Fatalf("3+3 resumed epochs: %d checkpoint bytes differ from 6 straight (%d)", len(resumed.Bytes()), len(straight.Bytes()))
			}
			if tr2.Epochs() != 6 || tr2.Steps() != 18 {
				t.Errorf("resumed trainer counts %d epochs, %d steps; want 6, 18", tr2.Epochs(), tr2.Steps())
			}
		})
	}
}

// A checkpoint with training state is still a model checkpoint: Read (and
// so any safetensors reader) opens it, the state tensors are 1-D F32 under
// "__state__.", the counters and generators are in "__state__.trainer", and
// a weights-only file has no state.
func TestCheckpointWithState(t *testing.T) {
	x, y, _ := toyData(20)
	m := smallNet(t)
	tr, err := NewTrainer(m, Config{Optimizer: &Adam{}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Epoch(x, y, 8, nil); err != nil {
		t.Fatal(err)
	}
	var withState, weights bytes.Buffer
	if err := tr.WriteCheckpoint(&withState, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := checkpoint.Write(&weights, m); err != nil {
		t.Fatal(err)
	}
	re, err := checkpoint.Read(bytes.NewReader(withState.Bytes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := checkpoint.Write(&again, re); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), weights.Bytes()) {
		t.Error("the model read from a checkpoint with state differs from the trained model")
	}
	st, err := checkpoint.ReadSafetensors(bytes.NewReader(withState.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var stateNames []string
	for _, name := range st.Names {
		if strings.HasPrefix(name, checkpoint.StatePrefix) {
			stateNames = append(stateNames, name)
			if len(st.Shapes[name]) != 1 {
				t.Errorf("%s has shape %v", name, st.Shapes[name])
			}
		}
	}
	// Adam: two moments per learnable (fc1, batchnorm1 and fc2's weight
	// and bias); the running statistics are buffers, not learnables.
	want := []string{}
	for _, slot := range []string{"exp_avg", "exp_avg_sq"} {
		for _, p := range []string{"batchnorm1.bias", "batchnorm1.weight", "fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"} {
			want = append(want, checkpoint.StatePrefix+"optimizer."+slot+"/"+p)
		}
	}
	slices.Sort(stateNames)
	if !slices.Equal(stateNames, want) {
		t.Errorf("state tensors %v, want %v", stateNames, want)
	}
	if n := len(st.Values[checkpoint.StatePrefix+"optimizer.exp_avg/fc1.weight"]); n != 60 {
		t.Errorf("exp_avg of fc1.weight has %d values, want 60", n)
	}
	var meta map[string]any
	if err := json.Unmarshal([]byte(st.Metadata["__state__.trainer"]), &meta); err != nil {
		t.Fatal(err)
	}
	if meta["steps"] != 3.0 || meta["epochs"] != 1.0 || meta["optimizer"] != "adam" || meta["optimizer_steps"] != 3.0 ||
		len(meta["shuffle_rng"].(string)) != 40 || st.Metadata["__state__.extra.k"] != "v" {
		t.Errorf("trainer metadata %v, extra %q", meta, st.Metadata["__state__.extra.k"])
	}
	if _, s, err := ReadCheckpoint(bytes.NewReader(weights.Bytes()), nil); err != nil || s != nil {
		t.Errorf("weights-only checkpoint: state %v, error %v; want none", s, err)
	}
}

// SetState refuses the state of another optimiser and generators that do
// not decode.
func TestSetStateErrors(t *testing.T) {
	x, y, _ := toyData(10)
	m := smallNet(t)
	tr, _ := NewTrainer(m, Config{Optimizer: &Adam{}})
	if _, err := tr.Epoch(x, y, 5, nil); err != nil {
		t.Fatal(err)
	}
	st, err := tr.State()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewTrainer(m, Config{Optimizer: &RMSprop{}})
	if err := other.SetState(st); err == nil || !strings.Contains(err.Error(), "adam") {
		t.Errorf("rmsprop given adam's state: %v", err)
	}
	bad := *st
	bad.Shuffle = []byte("nope")
	if err := tr.SetState(&bad); err == nil {
		t.Error("a broken generator state: no error")
	}
}
