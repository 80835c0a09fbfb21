package train_test

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
)

// Per-step labels with padding: a (time, classes) output of logits, (N,
// time) int64 labels, the padding label 0 ignored as PyTorch's
// ignore_index=0. With zero weights every step predicts 1/4 for each
// class, so the loss is ln 4 over the labelled steps, however many are
// padding.
func ExampleIgnoreIndex() {
	m, err := graph.NewSequential([]int{3, 2}, &graph.TimeDense{Units: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	loss := train.IgnoreIndex{Loss: train.SparseCrossEntropy, Index: 0}
	tr, err := train.NewTrainer(m, train.Config{Losses: []train.Loss{loss}})
	if err != nil {
		fmt.Println(err)
		return
	}
	x := tensor.New(tensor.WithShape(2, 3, 2), tensor.WithBacking([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}))
	labels := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]int64{1, 3, 0, 2, 0, 0}))
	l, err := tr.Step(x, labels)
	fmt.Printf("%s: %.6f %v\n", loss, l, err)
	_, err = tr.Step(x, tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]int64{1, 3, 0, 2, 4, 0})))
	fmt.Println(err)
	// Output:
	// sparse_cross_entropy(ignore_index=0): 1.386294 <nil>
	// step: targets of output timedense1: label 4 is 4, not in [0, 4) nor the ignored 0
}
