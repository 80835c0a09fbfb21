package models

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/numpyio"
)

// The book's MNIST input: one grey channel of 28×28 pixels.
const (
	bookChannels = 1
	bookSide     = 28
)

// bookDeepPads are the paddings of DeepConvNet's six 3×3 convolutions
// (ch08/deep_convnet.py's conv_param_1 to conv_param_6; all stride 1).
// The fourth pads by 2, so the second pooling sees 16×16 maps and the
// third 8×8: 64 channels of 4×4 reach the first affine layer.
var bookDeepPads = [6]int{1, 1, 1, 2, 1, 1}

// BookSimpleConvNet returns the book's SimpleConvNet (ch07/simple_convnet.py)
// with its default sizes, over 1×28×28 images: convolution of 30 filters of
// 5×5 (stride 1, no padding) -> ReLU -> 2×2 max-pool of stride 2 -> Affine
// 100 -> ReLU -> Affine 10 -> softmax (the book's SoftmaxWithLoss);
// 433,890 parameters. Init draws the weights as the book does, from
// N(0, 0.01²) (its weight_init_std = 0.01; biases zero).
//
// ConvNet is the same network with He initial weights.
func BookSimpleConvNet() (*graph.Model, error) {
	return bookSimple(bookChannels, 30, 5, 100, 10)
}

// bookSimple is SimpleConvNet with the given sizes.
func bookSimple(channels, filters, kernel, hidden, classes int) (*graph.Model, error) {
	const std = "normal:0.01"
	return graph.NewSequential([]int{channels, bookSide, bookSide},
		&graph.Conv2D{Filters: filters, Kernel: kernel, Init: std}, graph.ReLU{},
		&graph.MaxPool2D{Kernel: 2, Stride: 2},
		graph.Flatten{},
		&graph.Dense{Units: hidden, Init: std}, graph.ReLU{},
		&graph.Dense{Units: classes, Init: std}, graph.Softmax{},
	)
}

// BookDeepConvNet returns the book's DeepConvNet (ch08/deep_convnet.py) with
// its default sizes, over 1×28×28 images:
//
//	conv 16 3×3 pad 1 - relu - conv 16 3×3 pad 1 - relu - pool 2×2 -
//	conv 32 3×3 pad 1 - relu - conv 32 3×3 pad 2 - relu - pool 2×2 -
//	conv 64 3×3 pad 1 - relu - conv 64 3×3 pad 1 - relu - pool 2×2 -
//	affine 50 - relu - dropout 0.5 - affine 10 - dropout 0.5 - softmax
//
// (all strides 1, pools of stride 2), 123,552 parameters. The dropout layers
// are the book's own (BookDropout): they scale by 0.5 at test time, as the
// book's predict(x, train_flg=False) does. Init draws He initial weights,
// N(0, 2/fan-in), as the book's weight_init_scales do; biases are zero.
func BookDeepConvNet() (*graph.Model, error) {
	return bookDeep(bookChannels, [6]int{16, 16, 32, 32, 64, 64}, [6]int{3, 3, 3, 3, 3, 3}, 50, 10)
}

// bookDeep is DeepConvNet with the given sizes over 28×28 images.
func bookDeep(channels int, filters, kernels [6]int, hidden, classes int) (*graph.Model, error) {
	return bookDeepFor([]int{channels, bookSide, bookSide}, nil, filters, kernels, hidden, head{classes: classes})
}

// bookDeepFor is DeepConvNet over samples of shape in, reshaped to images
// by the layers pre, with the head h (a regression head drops the last
// dropout: its values are not scaled).
func bookDeepFor(in []int, pre []graph.Layer, filters, kernels [6]int, hidden int, h head) (*graph.Model, error) {
	layers := slices.Clone(pre)
	for i := range filters {
		layers = append(layers, &graph.Conv2D{Filters: filters[i], Kernel: kernels[i], Padding: bookDeepPads[i]}, graph.ReLU{})
		if i%2 == 1 {
			layers = append(layers, &graph.MaxPool2D{Kernel: 2, Stride: 2})
		}
	}
	layers = append(layers, graph.Flatten{}, &graph.Dense{Units: hidden}, graph.ReLU{}, &BookDropout{Rate: 0.5})
	out := h.layers("")
	if h.classes > 0 {
		out = []graph.Layer{out[0], &BookDropout{Rate: 0.5}, out[1]}
	}
	return graph.NewSequential(in, append(layers, out...)...)
}

