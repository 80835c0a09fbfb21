package models

import "github.com/tapenet/tapenet/graph"

// RowLSTM returns the row-by-row MNIST recurrent classifier (the classic
// Keras and Gorgonia example): each (1, 28, 28) image is read as 28 steps
// of 28 pixels by an LSTM of 128 units, whose last state feeds a Dense
// softmax over 10 classes; PyTorch's nn.LSTM(28, 128, batch_first=True)
// followed by nn.Linear(128, 10). 82,186 parameters.
func RowLSTM() (*graph.Model, error) {
	return graph.NewSequential([]int{1, 28, 28},
		&graph.Reshape{Shape: []int{28, 28}},
		&graph.LSTM{Units: 128},
		&graph.Dense{Units: 10, Init: "xavier"},
		graph.Softmax{})
}
