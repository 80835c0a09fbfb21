package train_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
)

// SignSGD is an optimiser of one's own, in plain Go: w ← w − η·sign(g).
type SignSGD struct{}

// Step moves every value by the rate against the sign of its gradient.
func (SignSGD) Step(params []train.Param, lr float64) error {
	for _, p := range params {
		for j, g := range p.Grad {
			switch {
			case g > 0:
				p.Value[j] -= float32(lr)
			case g < 0:
				p.Value[j] += float32(lr)
			}
		}
	}
	return nil
}

// Plugging an optimiser of one's own into a Trainer.
func ExampleOptimizer() {
	m, _ := graph.NewSequential([]int{2}, &graph.Dense{Units: 1}, graph.Identity{})
	tr, err := train.NewTrainer(m, train.Config{Optimizer: SignSGD{}, LearningRate: 0.125})
	if err != nil {
		fmt.Println(err)
		return
	}
	x := tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float32{1, -1}))
	y := tensor.New(tensor.WithShape(1, 1), tensor.WithBacking([]float32{1}))
	for range 3 {
		loss, _ := tr.Step(x, y)
		fmt.Println("loss", loss, "weights", m.Param("fc1.weight").Data(), "bias", m.Param("fc1.bias").Data())
	}
	// Output:
	// loss 1 weights [0.125 -0.125] bias [0.125]
	// loss 0.390625 weights [0.25 -0.25] bias [0.25]
	// loss 0.0625 weights [0.375 -0.375] bias [0.375]
}

