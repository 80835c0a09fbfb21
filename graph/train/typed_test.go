package train

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
)

// idsModel is Embedding(ids of type d, 2 per sample) -> Flatten -> Dense 2
// -> Softmax, initialised from seed 1.
func idsModel(t *testing.T, d graph.DType) *graph.Model {
	t.Helper()
	in := graph.Input("ids", 2).As(d)
	z := graph.Apply(&graph.Embedding{Vocab: 6, Dim: 3}, in)
	z = graph.Apply(graph.Flatten{}, z)
	z = graph.Apply(&graph.Dense{Units: 2}, z)
	z = graph.Apply(graph.Softmax{}, z)
	m, err := graph.NewModel([]*graph.Tensor{in}, []*graph.Tensor{z})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	return m
}

// idsData returns n samples of two ids in [0, 6), as a tensor of type d,
// and their classes: 1 when the first id is at least 3.
func idsData(d graph.DType, n int) (*tensor.Dense, *tensor.Dense, []int) {
	rng := rand.New(rand.NewPCG(7, 7))
	ids, labels := make([]int64, 2*n), make([]int, n)
	for i := range n {
		ids[2*i], ids[2*i+1] = int64(rng.IntN(6)), int64(rng.IntN(6))
		if ids[2*i] >= 3 {
			labels[i] = 1
		}
	}
	var x *tensor.Dense
	switch d {
	case graph.Int32:
		v := make([]int32, len(ids))
		for i, id := range ids {
			v[i] = int32(id)
		}
		x = tensor.New(tensor.WithShape(n, 2), tensor.WithBacking(v))
	default:
		x = tensor.New(tensor.WithShape(n, 2), tensor.WithBacking(ids))
	}
	return x, tensor.New(tensor.WithShape(n), tensor.WithBacking(slices.Clone(labels))), labels
}

// gather returns the rows idx of x (ids of any int type) and the labels.
func gather(x *tensor.Dense, labels []int, idx []int) (*tensor.Dense, *tensor.Dense) {
	per := x.Shape()[1]
	ls := make([]int, len(idx))
	var bx *tensor.Dense
	switch d := x.Data().(type) {
	case []int64:
		v := make([]int64, 0, len(idx)*per)
		for _, j := range idx {
			v = append(v, d[j*per:(j+1)*per]...)
		}
		bx = tensor.New(tensor.WithShape(len(idx), per), tensor.WithBacking(v))
	case []int32:
		v := make([]int32, 0, len(idx)*per)
		for _, j := range idx {
			v = append(v, d[j*per:(j+1)*per]...)
		}
		bx = tensor.New(tensor.WithShape(len(idx), per), tensor.WithBacking(v))
	}
	for i, j := range idx {
		ls[i] = labels[j]
	}
	return bx, tensor.New(tensor.WithShape(len(idx)), tensor.WithBacking(ls))
}

func weights(m *graph.Model) map[string][]float32 {
	out := map[string][]float32{}
	for _, name := range m.ParamNames() {
		out[name] = slices.Clone(m.Param(name).Data().([]float32))
	}
	return out
}

// Integer ids train through Epoch and Fit as through hand-fed Steps of the
// same batches, bit for bit, and the loss goes down.
func TestTypedInputsTrain(t *testing.T) {
	const n, batch, epochs, seed = 60, 16, 4, 3
	for _, d := range []graph.DType{graph.Int64, graph.Int32} {
		t.Run(string(d), func(t *testing.T) {
			x, y, labels := idsData(d, n)
			// A new Adam each time: an optimiser holds its run's moments.
			cfg := func() Config {
				return Config{Optimizer: &Adam{}, LearningRate: 0.05, Losses: []Loss{SparseCrossEntropy}, Seed: seed}
			}

			// Hand-fed: the permutations the Trainer draws, as explicit batches.
			mh := idsModel(t, d)
			th, err := NewTrainer(mh, cfg())
			if err != nil {
				t.Fatal(err)
			}
			shuffle := rand.New(rand.NewPCG(seed, 0x5eed)) // NewTrainer's shuffling stream
			for range epochs {
				perm := shuffle.Perm(n)
				for from := 0; from < n; from += batch {
					bx, by := gather(x, labels, perm[from:min(from+batch, n)])
					if _, err := th.Step(bx, by); err != nil {
						t.Fatal(err)
					}
				}
			}

			// Epoch.
			me := idsModel(t, d)
			te, err := NewTrainer(me, cfg())
			if err != nil {
				t.Fatal(err)
			}
			var losses []float64
			for range epochs {
				st, err := te.Epoch(x, y, batch, nil)
				if err != nil {
					t.Fatal(err)
				}
				losses = append(losses, st.Loss)
			}
			if !(losses[epochs-1] < losses[0]*0.8) {
				t.Errorf("Epoch losses %v: no clear decrease", losses)
			}

			// Fit, scoring the training set (Evaluate on ids).
			mf := idsModel(t, d)
			tf, err := NewTrainer(mf, cfg())
			if err != nil {
				t.Fatal(err)
			}
			h, err := Fit(context.Background(), tf, FitData{X: []*tensor.Dense{x}, T: []*tensor.Dense{y}},
				FitOptions{Epochs: epochs, Batch: batch, ScoreTrain: true})
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range h.Epochs {
				if e.Loss != losses[i] {
					t.Errorf("Fit epoch %d loss %v, Epoch gave %v", e.Epoch, e.Loss, losses[i])
				}
			}
			if acc := h.Epochs[epochs-1].Train.Accuracy; acc < 0.9 {
				t.Errorf("training accuracy after %d epochs %v, want ≥ 0.9", epochs, acc)
			}
			want := weights(mh)
			for name, got := range map[string]map[string][]float32{"Epoch": weights(me), "Fit": weights(mf)} {
				for p, w := range want {
					if !slices.Equal(got[p], w) {
						t.Errorf("%s: parameter %s differs from the hand-fed steps'", name, p)
					}
				}
			}
		})
	}
}

