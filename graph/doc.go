// Package graph is tapenet's framework: layers that add Gorgonia nodes, a
// declarative Sequential model that owns its parameters, a Predictor and a
// Trainer that compile the model into Gorgonia graphs and run them on the
// tape machine, the losses the book pairs with each output activation, and
// checkpoints in the safetensors format.
//
// Nothing here knows about MNIST: inputs are float32 tensors whose first
// dimension is the batch.
//
// # Declaring a model
//
// A model lists its layers after the per-sample input shape; shapes are
// inferred through it, and parameters are allocated and named after their
// layer ("fc1.weight", "fc1.bias"):
//
//	m, err := graph.NewSequential([]int{784},
//		&graph.Dense{Units: 50}, graph.Sigmoid{},
//		&graph.Dense{Units: 100}, graph.Sigmoid{},
//		&graph.Dense{Units: 10}, graph.Softmax{})
//	m.Init(1) // seeded He or Xavier weights
//
// The layers: Dense, Conv2D, MaxPool2D, Flatten, Dropout, BatchNorm and the
// activations Step, Sigmoid, ReLU, Tanh, Identity and Softmax. A model's
// Spec is JSON (kinds and configs); FromSpec rebuilds it through a Registry
// of layer kinds.
//
// # Running it
//
// Sequential.Build adds the model to a new Gorgonia graph for one batch
// size. A Predictor keeps one compiled graph and tape machine per batch
// size, so any number of samples runs with every sample counted once:
//
//	pr := graph.NewPredictor(m)
//	classes, err := pr.Classify(x, 100) // x: (N, 784); batches of 100 and the rest
//	probs, err := pr.Forward(batch)      // the output tensor of one batch
//
// # Training it
//
// A Trainer adds the loss that LossFor chooses (softmax: cross-entropy on
// the logits; sigmoid: binary cross-entropy; anything else: mean squared
// error), differentiates it with gorgonia.Grad and steps SGD, Momentum or
// Adam. Parameters are tensors owned by the model and shared by every
// graph, so a Predictor sees each update. Seeds make a run bit for bit
// reproducible; a loss that is NaN or infinite stops training with
// ErrDiverged.
//
//	tr, err := train.NewTrainer(m, train.Config{Optimizer: "adam", Seed: 1})
//	stats, err := tr.Epoch(x, oneHot, 100, nil)
//
// # Adding a layer
//
// A layer is a value with a Kind and a Forward method that adds nodes
// through a Scope; one with learnable tensors also declares them with
// Params (ParamLayer). Register its kind in a Registry (start from
// Builtin()) and it round-trips through specs and checkpoints like the
// built-in layers. Nothing in this package needs editing.
//
// # Checkpoints
//
// WriteCheckpoint writes the weights and the model spec as one safetensors
// file (its doc comment gives the byte layout); ReadCheckpoint rebuilds the
// model from it.
//
// # Speed
//
// Importing graph installs tapenet's AVX2 Sgemm as Gorgonia's BLAS (or
// OpenBLAS with -tags openblas); Dense and Sigmoid run as fused float32
// Gorgonia ops, and the optimizers update each tensor in one pass.
package graph
