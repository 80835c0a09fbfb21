// Package onnximport reads ONNX models, such as those torch.onnx.export
// writes, into tapenet models: a functional graph.Model that predicts,
// trains, saves as a checkpoint and exports again (export.WriteONNX) like
// any other.
//
// # Reading a model
//
//	f, err := os.Open("model.onnx")
//	m, err := onnximport.Read(f)        // *graph.Model
//	probs, err := graph.NewPredictor(m).Forward(x)
//
// Decode takes the bytes and FromProto the decoded protobuf. models.Open,
// and so the commands' --model flags (infer, export) and train's --init,
// recognise ONNX files by their first bytes (IsONNX).
//
// Every graph input that is not an initializer becomes a model input: a
// tensor of one of graph's element types (float32, float64, int64, int32,
// bool) whose first dimension is the batch, the other dimensions fixed. The batch may be symbolic (torch.onnx.export with
// dynamic_axes={"input": {0: "N"}}) or fixed (torch.onnx.export as most
// call it): the imported model's batch is symbolic either way, since no
// layer the importer makes works along the batch axis and Shape's batch
// element stays the symbolic batch size through the folding. A model
// exported at batch 1 so runs at batch 1 and at any other; what would tie
// the batch into the arithmetic (a Reshape to a literal first dimension, a
// reduction over axis 0) is refused, naming the node.
//
// # What becomes what
//
// Each node becomes layers. Where an operator matches one of graph's
// layers exactly it becomes that layer: Gemm with transB=1 (nn.Linear) a
// graph.Dense with its weight transposed to (in, out), Conv with a square
// kernel, equal strides and padding, no dilation and a bias a
// graph.Conv2D, and likewise MaxPool, AveragePool, BatchNormalization,
// Dropout, Flatten, Reshape, Concat, Add, Mul, Relu, Sigmoid, Tanh and the
// softmax of (batch, classes) rows. Other forms become layers of this
// package's kinds ("onnx-gemm", "onnx-conv", "onnx-binary", ...; Kinds),
// which train like graph's and export back to their ONNX operators.
//
// The initializers a layer computes with become its parameters, with the
// initializer's values; they are learned when training, except batch
// normalisation's running statistics (buffers, as in PyTorch). The operand
// of an Add, Sub, Mul or Div that comes from a Constant node rather than
// an initializer (x / 255, say) is a buffer too: saved, not learned. A layer whose parameters come from
// initializers "<p>.weight", "<p>.bias", ... is named p, so PyTorch's
// "fc1.weight" stays "fc1.weight" in checkpoints and re-exports; other
// layers are named after the node's module path or their kind. Checkpoints
// of imported models hold layers of this package's kinds: read them with
// checkpoint.Read(r, onnximport.Registry()) (models.Open does).
//
// Tensors known while importing are folded away: initializers that feed
// shape arithmetic, Constant nodes, Shape of a tensor whose sample shape
// is known, and what Gather, Unsqueeze, Squeeze, Concat, Slice, Cast,
// Reshape, Add, ... compute from them. Shape's first element is the batch
// size, kept symbolic through the folding, so x.view(x.size(0), -1)
// (Shape, Gather, Unsqueeze, Concat, Reshape) becomes one graph.Reshape of
// each sample.
//
// # Operators
//
// Opsets 7 to MaxOpset (21) of the default domain, with the
// attribute and input forms of each (Squeeze and Unsqueeze take their axes
// as an attribute before opset 13 and as an input from it on; Softmax and
// LogSoftmax flatten to 2-D before opset 13 and work along one axis from
// it on; Shape has start and end from opset 15; Pad takes its pads and
// value as attributes before opset 11, Slice its starts, ends and axes
// before opset 10; BatchNormalization has spatial before opset 9; an
// attribute or input of a form the model's opset does not have is an
// error). A later opset is an error naming it. Models of opsets MinOpset
// (1) to 6 import when every operator's form is unchanged since (Elu,
// Selu, Softplus, Not, GlobalMaxPool, InstanceNormalization, ...; the
// others changed at opset 7 and are refused naming the form).
//
// The layers for graph's own kinds and this package's, which train and
// export:
//
//	Gemm                transA=0; B and C initializers (alpha, beta, transB any)
//	MatMul              a tensor times a constant matrix
//	Add Sub Mul Div     tensor and constant (numpy broadcasting), two tensors
//	                    of one rank (broadcasting up to 4-D), or constants
//	Relu Sigmoid Tanh LeakyRelu
//	Softmax LogSoftmax  any axis but the batch
//	Conv                2-D, group 1; pads symmetric per axis, strides,
//	                    dilations, auto_pad; with or without bias
//	MaxPool AveragePool 2-D; pads symmetric per axis and smaller than the
//	                    kernel; ceil_mode only where it changes nothing;
//	                    count_include_pad 0 or 1
//	GlobalAveragePool BatchNormalization (inference form) Dropout Identity
//	Flatten Reshape     keeping the batch first (0 and -1 in the shape)
//	Transpose           keeping the batch first
//	Concat              along a sample axis, or of constants
//	Constant Shape Gather Unsqueeze Squeeze Slice Cast ConstantOfShape Pad
//	                    folded on constants; on tensors as far as the batch
//	                    stays first (Slice with step 1, Pad in constant mode)
//
// # Whole-tensor operators (onnx-op)
//
// The other operators, and the forms of these that their layers do not
// take, become Op layers ("onnx-op"): the operator computed directly on
// whole tensors of any of graph's element types (float32, float64
// computed in float64, int64, int32, bool), the node's attributes and
// constant operands in the layer's configuration. A node is converted by
// its operator's layer where there is one, and becomes an Op when that
// refuses the form. An Op is used where it is exact: for elementwise
// operators, and forms that treat every index of the first axis on its
// own (Conv and ConvTranspose of weights, pools, LayerNormalization and
// softmaxes off the first axis, reductions not over it, broadcasting with
// one tensor operand, Resize and Pad that leave the first axis alone), in
// any model, the batch symbolic; and for everything it computes in a
// model whose inputs all have fixed shapes, which the importer imports a
// second time with the batch fixed when the symbolic-batch import fails
// (the model then runs at that batch only, its input's Batch says so).
//
// Ops train: an operand that comes from a FLOAT initializer and that the
// operator's gradient reaches is a parameter of the layer (Op.Learned:
// Conv's weights and bias, LayerNormalization's scale and bias, ...),
// learned when training and exported back as an initializer. Gradients
// (computed in float64, checked against finite differences) exist for the
// elementwise functions, Add Sub Mul Div Pow PRelu, Clip, Conv and
// ConvTranspose (groups, any rank), LayerNormalization, Softmax and
// LogSoftmax, ReduceMean and ReduceSum, GlobalAveragePool, MatMul by a
// matrix, Resize and Upsample in every mode, and the operators that only
// move values (Identity Reshape Flatten Squeeze Unsqueeze Transpose Slice
// Gather GatherElements Concat Expand Tile Split Pad). Training through
// another Op fails at the first step with one line naming the operator
// and the ONNX node. Ops export back where their opset-13 form is the
// same:
//
//	elementwise  Abs Neg Sign Exp Log Sqrt Reciprocal Floor Ceil Round Sin Cos Tan
//	             Asin Acos Atan Sinh Cosh Asinh Acosh Atanh Erf Relu Sigmoid Tanh
//	             Softplus Softsign Mish HardSwish Elu Celu Selu LeakyRelu
//	             ThresholdedRelu HardSigmoid Clip (every opset's form) IsNaN IsInf
//	             Not Cast Identity
//	broadcast    Add Sub Mul Div Pow Mod PRelu Equal Less Greater LessOrEqual
//	             GreaterOrEqual And Or Xor Where Max Min Sum Mean
//	reductions   ReduceSum ReduceMean ReduceMax ReduceMin ReduceProd ReduceL1
//	             ReduceL2 ReduceLogSum ReduceLogSumExp ReduceSumSquare (axes as
//	             attribute or input, keepdims, noop_with_empty_axes) ArgMax ArgMin
//	             CumSum TopK
//	softmax      Softmax LogSoftmax Hardmax (any axis; the 2-D form before opset 13)
//	shape        Transpose Reshape Flatten Squeeze Unsqueeze Concat Expand Tile
//	             Slice Gather GatherElements ScatterElements Split Trilu EyeLike
//	             Size Range GatherND DepthToSpace SpaceToDepth OneHot (depth constant)
//	             Pad (constant, edge, reflect, negative pads,
//	             axes) (shapes, axes, repeats, sizes constant, or given
//	             at run time: see below)
//	linear       MatMul (any rank, broadcast) Gemm (all forms) Conv (any
//	             spatial rank, groups, dilations, asymmetric pads, auto_pad)
//	             ConvTranspose (output_padding; output_shape with SAME auto_pad)
//	             GlobalAveragePool GlobalMaxPool MaxPool (its Indices) AveragePool
//	             (any spatial rank, dilations, asymmetric pads, ceil_mode)
//	resampling   Resize, Upsample: nearest (every nearest_mode), linear and
//	             cubic (cubic_coeff_a, exclude_outside) on any rank, with
//	             half_pixel, pytorch_half_pixel, align_corners, asymmetric
//	             (nearest: tf_half_pixel_for_nearest); not tf_crop_and_resize
//	normalising  LayerNormalization (its Mean and InvStdDev too)
//	             InstanceNormalization Dropout (inference; its mask)
//	losses       NegativeLogLikelihoodLoss SoftmaxCrossEntropyLoss (log_prob too)
//
// An operand an Op reads as a constant (Reshape's shape, Slice's starts
// and ends, a reduction's axes, Resize's scales or sizes, Tile's repeats,
// TopK's K, Range's bounds, ...) may be computed or given at run time in
// a model whose inputs all have fixed shapes, when the model declares the
// node's output type and fixed shape (a graph output or value_info): the
// layer is built with the declared output, the operand's values are read
// at every run, and an output they would shape otherwise is an error
// naming both shapes.
//
// An ONNX scalar (rank 0) is a tensor of shape (1) (tapenet's tensors keep
// at least one axis), taken by Op layers only. Constant inputs fold through
// the same kernels while importing.
//
// # Recurrent operators
//
// RNN, GRU and LSTM become graph.SimpleRNN, graph.GRU and graph.LSTM (one
// layer per direction; a reverse direction runs over the sequence reversed
// in time, and bidirectional outputs are joined), with their initializers
// as parameters in PyTorch's gate order, so they train and export. Forms:
// forward, reverse and bidirectional; initial_h and initial_c (zeros are
// no input); layout 0 and 1; the outputs Y, Y_h and Y_c (an LSTM whose
// final cell state is read becomes LSTMState layers, "onnx-lstm-state",
// which also return it; they train but do not export); sequence_lens when
// every sequence runs its whole length, and shorter sequences for a
// forward operator of which one of Y and Y_h is read (the layers' lengths
// input: zeros past each length, the state at its last step); the
// default activations; GRU's
// linear_before_reset=1 (PyTorch's GRU). Weights that the model computes
// (graph inputs, as in ONNX's node tests) become Recurrent layers
// ("onnx-recurrent") in a model of fixed input shapes. Refused, naming the
// node: other activations, clip, peepholes, input_forget,
// linear_before_reset=0, other shorter sequences.
//
// ONNX puts the sequence first, X (seq, batch, in), and a batch-first
// PyTorch model transposes to it and back. With a symbolic batch, a
// tensor whose batch a Transpose moved off axis 0 is kept with the batch
// first and taken only by Transpose, Squeeze, Unsqueeze, Reshape (keeping
// the batch whole), Gather along another axis, Shape and the recurrent
// operators; ConstantOfShape and Expand of a constant to a shape with the
// batch size inside (PyTorch's zero initial states) make one. So
// torch.onnx.export of a batch-first LSTM or GRU, with or without
// dynamic_axes, imports with a symbolic batch: it runs at any batch size
// and fine-tunes. Where the batch merges with another axis (the attention
// of nn.TransformerEncoderLayer reshapes (seq, batch, E) to (seq,
// batch·heads, E/heads)) the symbolic import is refused, naming the node;
// the default export then imports with its fixed shapes.
//
// ONNX's own backend node tests measure it (TestNodeSuite, opt-in with
// TAPENET_ONNX_NODE_TESTS; the table per operator is docs/onnx-coverage.md,
// generated by the test): 683 of python3-onnx 1.12's 922 pass, the rest
// are refused, none computes a wrong value or crashes.
//
// Anything else is an error, a *NodeError naming the operator, the node and
// the opset and wrapping ErrUnsupported: an unknown operator or attribute,
// a grouped or 3-D convolution, asymmetric padding, a reshape that mixes
// the batch with sample dimensions, a Squeeze without axes (its result
// would depend on the batch size), an operator of another domain. The
// importer never builds a model that computes something other than the
// ONNX graph. Tests check every operator against hand-computed values and
// ONNX Runtime, and models trained and exported by PyTorch against ONNX
// Runtime on the 10,000 MNIST test images.
//
// # Training an imported model
//
// graph/train picks the loss from the output layer: a model whose output
// is a Softmax trains with cross-entropy. PyTorch models usually end in
// logits (trained with nn.CrossEntropyLoss): export them with their softmax
// (torch.nn.Sequential(model, torch.nn.Softmax(dim=1))) to fine-tune them
// here; a model ending in logits or LogSoftmax trains with mean squared
// error.
//
// # Limits
//
// Read reads at most MaxBytes; a graph has at most MaxNodes nodes; every
// tensor's dimensions are checked against its data and graph.MaxElements
// before anything is allocated. Constants computed while importing are
// capped in bytes (MaxFoldedBytes beyond twice the initializers: an int64
// costs twice a float32), and a Pad of a model tensor may make at most
// MaxPadElements values per sample or 4 times its input's. DOUBLE
// constants fold in float64; a FLOAT and a DOUBLE operand are an error, as
// in ONNX; FLOAT16 initializers and constants become float32 on load.
// Hostile files give errors, not panics (FuzzDecode, FuzzGraph),
// within bounded time and memory (TestBoundedWork). Weights stored outside
// the file (external data) are not read.
package onnximport
