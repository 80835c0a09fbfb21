// Package export writes tapenet models in forms other tools open: a
// Keras-style summary, the compiled Gorgonia graph as JSON or Graphviz DOT,
// the weights as safetensors or a numpy .npz archive, and the whole network
// as an ONNX model that ONNX Runtime (or any ONNX runtime) executes.
//
// Every writer takes an io.Writer and a *graph.Model, so it works as
// well from Go as behind cmd/export:
//
//	m, _ := models.BookNet()
//	m.Init(1)
//	err := export.WriteSummary(os.Stdout, m)
//
// A writer returns an error before writing anything when the model cannot
// be exported (a layer with no ONNX form, Graphviz missing for svg and
// png). To be sure a failed export leaves no partial file, write through a
// temporary file renamed into place, as cmd/export does with
// cli.WriteFile.
//
// # Formats
//
// [Formats] lists them all, with names, file extensions and whether they
// are binary; [Lookup] finds one by name and [ByExtension] by file name:
//
//   - summary ([WriteSummary]): a table of layers with output shapes and
//     parameter counts, then total, trainable and non-trainable parameters;
//     for a model that is not a plain stack, one row per node with a
//     "Connected to" column (as Keras' functional summary) and input rows.
//     A symbolic batch shows as None, a fixed one as its size, and an
//     element type other than float32 after the shape ([TensorString]).
//   - json ([WriteJSON]): the model spec, its inputs and outputs (shapes
//     with -1 for a symbolic batch, dtypes) and every node of the Gorgonia
//     graph compiled for a batch of one (a fully fixed-batch model: its
//     batch), with op, shape, dtype, layer and input node ids
//     ([BuildGraph] returns the same as Go values).
//   - dot ([WriteDOT]): Graphviz source of that graph, one cluster per
//     model node, so branches and skip connections show as edges between
//     clusters.
//   - svg and png ([WriteImage]): the DOT graph rendered by Graphviz's dot
//     program, when it is installed.
//   - safetensors ([WriteSafetensors]): the tapenet checkpoint.
//   - npz ([WriteNPZ]): one float32 array per parameter, named as in the
//     checkpoint ("fc1.weight", "fc1.bias", ...), for numpy.load.
//   - onnx ([WriteONNX]): an ONNX model, opset 13, with a dynamic batch
//     dimension "N".
//
// # Weight layout
//
// A dense layer's weight is stored (in, out), as the book writes x·W. This
// is the transpose of PyTorch's nn.Linear.weight, which is (out, in): in
// every format here the weight keeps tapenet's (in, out) layout, and the
// ONNX model multiplies with Gemm(transB=0).
//
// # ONNX translations of layers
//
// The ONNX writer translates a model node by node (a layer applied at
// several nodes shares its initializers). For each layer it looks, in
// order, for:
//
//  1. the [ONNXLayer] interface, implemented by the layer value itself:
//     how a layer of your own becomes exportable;
//  2. the built-in translation of one of graph's kinds ([ONNXKinds]:
//     dense, sigmoid, relu, tanh, softmax, identity, step, conv2d,
//     maxpool2d, avgpool2d, globalavgpool2d, flatten, reshape, dropout,
//     batchnorm, add, multiply, concat). It is a fixed table, not a global
//     registry that init functions change.
//
// A layer with neither is an error naming the layer and its kind. A
// translation adds nodes through an [ONNXBuilder].
package export
