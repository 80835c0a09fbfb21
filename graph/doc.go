// Package graph is tapenet's core: layers that add Gorgonia nodes, the
// Model they form (a directed acyclic graph from named inputs to outputs),
// and the runtime that compiles a model into Gorgonia graphs and runs them
// on the tape machine (Program, Predictor). Training lives in graph/train,
// checkpoints in graph/checkpoint, the fused float32 ops the layers are
// built on in graph/ops; the BLAS is chosen by importing package blas.
//
// Nothing here knows about MNIST: inputs are tensors (float32 unless
// declared otherwise) whose first dimension is the batch, symbolic unless
// declared fixed.
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
// and the activations Step, Sigmoid, ReLU, Tanh, Identity, Softmax and
// LogSoftmax. A model's Spec is JSON (layers, nodes and their inbound
// connections); FromSpec rebuilds it through a Registry of layer kinds, and
// still reads the "tapenet.sequential/v1" specs of earlier checkpoints.
//
// # Element types
//
// A model input is float32 unless declared with another DType (Float64,
// Int64, Int32, Bool): token ids, indices, labels, masks.
//
//	ids := graph.Input("tokens", 32).As(graph.Int64) // (batch, 32) int64
//
// Each layer's output has the element type its nodes compute (Node.DType,
// Tensor.DType). A layer says which input types it takes by implementing
// TypeChecker; one that does not takes float32 only, and applying it to
// anything else is a *LayerError naming the layer, at declaration. A
// Predictor takes tensors of each input's type; a wrong type or shape is a
// one-line error naming the input, what was given and what is wanted.
// Parameters are float32. ops.Lookup picks rows of a table by int ids: the
// embedding's op, with no one-hot matrix.
//
// # Symbolic and fixed batches
//
// An input's first axis is the batch, symbolic by default: Build and a
// Predictor give it the size of the batch at hand, and layers must keep it
// as their output's first axis (they work per sample). WithBatch fixes it:
//
//	x := graph.Input("x", 3).WithBatch(4) // always (4, 3)
//
// Layers may then work along axis 0 too, a sum over it say. A node whose
// inputs all have a fixed batch has a fixed shape, recorded as Node.Batch
// (its first axis, whatever it means) and Node.Shape (the rest): the sum
// over axis 0 of that (4, 3) input is Batch 3, Shape []. A node with any
// input of a symbolic batch has Batch 0 and the per-sample Shape, as every
// node had before fixed batches existed. A model may mix both (a symbolic
// batch of samples and a fixed table, say).
//
// A model whose inputs all have a fixed batch (Model.FixedBatch > 0) is
// built only at that batch: Build of another batch is an error, not a
// silent reshaping. ClassifyInputs splits only the inputs of a symbolic
// batch into batches and hands every batch the whole of each fixed input;
// an all-fixed model runs once on the whole tensors (no chunking, no
// padding: its rows may depend on each other) and gives a class per row of
// its output. Spec, checkpoints and export carry the types and batches; a
// float32 input of a symbolic batch is written exactly as before (the
// "dtype" and "batch" keys are omitted), so older specs and checkpoints
// keep their bytes.
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
// Inputs must be tensors of each model input's element type and sample
// shape with at least one sample: an empty input is an error. A strided or non-contiguous view
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
// Register its kind (see Registries) and it round-trips through specs and
// checkpoints like the built-in layers, which use no other access to the
// package. Nothing in this package needs editing.
//
// # Registries
//
// FromSpec, FromSpecParams and checkpoint.Read decode layer kinds with the
// Registry they are given, or with DefaultRegistry when given nil. The
// default registry is process-wide, like image.RegisterFormat's formats:
// it holds this package's kinds, and a package that defines layers adds
// its own from an init function with RegisterDefault (models and
// onnximport do), so importing the package is enough to read its models:
//
//	func init() {
//		if err := graph.RegisterDefault("my_layer", func() graph.Layer { return &MyLayer{} }); err != nil {
//			panic(err)
//		}
//	}
//
// A kind registered twice is an error. For a set of kinds of its own (a
// test, a sandbox), a program starts from Builtin(), a new registry of this
// package's kinds only, and passes it explicitly.
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
