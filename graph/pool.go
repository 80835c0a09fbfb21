package graph

import (
	"fmt"

	"github.com/tapenet/tapenet/graph/ops"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MaxPool2D takes the largest value of each Kernel×Kernel window of every
// channel of a (batch, channels, height, width) input, the windows Stride
// pixels apart (default: Kernel, so they do not overlap) over the input
// padded with Padding on every side (padding never wins the max). The
// output is (batch, channels, oh, ow) with
// oh = (height + 2·Padding - Kernel)/Stride + 1 (rounded down), likewise ow,
// as in PyTorch's nn.MaxPool2d and ONNX's MaxPool. It has no parameters and
// passes gradients to the maximum of each window. Built on
// gorgonia.MaxPool2D.
type MaxPool2D struct {
	// Kernel is the side of the square window (default 2).
	Kernel int `json:"kernel,omitempty"`
	// Stride is the step between windows (default Kernel).
	Stride int `json:"stride,omitempty"`
	// Padding is added on each side (default 0); it must be less than Kernel.
	Padding int `json:"padding,omitempty"`
}

// Kind returns "maxpool2d".
func (*MaxPool2D) Kind() string { return "maxpool2d" }

func (p *MaxPool2D) kernel() int {
	if p.Kernel == 0 {
		return 2
	}
	return p.Kernel
}

func (p *MaxPool2D) stride() int {
	if p.Stride == 0 {
		return p.kernel()
	}
	return p.Stride
}

// Window returns the kernel side, stride and padding in effect (defaults
// applied).
func (p *MaxPool2D) Window() (kernel, stride, padding int) { return p.kernel(), p.stride(), p.Padding }

// OutputSize returns the output side for an input side.
func (p *MaxPool2D) OutputSize(in int) int {
	return (in+2*p.Padding-p.kernel())/p.stride() + 1
}

// Forward adds the max pooling of x.
func (p *MaxPool2D) Forward(_ *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	k, st, pad := p.kernel(), p.stride(), p.Padding
	if err := checkWindow("maxpool2d", k, st, pad, x); err != nil {
		return nil, err
	}
	y, err := ops.MaxPool2D(x, tensor.Shape{k, k}, []int{pad, pad}, []int{st, st})
	if err != nil {
		return nil, fmt.Errorf("maxpool2d: %w", err)
	}
	return y, nil
}

// GlobalAvgPool2D averages each channel of a (batch, channels, height,
// width) input over all its pixels, giving (batch, channels): the head of
// most residual networks (PyTorch's AdaptiveAvgPool2d(1) then flatten,
// ONNX's GlobalAveragePool then Flatten).
type GlobalAvgPool2D struct{}

// Kind returns "globalavgpool2d".
func (GlobalAvgPool2D) Kind() string { return "globalavgpool2d" }

// Forward adds the mean over height and width.
func (GlobalAvgPool2D) Forward(_ *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	if x.Dims() != 4 {
		return nil, fmt.Errorf("globalavgpool2d: input must be (batch, channels, height, width), got %v", x.Shape())
	}
	s := x.Shape()
	flat, err := gorgonia.Reshape(x, tensor.Shape{s[0] * s[1], s[2] * s[3]})
	if err != nil {
		return nil, err
	}
	m, err := gorgonia.Mean(flat, 1)
	if err != nil {
		return nil, fmt.Errorf("globalavgpool2d: %w", err)
	}
	return gorgonia.Reshape(m, tensor.Shape{s[0], s[1]})
}

// AvgPool2D averages each Kernel×Kernel window of every channel of a
// (batch, channels, height, width) input, the windows Stride pixels apart
// (default: Kernel) over the input padded with Padding zeros on every
// side; padding counts in the average (PyTorch's count_include_pad=True,
// ONNX's count_include_pad=1). Output sizes are as for MaxPool2D.
type AvgPool2D struct {
	// Kernel is the side of the square window (default 2).
	Kernel int `json:"kernel,omitempty"`
	// Stride is the step between windows (default Kernel).
	Stride int `json:"stride,omitempty"`
	// Padding is added on each side (default 0); it must be less than Kernel.
	Padding int `json:"padding,omitempty"`
}

// Kind returns "avgpool2d".
func (*AvgPool2D) Kind() string { return "avgpool2d" }

// Window returns the kernel side, stride and padding in effect (defaults
// applied).
func (p *AvgPool2D) Window() (kernel, stride, padding int) {
	mp := MaxPool2D(*p)
	return mp.Window()
}

// Forward adds the average pooling of x: each channel's windows as columns
// (im2col), averaged.
func (p *AvgPool2D) Forward(_ *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	k, st, pad := p.Window()
	if err := checkWindow("avgpool2d", k, st, pad, x); err != nil {
		return nil, err
	}
	s := x.Shape()
	planes, err := gorgonia.Reshape(x, tensor.Shape{s[0] * s[1], 1, s[2], s[3]})
	if err != nil {
		return nil, err
	}
	cols, err := gorgonia.Im2Col(planes, tensor.Shape{k, k}, tensor.Shape{pad, pad}, tensor.Shape{st, st}, tensor.Shape{1, 1})
	if err != nil {
		return nil, fmt.Errorf("avgpool2d: %w", err)
	}
	cs := cols.Shape() // (N·C, oh, ow, k·k)
	m, err := gorgonia.Mean(cols, 3)
	if err != nil {
		return nil, fmt.Errorf("avgpool2d: %w", err)
	}
	return gorgonia.Reshape(m, tensor.Shape{s[0], s[1], cs[1], cs[2]})
}

// checkWindow checks a pooling window (defaults applied) against a
// (batch, channels, height, width) input.
func checkWindow(kind string, k, st, pad int, x *gorgonia.Node) error {
	switch {
	case k < 1 || st < 1:
		return fmt.Errorf("%s: kernel and stride must be positive, got %d and %d", kind, k, st)
	case pad < 0 || pad >= k:
		return fmt.Errorf("%s: padding must be in [0, kernel), got %d", kind, pad)
	case x.Dims() != 4:
		return fmt.Errorf("%s: input must be (batch, channels, height, width), got %v", kind, x.Shape())
	}
	if h, w := x.Shape()[2], x.Shape()[3]; h+2*pad < k || w+2*pad < k {
		return fmt.Errorf("%s: window %d is larger than the padded input %dx%d", kind, k, h+2*pad, w+2*pad)
	}
	return nil
}
