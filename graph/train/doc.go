// Package train fits a graph.Model's parameters: a Trainer adds the loss
// the book pairs with each output activation (softmax: cross-entropy on the
// logits; sigmoid: binary cross-entropy; anything else: mean squared
// error), differentiates it with gorgonia.Grad, runs the graph on
// Gorgonia's tape machine and steps SGD, Momentum or Adam with the update
// rules of Gorgonia's solvers, fused into one pass per tensor (AVX2 on
// amd64). A model with several outputs trains on the sum of their losses.
//
//	tr, err := train.NewTrainer(m, train.Config{Optimizer: "adam", Seed: 1})
//	for epoch := 1; epoch <= 5; epoch++ {
//		stats, err := tr.Epoch(x, oneHot, 100, nil) // shuffled, seeded
//		...
//	}
//
// The parameters are the model's own tensors, shared by every graph of the
// model, so a graph.Predictor sees each update. The same seeds, data and
// BLAS give the same parameters bit for bit. A loss that is NaN or
// infinite stops training with ErrDiverged.
//
// A Trainer is not safe for concurrent use, and the model must not run in
// other goroutines while it steps.
package train
