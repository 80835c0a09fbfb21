package models

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/tapenet/tapenet/graph"
)

// Arches lists the architectures ForData builds.
func Arches() []string { return []string{"mlp", "book", "convnet", "resnet", "book-deep", "lstm"} }

// ArchOptions tune the architectures of ForData. The zero value gives
// cmd/train's defaults.
type ArchOptions struct {
	// Hidden lists the hidden layer sizes of the mlp (default [256]).
	Hidden []int
	// Activation is the hidden activation of the mlp (default "relu").
	Activation string
}

// ForData returns the architecture arch built for samples of shape in and
// a task: a classification head of classes units and a softmax (classes >
// 0), or a regression head of targets identity units (targets > 0, whose
// output means values: train it with an MSE-like loss). Exactly one of
// classes and targets is positive. At most one ArchOptions is used.
//
//   - mlp: Dense hidden layers (ArchOptions) over the flattened sample; any
//     input shape.
//   - book: the book's chapter 3 net, hidden layers of 50 and 100 sigmoid
//     units, over the flattened sample.
//   - convnet: the book's SimpleConvNet (conv 30×5×5, ReLU, 2×2 max-pool,
//     Dense 100, ReLU, head), over images (channels, rows, cols) of at
//     least 6×6; a sample of shape (rows, cols) or a flat square number of
//     values is taken as one channel.
//   - resnet: the small residual CNN of ResNet over images (as convnet) of
//     at least 4×4.
//   - book-deep: the book's DeepConvNet with its dropout, over images of
//     at least 8×8 (a regression head drops the last dropout).
//   - lstm: an LSTM of 128 units over the rows of an image as time steps
//     (channels·rows steps of cols values; (steps, features) samples as
//     they are; a flat square as one channel), its last state, then the
//     head (Xavier init).
//
// On MNIST's shapes ([784] for mlp and book, [1 28 28] for the convnets)
// with 10 classes it builds exactly the models of MLP, BookNet, ConvNet,
// ResNet, BookDeepConvNet and RowLSTM.
func ForData(arch string, in []int, classes, targets int, opts ...ArchOptions) (*graph.Model, error) {
	var opt ArchOptions
	if len(opts) > 0 {
		opt = opts[0]
	}
	if opt.Hidden == nil {
		opt.Hidden = []int{256}
	}
	if opt.Activation == "" {
		opt.Activation = "relu"
	}
	m, err := forData(arch, in, classes, targets, opt)
	if err != nil {
		return nil, fmt.Errorf("--arch %s for samples of shape %v: %w", arch, in, err)
	}
	return m, nil
}

func forData(arch string, in []int, classes, targets int, opt ArchOptions) (*graph.Model, error) {
	if len(in) == 0 || slices.ContainsFunc(in, func(d int) bool { return d < 1 }) {
		return nil, fmt.Errorf("the sample shape must have positive dimensions")
	}
	if (classes > 0) == (targets > 0) || classes < 0 || targets < 0 {
		return nil, fmt.Errorf("want either classes (%d) or regression targets (%d), one of them positive", classes, targets)
	}
	h := head{classes: classes, targets: targets}
	switch arch {
	case "mlp":
		return mlp(in, opt.Hidden, h, opt.Activation)
	case "book":
		return mlp(in, []int{50, 100}, h, "sigmoid")
	case "convnet", "resnet", "book-deep":
		pre, img, err := asImage(in)
		if err != nil {
			return nil, err
		}
		least := map[string]int{"convnet": 6, "resnet": 4, "book-deep": 8}[arch]
		if img[1] < least || img[2] < least {
			return nil, fmt.Errorf("images of %dx%d are smaller than the %dx%d it needs", img[1], img[2], least, least)
		}
		switch arch {
		case "convnet":
			return convNet(in, pre, h)
		case "resnet":
			return resNet(in, pre, h)
		}
		return bookDeepFor(in, pre, [6]int{16, 16, 32, 32, 64, 64}, [6]int{3, 3, 3, 3, 3, 3}, 50, h)
	}
	if arch == "lstm" {
		return rowLSTM(in, h)
	}
	return nil, fmt.Errorf("unknown architecture (want %s)", strings.Join(Arches(), ", "))
}

// rowLSTM reads the rows of a sample as time steps: (steps, features)
// samples as they are, images (channels, rows, cols) as channels·rows
// steps of cols values (the rows of each channel in turn).
func rowLSTM(in []int, h head) (*graph.Model, error) {
	var pre []graph.Layer
	switch len(in) {
	case 2:
	case 1, 3:
		p, img, err := asImage(in)
		if err != nil {
			return nil, err
		}
		pre = append(p, &graph.Reshape{Shape: []int{img[0] * img[1], img[2]}})
	default:
		return nil, fmt.Errorf("samples of rank %d are not sequences; want (steps, features) or images", len(in))
	}
	layers := append(pre, &graph.LSTM{Units: 128})
	layers = append(layers, h.layers("xavier")...)
	return graph.NewSequential(in, layers...)
}

// head is the output of a model: classes (softmax) or regression targets.
type head struct{ classes, targets int }

// layers returns the head's layers: Dense and softmax, or Dense.
func (h head) layers(init string) []graph.Layer {
	if h.classes > 0 {
		return []graph.Layer{&graph.Dense{Units: h.classes, Init: init}, graph.Softmax{}}
	}
	return []graph.Layer{&graph.Dense{Units: h.targets, Init: init}}
}

// mlp is MLP over samples of any shape, flattened first if not flat.
func mlp(in, hidden []int, h head, activation string) (*graph.Model, error) {
	act, err := Activation(activation)
	if err != nil {
		return nil, err
	}
	var layers []graph.Layer
	if len(in) > 1 {
		layers = append(layers, graph.Flatten{})
	}
	for _, n := range hidden {
		if n < 1 {
			return nil, fmt.Errorf("hidden sizes must be positive, got %v", hidden)
		}
		layers = append(layers, &graph.Dense{Units: n, Init: initFor(activation)}, act)
	}
	layers = append(layers, h.layers(initFor(activation))...)
	return graph.NewSequential(in, layers...)
}

// asImage tells the image shape (channels, rows, cols) of samples of shape
// in, and the layers that reshape a sample to it (none for an image).
func asImage(in []int) (pre []graph.Layer, img []int, err error) {
	switch len(in) {
	case 3:
		return nil, in, nil
	case 2:
		img = []int{1, in[0], in[1]}
	case 1:
		side := int(math.Round(math.Sqrt(float64(in[0]))))
		if side*side != in[0] {
			return nil, nil, fmt.Errorf("flat samples of %d values are not square images; give samples of shape (channels, rows, cols)", in[0])
		}
		img = []int{1, side, side}
	default:
		return nil, nil, fmt.Errorf("samples of rank %d are not images; want (channels, rows, cols)", len(in))
	}
	return []graph.Layer{&graph.Reshape{Shape: img}}, img, nil
}
