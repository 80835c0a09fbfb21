package graph

import (
	"fmt"

	"github.com/tapenet/tapenet/graph/ops"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Conv2D is a 2-D convolution (cross-correlation, as in PyTorch, ONNX and
// the book) over inputs of shape (batch, channels, height, width): Filters
// square kernels of Kernel×Kernel pixels, moved Stride pixels at a time over
// the input padded with Padding zeros on every side. Each output pixel is
// Σ w·x over the window and all input channels, plus the filter's bias.
//
// Parameters: "weight" of shape (Filters, channels, Kernel, Kernel), the
// layout of PyTorch's nn.Conv2d and ONNX's Conv, and "bias" (Filters). The
// output has shape (batch, Filters, oh, ow) with
// oh = (height + 2·Padding - Kernel)/Stride + 1 (rounded down), likewise ow.
//
// It is built like gorgonia.Conv2d: im2col and one matrix product.
type Conv2D struct {
	// Filters is the number of output channels.
	Filters int `json:"filters"`
	// Kernel is the side of the square kernel, e.g. 5.
	Kernel int `json:"kernel"`
	// Stride is the step between windows (default 1).
	Stride int `json:"stride,omitempty"`
	// Padding is the number of zeros added on each side (default 0).
	Padding int `json:"padding,omitempty"`
	// Init names the weight initialiser: "he" (default), "xavier",
	// "normal:STD" or "zeros" (as for Dense); fan-in is channels·Kernel².
	Init string `json:"init,omitempty"`
}

// Kind returns "conv2d".
func (c *Conv2D) Kind() string { return "conv2d" }

func (c *Conv2D) stride() int { return max(c.Stride, 1) }

// Window returns the kernel side, stride and padding in effect (defaults
// applied).
func (c *Conv2D) Window() (kernel, stride, padding int) { return c.Kernel, c.stride(), c.Padding }

// OutputSize returns the output side for an input side (height or width).
func (c *Conv2D) OutputSize(in int) int {
	return (in+2*c.Padding-c.Kernel)/c.stride() + 1
}

func (c *Conv2D) check(in []int) error {
	switch {
	case c.Filters < 1:
		return fmt.Errorf("conv2d: filters must be positive, got %d", c.Filters)
	case c.Kernel < 1:
		return fmt.Errorf("conv2d: kernel must be positive, got %d", c.Kernel)
	case c.Stride < 0:
		return fmt.Errorf("conv2d: stride must be positive, got %d", c.Stride)
	case c.Padding < 0:
		return fmt.Errorf("conv2d: padding must not be negative, got %d", c.Padding)
	case len(in) != 3:
		return fmt.Errorf("conv2d: input must be (channels, height, width) per sample, got %v (load images with Flatten: false)", in)
	case in[1]+2*c.Padding < c.Kernel || in[2]+2*c.Padding < c.Kernel:
		return fmt.Errorf("conv2d: kernel %d is larger than the padded input %dx%d", c.Kernel, in[1]+2*c.Padding, in[2]+2*c.Padding)
	}
	return nil
}

// Params declares weight (Filters, channels, Kernel, Kernel) and bias
// (Filters).
func (c *Conv2D) Params(in []int) ([]ParamSpec, error) {
	if err := c.check(in); err != nil {
		return nil, err
	}
	init, err := initializer(c.Init)
	if err != nil {
		return nil, fmt.Errorf("conv2d: %w", err)
	}
	return []ParamSpec{
		{Name: "weight", Shape: []int{c.Filters, in[0], c.Kernel, c.Kernel}, Init: init},
		{Name: "bias", Shape: []int{c.Filters}},
	}, nil
}

// Forward adds the convolution of x with the filters, plus the bias
// broadcast over batch, height and width.
func (c *Conv2D) Forward(s *Scope, x *gorgonia.Node) (*gorgonia.Node, error) {
	w, b, err := c.params(s, x)
	if err != nil {
		return nil, err
	}
	p, st := c.Padding, c.stride()
	y, err := ops.Conv2D(x, w, b, [2]int{c.Kernel, c.Kernel}, [2]int{p, p}, [2]int{st, st}, [2]int{1, 1})
	if err != nil {
		return nil, fmt.Errorf("conv2d: %w", err)
	}
	return y, nil
}

// params checks x (batch, channels, height, width) and returns the weight
// and bias nodes.
func (c *Conv2D) params(s *Scope, x *gorgonia.Node) (w, b *gorgonia.Node, err error) {
	if x.Dims() != 4 {
		return nil, nil, fmt.Errorf("conv2d: input must be (batch, channels, height, width), got %v", x.Shape())
	}
	if err := c.check([]int(x.Shape()[1:])); err != nil {
		return nil, nil, err
	}
	if w, err = s.Param("weight"); err != nil {
		return nil, nil, err
	}
	if b, err = s.Param("bias"); err != nil {
		return nil, nil, err
	}
	return w, b, nil
}

// block adds the convolution of x, a ReLU and pool as one inference op
// (ops.ConvReLUPool), for BuildOptions.Fuse.
func (c *Conv2D) block(s *Scope, x *gorgonia.Node, pool *MaxPool2D) (*gorgonia.Node, error) {
	w, b, err := c.params(s, x)
	if err != nil {
		return nil, err
	}
	k, st, pad := pool.Window()
	if k < 1 || st < 1 || pad < 0 || pad >= k {
		return nil, fmt.Errorf("maxpool2d: window %d, stride %d, padding %d", k, st, pad)
	}
	p, cs := c.Padding, c.stride()
	return ops.ConvReLUPool(x, w, b, [2]int{c.Kernel, c.Kernel}, [2]int{p, p}, [2]int{cs, cs}, [2]int{1, 1},
		tensor.Shape{k, k}, []int{pad, pad}, []int{st, st})
}
