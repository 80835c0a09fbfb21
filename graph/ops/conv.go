package ops

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Conv2D adds the 2-D cross-correlation of x (N, C, H, W) with w
// (F, C, kh, kw), plus b (F) when b is not nil, as gorgonia.Conv2d computes
// it (im2col, one matrix product) but with the bias added to the
// (N·oh·ow, F) product and the channel axis moved by ChannelsFirst instead
// of Gorgonia's generic transpose. kernel, pad, stride and dilation are
// (height, width) pairs; padding is symmetric. The result is (N, F, oh, ow).
func Conv2D(x, w, b *gorgonia.Node, kernel, pad, stride, dilation [2]int) (*gorgonia.Node, error) {
	filters := w.Shape()[0]
	cols, err := gorgonia.Im2Col(x, tensor.Shape{kernel[0], kernel[1]}, tensor.Shape{pad[0], pad[1]},
		tensor.Shape{stride[0], stride[1]}, tensor.Shape{dilation[0], dilation[1]})
	if err != nil {
		return nil, fmt.Errorf("im2col: %w", err)
	}
	cs := cols.Shape() // (N, oh, ow, C·kh·kw)
	patches, err := gorgonia.Reshape(cols, tensor.Shape{cs[0] * cs[1] * cs[2], cs[3]})
	if err != nil {
		return nil, err
	}
	wflat, err := gorgonia.Reshape(w, tensor.Shape{filters, cs[3]})
	if err != nil {
		return nil, err
	}
	wt, err := gorgonia.Transpose(wflat)
	if err != nil {
		return nil, err
	}
	y, err := gorgonia.Mul(patches, wt)
	if err != nil {
		return nil, err
	}
	if b != nil {
		if y, err = gorgonia.BroadcastAdd(y, b, nil, []byte{0}); err != nil {
			return nil, err
		}
	}
	if y, err = gorgonia.Reshape(y, tensor.Shape{cs[0], cs[1], cs[2], filters}); err != nil {
		return nil, err
	}
	return ChannelsFirst(y)
}