// A feed of the wrong element type is one error naming the input and the
// types.
func TestTypedInputsWrongType(t *testing.T) {
	m := idsModel(t, graph.Int64)
	tr, err := NewTrainer(m, Config{Losses: []Loss{SparseCrossEntropy}})
	if err != nil {
		t.Fatal(err)
	}
	x32, y, _ := idsData(graph.Int32, 8)
	xf := tensor.New(tensor.WithShape(8, 2), tensor.Of(tensor.Float32))
	for _, test := range []struct {
		name string
		x    *tensor.Dense
		want string
	}{
		{"int32", x32, "int32"},
		{"float32", xf, "float32"},
	} {
		for what, call := range map[string]func() error{
			"Step":     func() error { _, err := tr.Step(test.x, y); return err },
			"Epoch":    func() error { _, err := tr.Epoch(test.x, y, 4, nil); return err },
			"Evaluate": func() error { _, err := tr.Evaluate(test.x, y, 4); return err },
			"Fit": func() error {
				_, err := Fit(context.Background(), tr, FitData{X: []*tensor.Dense{test.x}, T: []*tensor.Dense{y}}, FitOptions{Epochs: 1, Batch: 4})
				return err
			},
		} {
			err := call()
			if err == nil {
				t.Errorf("%s on %s ids: no error", what, test.name)
				continue
			}
			if msg := err.Error(); !strings.Contains(msg, "input ids is "+test.want) || !strings.Contains(msg, "model wants int64") || strings.Contains(msg, "\n") {
				t.Errorf("%s on %s ids: error %q, want one line naming input ids, %s and int64", what, test.name, msg, test.want)
			}
		}
	}
	if tr.Steps() != 0 {
		t.Errorf("%d steps taken on refused feeds", tr.Steps())
	}
}

// A validation split and a test set of int64 ids are cut and scored like
// float32 ones.
func TestTypedInputsValidation(t *testing.T) {
	x, y, _ := idsData(graph.Int64, 60)
	m := idsModel(t, graph.Int64)
	tr, err := NewTrainer(m, Config{Optimizer: &Adam{}, LearningRate: 0.05, Losses: []Loss{SparseCrossEntropy}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	h, err := Fit(context.Background(), tr, FitData{X: []*tensor.Dense{x}, T: []*tensor.Dense{y}, ValidationSplit: 20,
		TestX: []*tensor.Dense{x}, TestT: []*tensor.Dense{y}}, FitOptions{Epochs: 5, Batch: 8})
	if err != nil {
		t.Fatal(err)
	}
	last := h.Epochs[len(h.Epochs)-1]
	if last.Validation == nil || last.Validation.Samples != 20 || last.Test.Samples != 60 || last.Validation.Accuracy < 0.8 {
		t.Errorf("validation %+v, test %+v", last.Validation, last.Test)
	}
}

// The rows of inputs of every element type are gathered into batch
// buffers of that type; a buffer of another type is refused.
func TestFillTypedRows(t *testing.T) {
	idx := []int{2, 0}
	for _, test := range []struct {
		x, want *tensor.Dense
	}{
		{tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]bool{true, false, false, false, false, true})),
			tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]bool{false, true, true, false}))},
		{tensor.New(tensor.WithShape(3, 1), tensor.WithBacking([]float64{0.5, 1.5, 2.5})),
			tensor.New(tensor.WithShape(2, 1), tensor.WithBacking([]float64{2.5, 0.5}))},
		{tensor.New(tensor.WithShape(3, 1), tensor.WithBacking([]int32{7, 8, 9})),
			tensor.New(tensor.WithShape(2, 1), tensor.WithBacking([]int32{9, 7}))},
	} {
		src := source{what: "input m", data: test.x.Data(), per: test.x.Shape()[1]}
		dst := tensor.New(tensor.WithShape(test.want.Shape()...), tensor.Of(test.x.Dtype()))
		if err := src.fill(dst, idx); err != nil || !dst.Eq(test.want) {
			t.Errorf("%v: %v, %v; want %v", test.x.Dtype(), dst.Data(), err, test.want.Data())
		}
		wrong := tensor.New(tensor.WithShape(test.want.Shape()...), tensor.Of(tensor.Int64))
		if err := src.fill(wrong, idx); err == nil || !strings.Contains(err.Error(), "input m is") {
			t.Errorf("%v into int64: %v", test.x.Dtype(), err)
		}
	}
}