// fromBookConv builds SimpleConvNet or DeepConvNet from the book's params.pkl
// or deep_convnet_params.pkl: arrays W1, b1, ... of which W1 is a
// convolution kernel (filters, channels, kh, kw). Three weight arrays make a
// SimpleConvNet, eight a DeepConvNet; their sizes (filters, kernels, hidden
// units, classes) are read from the shapes and checked against the book's
// layout for 28×28 inputs, whose strides and paddings the file does not
// record.
func fromBookConv(arrays map[string]numpyio.Array, n int) (*graph.Model, error) {
	var convs int
	switch n {
	case 3:
		convs = 1
	case 8:
		convs = 6
	default:
		return nil, fmt.Errorf("W1 has shape %v, a convolution kernel, but the arrays go up to W%d: the book's SimpleConvNet has 3 (W1 to W3), its DeepConvNet 8 (W1 to W8)", arrays["W1"].Shape, n)
	}
	ws, bs := make([]numpyio.Array, n), make([]numpyio.Array, n)
	for i := range n {
		wn, bn := "W"+strconv.Itoa(i+1), "b"+strconv.Itoa(i+1)
		w, okw := arrays[wn]
		b, okb := arrays[bn]
		switch {
		case !okw:
			return nil, fmt.Errorf("array %s is missing (have %v)", wn, sortedKeys(arrays))
		case !okb:
			return nil, fmt.Errorf("array %s is missing (have %v)", bn, sortedKeys(arrays))
		}
		ws[i], bs[i] = w, b
	}
	channels, side := ws[0].Shape[1], bookSide
	for i := range n {
		w, name := ws[i], "W"+strconv.Itoa(i+1)
		if i < convs {
			if len(w.Shape) != 4 || w.Shape[2] != w.Shape[3] {
				return nil, fmt.Errorf("array %s has shape %v, want a square convolution kernel (filters, channels, k, k)", name, w.Shape)
			}
			if w.Shape[1] != channels {
				return nil, fmt.Errorf("array %s has shape %v: %d input channels, but the layer before gives %d", name, w.Shape, w.Shape[1], channels)
			}
			pad := 0
			if convs == 6 {
				pad = bookDeepPads[i]
			}
			if side = side + 2*pad - w.Shape[2] + 1; side < 1 {
				return nil, fmt.Errorf("array %s has shape %v: a %dx%d kernel does not fit the input", name, w.Shape, w.Shape[2], w.Shape[3])
			}
			if convs == 1 || i%2 == 1 {
				side /= 2 // 2×2 max-pool, stride 2
			}
			if err := checkBias(bs[i], i, w.Shape[0]); err != nil {
				return nil, err
			}
			channels = w.Shape[0]
			continue
		}
		if len(w.Shape) != 2 {
			return nil, fmt.Errorf("array %s has shape %v, want a matrix (in, out)", name, w.Shape)
		}
		if err := checkBias(bs[i], i, w.Shape[1]); err != nil {
			return nil, err
		}
		if i == convs {
			if want := channels * side * side; w.Shape[0] != want {
				return nil, fmt.Errorf("array %s has shape %v, but the convolutions give %d×%d×%d = %d values per 28×28 image", name, w.Shape, channels, side, side, want)
			}
		} else if w.Shape[0] != channels {
			return nil, fmt.Errorf("array %s has shape %v, but the previous layer gives %d outputs", name, w.Shape, channels)
		}
		channels = w.Shape[1]
	}
	var m *graph.Model
	var err error
	if convs == 1 {
		m, err = bookSimple(ws[0].Shape[1], ws[0].Shape[0], ws[0].Shape[2], ws[1].Shape[1], ws[2].Shape[1])
	} else {
		var filters, kernels [6]int
		for i := range 6 {
			filters[i], kernels[i] = ws[i].Shape[0], ws[i].Shape[2]
		}
		m, err = bookDeep(ws[0].Shape[1], filters, kernels, ws[6].Shape[1], ws[7].Shape[1])
	}
	if err != nil {
		return nil, err
	}
	if err := setBookParams(m, arrays, n); err != nil {
		return nil, err
	}
	return m, nil
}

// checkBias checks that the bias of layer i (from 0) has one value per
// output.
func checkBias(b numpyio.Array, i, outputs int) error {
	if len(b.Shape) != 1 || b.Shape[0] != outputs {
		return fmt.Errorf("array b%d has shape %v, want (%d), one value per output of W%d", i+1, b.Shape, outputs, i+1)
	}
	return nil
}

// setBookParams copies W1, b1, ..., Wn, bn into the weight and bias of the
// model's layers with parameters, in order.
func setBookParams(m *graph.Model, arrays map[string]numpyio.Array, n int) error {
	i := 0
	for _, l := range m.Layers() {
		if _, ok := l.Layer.(graph.ParamLayer); !ok {
			continue
		}
		i++
		if i > n {
			return fmt.Errorf("the model has more layers with weights than the %d of the file", n)
		}
		for _, p := range []struct{ array, param string }{{"W", "weight"}, {"b", "bias"}} {
			a := arrays[p.array+strconv.Itoa(i)]
			if err := m.SetParam(l.Name+"."+p.param, a.Shape, a.Data); err != nil {
				return fmt.Errorf("array %s%d: %w", p.array, i, err)
			}
		}
	}
	if i != n {
		return fmt.Errorf("the model has %d layers with weights, the file %d", i, n)
	}
	return nil
}
