// Package graph is tapenet's core: layers that add Gorgonia nodes, the
// Model they form (a directed acyclic graph from named inputs to outputs),
// and the runtime that compiles a model into Gorgonia graphs and runs them
// on the tape machine (Program, Predictor). Training lives in graph/train,
// checkpoints in graph/checkpoint, the fused float32 ops the layers are
// built on in graph/ops; the BLAS is chosen by importing package blas.
//
// Nothing here knows about MNIST: inputs are float32 tensors whose first
// dimension is the batch.
//
// # Declaring a model
//
// A stack of layers is declared with NewSequential; shapes are inferred
// through it, and parameters are allocated and named after their layer
// ("fc1.weight", "fc1.bias"):
//
//	m, err := graph.NewSequential([]int{784},
//		&graph.Dense{Units: 50}, graph.Sigmoid{},
//		&graph.Dense{Units: 100}, graph.Sigmoid{},
//		&graph.Dense{Units: 10}, graph.Softmax{})
//	m.Init(1) // seeded He or Xavier weights
//
// Any other shape is declared by applying layers to symbolic tensors, as in
// Keras' functional API. A residual block:
//
//	x := graph.Input("image", 1, 28, 28)
//	h := graph.Apply(&graph.Conv2D{Filters: 16, Kernel: 3, Padding: 1}, x)
//	r := graph.Apply(&graph.Conv2D{Filters: 16, Kernel: 3, Padding: 1}, graph.Apply(graph.ReLU{}, h))
//	y := graph.Apply(graph.ReLU{}, graph.Apply(graph.Add{}, h, r))
//	out := graph.Apply(graph.Softmax{}, graph.Apply(&graph.Dense{Units: 10}, graph.Apply(graph.GlobalAvgPool2D{}, y)))
//	m, err := graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{out})
//
// A model may have several inputs and outputs; a layer applied twice (the
// same pointer) shares its parameters. Errors met while declaring travel
// with the tensors and NewModel returns the first. NewSequential builds
// the same Model type: there is one model, one runner, one spec.
//
// The layers: Dense, Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D,
// Flatten, Reshape, Dropout, BatchNorm, the merges Add, Multiply and Concat,
// and the activations Step, Sigmoid, ReLU, Tanh, Identity and Softmax. A
// model's Spec is JSON (layers, nodes and their inbound connections);
// FromSpec rebuilds it through a Registry of layer kinds, and still reads
// the "tapenet.sequential/v1" specs of earlier checkpoints.
//
// # Running it
//
// Model.Build adds the model to a new Gorgonia graph for one batch size. A
// Predictor keeps one compiled graph and tape machine per batch size, so
// any number of samples runs with every sample counted once:
//
//	pr := graph.NewPredictor(m)
//	classes, err := pr.Classify(x, 100) // x: (N, 784); batches of 100 and the rest
//	probs, err := pr.Forward(batch)      // the output tensor of one batch
//	outs, err := pr.Predict(a, b)        // every output, for a model of two inputs
//
// Inputs must be float32 tensors of the model's sample shape with at least
// one sample: an empty input is an error. A strided or non-contiguous view
// (a column slice, a transpose) is packed into a contiguous copy before it
// is read; it is never read as if it were contiguous.
//
// # Concurrency
//
// A Model may be shared by any number of goroutines, each with its own
// Predictor: they compile and run at the same time without locks. Every
// compiled graph binds the model's parameters through tensor headers of its
// own that share the model's numbers (Gorgonia's tape machine writes its
// engine into the tensors it binds; with shared headers, compiling two
// machines raced). The race detector checks this in the tests.
//
// What is not safe: one Predictor or Trainer used by two goroutines, and
// changing parameters (Init, SetParam, a Trainer's step, a training graph's
// batch-normalisation statistics) while another goroutine runs the model.
// A Predictor reads the parameters at every run, so after training it sees
// the new values without recompiling.
//
// # Aliasing
//
// Predictor.Forward and Predictor.Predict return copies: the caller may
// keep and change them. Values read directly from a Program's nodes after a
// run (Node.Value, gorgonia.Read) belong to the graph and are valid only
// until its next run, whatever op made them: tapenet's fused ops reuse
// their output buffers from run to run (graph/ops), and although
// Gorgonia's own ops allocate anew, nothing promises it. Copy what you keep. Parameter tensors returned by Model.Param are the
// model's own: writing to them changes the model, in every compiled graph.
//
// # Adding a layer
//
// A layer is a value with a Kind and a Forward method that adds nodes
// through a Scope; one with learnable tensors also declares them with
// Params (ParamLayer) and reaches them through Scope.Param (Scope.Buffer for
// state it updates itself); one with several inputs implements Merger.
// Register its kind in a Registry (start from Builtin()) and it round-trips
// through specs and checkpoints like the built-in layers, which use no
// other access to the package. Nothing in this package needs editing.
//
// # Limits
//
// FromSpec reads at most MaxLayers layers and nodes (counted before they
// are decoded, so a spec of a million layers is refused after skimming
// MaxLayers of them); a tensor has at most MaxElements values and a model
// at most MaxParams parameter values, all checked before parameters are
// allocated. Building is linear in the number of nodes. FromSpecParams
// shows a ParamLoader every parameter's name and shape before any is
// allocated, so a reader of weights (graph/checkpoint) checks them against
// its file first and then hands over the values without a copy.
package graph
