package models

import "github.com/tapenet/tapenet/graph"

// ResNet returns a small residual CNN over 1×28×28 images, declared with
// graph's functional API:
//
//	conv 16×3×3 (pad 1) -> ReLU -> 2×2 max-pool             (16,28,28) -> (16,14,14)
//	conv 48×3×3 (pad 1) -> 2×2 max-pool -> BN -> ReLU       (48,14,14) -> (48,7,7)
//	residual block: conv 48×3×3 -> BN -> ReLU -> conv 48×3×3 -> BN,
//	    + identity skip (graph.Add), ReLU                    (48,7,7)
//	flatten -> Dense 10 -> softmax                           2352 -> 10
//
// 72,794 parameters: 72,506 learned and 288 batch-norm buffers (running
// mean and variance of the three BatchNorm layers). Convolutions run at low resolution, and batch
// norm only on 7×7 maps, because Gorgonia's im2col and the channel moves of
// batch norm dominate the cost on a CPU; a dense head over the flattened
// 7×7 maps learned faster in short trials than global average pooling did.
// Train it on images loaded with Flatten: false.
func ResNet() (*graph.Model, error) {
	return resNet([]int{1, 28, 28}, nil, head{classes: 10})
}

// resNet is ResNet over samples of shape in, reshaped to images by the
// layers pre, with the head hd.
func resNet(in []int, pre []graph.Layer, hd head) (*graph.Model, error) {
	x := graph.Input("image", in...)
	h := x
	for _, l := range pre {
		h = graph.Apply(l, h)
	}
	h = graph.Apply(graph.ReLU{}, graph.Apply(&graph.Conv2D{Filters: 16, Kernel: 3, Padding: 1}, h))
	h = graph.Apply(&graph.MaxPool2D{}, h)
	h = graph.Apply(&graph.MaxPool2D{}, graph.Apply(&graph.Conv2D{Filters: 48, Kernel: 3, Padding: 1}, h))
	h = graph.Apply(graph.ReLU{}, graph.Apply(&graph.BatchNorm{}, h))
	r := graph.Apply(graph.ReLU{}, graph.Apply(&graph.BatchNorm{}, graph.Apply(&graph.Conv2D{Filters: 48, Kernel: 3, Padding: 1}, h)))
	r = graph.Apply(&graph.BatchNorm{}, graph.Apply(&graph.Conv2D{Filters: 48, Kernel: 3, Padding: 1}, r))
	h = graph.Apply(graph.ReLU{}, graph.Apply(graph.Add{}, h, r))
	h = graph.Apply(graph.Flatten{}, h)
	for _, l := range hd.layers("") {
		h = graph.Apply(l, h)
	}
	return graph.NewModel([]*graph.Tensor{x}, []*graph.Tensor{h})
}