// Train on integer labels with AdamW, hold out a validation split, and save
// a checkpoint from which the run can resume.
func ExampleTrainer_Evaluate() {
	// Two blobs: class 1 when x0 + x1 > 0.
	const n = 200
	xs, labels := make([]float32, 2*n), make([]int, n)
	for i := range n {
		a, b := float32(i%20)/10-0.95, float32(i/20)/5-0.9
		xs[2*i], xs[2*i+1] = a, b
		if a+b > 0 {
			labels[i] = 1
		}
	}
	x := tensor.New(tensor.WithShape(n, 2), tensor.WithBacking(xs))
	y := tensor.New(tensor.WithShape(n), tensor.WithBacking(labels))
	// The last 50 samples for validation.
	trainX, valX := tensor.New(tensor.WithShape(150, 2), tensor.WithBacking(xs[:300])), tensor.New(tensor.WithShape(50, 2), tensor.WithBacking(xs[300:]))
	trainY, valY := tensor.New(tensor.WithShape(150), tensor.WithBacking(labels[:150])), tensor.New(tensor.WithShape(50), tensor.WithBacking(labels[150:]))

	m, _ := graph.NewSequential([]int{2}, &graph.Dense{Units: 8}, graph.ReLU{}, &graph.Dense{Units: 2}, graph.Softmax{})
	m.Init(1)
	tr, err := train.NewTrainer(m, train.Config{
		Optimizer: &train.AdamW{}, LearningRate: 0.05, Losses: []train.Loss{train.SparseCrossEntropy},
		Schedule: train.Cosine{Steps: 20 * 5}, Seed: 1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 20 {
		if _, err := tr.Epoch(trainX, trainY, 32, nil); err != nil {
			fmt.Println(err)
			return
		}
	}
	val, _ := tr.Evaluate(valX, valY, 50)
	all, _ := tr.Evaluate(x, y, 64)
	fmt.Printf("validation accuracy %.2f, overall %.2f, after %d steps\n", val.Accuracy, all.Accuracy, tr.Steps())
	var file bytes.Buffer
	if err := tr.WriteCheckpoint(&file, nil); err != nil {
		fmt.Println(err)
		return
	}
	_, st, _ := train.ReadCheckpoint(&file, nil)
	fmt.Println("resumable at epoch", st.Epochs, "step", st.Steps, "with", st.Optimizer.Kind, "state")
	// Output:
	// validation accuracy 1.00, overall 1.00, after 100 steps
	// resumable at epoch 20 step 100 with adamw state
}

// A whole training program: a classifier of two blobs, trained with a
// validation split and early stopping, the best model saved.
func ExampleFit() {
	rng := rand.New(rand.NewPCG(1, 2))
	xs, labels := make([]float32, 2*300), make([]int, 300)
	for i := range labels {
		labels[i] = i % 2
		xs[2*i], xs[2*i+1] = float32(rng.NormFloat64()+2*float64(i%2)), float32(rng.NormFloat64())
	}
	x, y := tensor.New(tensor.WithShape(300, 2), tensor.WithBacking(xs)), tensor.New(tensor.WithShape(300), tensor.WithBacking(labels))

	dir, _ := os.MkdirTemp("", "fit")
	defer os.RemoveAll(dir)

	m, _ := graph.NewSequential([]int{2}, &graph.Dense{Units: 8}, graph.ReLU{}, &graph.Dense{Units: 2}, graph.Softmax{})
	m.Init(1)
	tr, _ := train.NewTrainer(m, train.Config{LearningRate: 0.01, Losses: []train.Loss{train.SparseCrossEntropy}, Seed: 1})
	h, err := train.Fit(context.Background(), tr, train.FitData{X: []*tensor.Dense{x}, T: []*tensor.Dense{y}, ValidationSplit: 60},
		train.FitOptions{Epochs: 20, Batch: 30, Patience: 5, Callbacks: []train.Callback{train.SaveBest(filepath.Join(dir, "best.safetensors"))}})
	if err != nil {
		fmt.Println(err)
		return
	}
	last := h.Epochs[len(h.Epochs)-1]
	fmt.Printf("%d epochs, validation accuracy %.2f, best at epoch %d\n", last.Epoch, last.Validation.Accuracy, h.Stopping.BestEpoch)
	// Output:
	// 11 epochs, validation accuracy 0.93, best at epoch 6
}

// Choosing the loss and the targets for a model and its data, as cmd/train
// does: the default follows what the output means and whether the targets
// are classes or regression values.
func ExampleChooseLoss() {
	m, _ := graph.NewSequential([]int{4}, &graph.Dense{Units: 3}, graph.LogSoftmax{})
	loss, why, _ := train.ChooseLoss(m, "", false)
	fmt.Println(loss, "-", why)
	t, _ := train.Targets(m, loss, []int{2, 0}, nil)
	fmt.Println(t.Data())
	reg, _ := graph.NewSequential([]int{4}, &graph.Dense{Units: 2})
	loss, why, _ = train.ChooseLoss(reg, "", true)
	fmt.Println(loss, "-", why)
	_, _, err := train.ChooseLoss(reg, "cross_entropy", true)
	fmt.Println(err)
	k, _ := train.ValidationSize("0.1", 600)
	fmt.Println("validation", k)
	// Output:
	// nll - the output means log_probabilities
	// [0 0 1 1 0 0]
	// mse - the output means values, the targets are regression targets
	// loss cross_entropy is a classification loss, but the data has regression targets: use mse, mae or huber
	// validation 60
}

// Training on batches drawn with replacement, as the book's loops draw
// them (np.random.choice), three batches an epoch, stopped after epoch 2.
func ExampleWithReplacement() {
	x := tensor.New(tensor.WithShape(4, 1), tensor.WithBacking([]float32{0, 1, 2, 3}))
	y := tensor.New(tensor.WithShape(4, 1), tensor.WithBacking([]float32{1, 3, 5, 7})) // 2x + 1
	m, _ := graph.NewSequential([]int{1}, &graph.Dense{Units: 1})
	m.Init(1)
	tr, _ := train.NewTrainer(m, train.Config{Optimizer: &train.SGD{}, LearningRate: 0.05})
	three := func(epoch, n int) int { return 3 }
	h, err := train.Fit(context.Background(), tr, train.FitData{X: []*tensor.Dense{x}, T: []*tensor.Dense{y}},
		train.FitOptions{Epochs: 10, Batch: 2, Sampler: train.WithReplacement(2, 1, three), Callbacks: []train.Callback{train.StopAfter(2)}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range h.Epochs {
		fmt.Printf("epoch %d: %d steps, loss below the first: %t\n", e.Epoch, e.Steps, e.Loss < h.Epochs[0].Loss)
	}
	fmt.Println("steps", tr.Steps())
	// Output:
	// epoch 1: 3 steps, loss below the first: false
	// epoch 2: 3 steps, loss below the first: true
	// steps 6
}
