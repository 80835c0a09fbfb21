// Package ops holds tapenet's fused Gorgonia ops: float32 operations that
// Gorgonia would otherwise compose from several generic ops, each with a
// symbolic gradient built of nodes so that gorgonia.Grad and the tape
// machine differentiate through it.
//
//	y, err := ops.Dense(x, w, b) // x·W + b: one Sgemm into the bias rows
//	y, err = ops.ReLU(y)         // max(0, y), no mask tensor per run
//
// Conv2D (one product per image into NCHW planes that start at the bias:
// stride-1 convolutions with many taps read the taps as shifted views of a
// zero-padded copy of the image, the others a patch matrix; the filter
// gradient one tap-major product over the batch in cache-sized steps, the
// taps split over the cores; the input gradient of a stride-1 convolution
// a transposed convolution computed as the forward pass, the others
// tap-major patches added back tap by tap), MaxPool2D (no argmax mask: the
// gradient finds each maximum again), Softmax, Sigmoid and the rest give
// the values of the Gorgonia graphs they replace bit for bit, gradients
// included, and the tests compare them. The one exception is that
// transposed input gradient: each element is one FMA chain over all F·kh·kw
// terms where col2im adds kh·kw chains of F, so it rounds differently,
// within the float32 dot-product bound k·2⁻²⁴·Σ|terms| of the exact sum
// (as col2im's is; measured 2e-7·Σ|terms| at most), with NaN, infinities
// and zeros as col2im's. Networks whose only convolution reads the input
// (the embedded convnet) compute no input gradient and train to the same
// bytes as before; deeper ones (resnet, DeepConvNet) to nearby ones.
// BatchNorm2D is batch normalisation in training over NCHW planes (no
// channel moves), with fused gradients: float64 sums, within float32
// rounding of the composed graph it replaces (tested against float64
// central differences), running statistics bit for bit.
// ConvReLUPool is the three layers as one inference-only op. Dense and
// Conv2D compute no gradient for a graph leaf (a model input): DiffWRT says
// so, and the first layer of a network skips that product.
//
// Layers (package graph) are built on them; a layer of your own may use
// them too.
//
// # Aliasing
//
// The fused ops reuse their output tensor from one run of a graph to the
// next: a value read from such
// a node is valid until the graph runs again. Copy it to keep it (graph's
// Predictor does). The other ops allocate per run, but callers should not
// rely on the difference.
//
// # Speed
//
// The matrix products run on whatever BLAS Gorgonia uses (gorgonia.Use):
// import package blas to install tapenet's. The convolutions' gradients
// compute products in another orientation than gorgonia.Conv2d's, and
// their bit-for-bit equality rests on tapenet's Sgemm (each element one
// FMA chain per depth block of 256, whatever the orientation); with
// another BLAS (-tags openblas) they agree within its rounding instead.
// The shifted forward pass and the transposed input gradient run only on
// tapenet's Sgemm with AVX-512 (col2im's path elsewhere). Sigmoid runs eight lanes at a
// time with AVX2 and FMA, ReLU, its gradient and 2×2 pooling sixteen with
// AVX-512, on amd64 (chosen at run time), portable Go elsewhere. Large ops
// split their images over the cores.
package ops
