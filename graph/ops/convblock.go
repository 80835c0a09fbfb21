package ops

import (
	"fmt"
	"slices"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convBlockOp is Conv2D, then ReLU, then MaxPool2D as one inference op:
// per image, the convolution into a scratch buffer that stays in cache, the
// ReLU over it in place, then the pooling into the output. The values are
// those of the three ops run one after the other, bit for bit (the same
// functions on the same numbers), without two passes over a batch-sized
// intermediate in memory. It has no gradient: training graphs keep the
// three ops.
type convBlockOp struct {
	base
	conv conv2dOp
	pool maxPoolOp
	out  outputCache
}

// ConvReLUPool adds MaxPool2D(ReLU(Conv2D(x, w, b))) for inference as one
// op, with the arguments of Conv2D and MaxPool2D.
func ConvReLUPool(x, w, b *gorgonia.Node, kernel, pad, stride, dilation [2]int, poolKernel tensor.Shape, poolPad, poolStride []int) (*gorgonia.Node, error) {
	if x.Dtype() != tensor.Float32 || x.Dims() != 4 || w.Dims() != 4 {
		return nil, fmt.Errorf("conv block: want float32 (N,C,H,W) input and filters, got %v, %v", x.Shape(), w.Shape())
	}
	if ws := w.Shape(); ws[2] != kernel[0] || ws[3] != kernel[1] {
		return nil, fmt.Errorf("conv2d: filters %v are not %dx%d", ws, kernel[0], kernel[1])
	}
	g, err := newConvGeom(x.Shape(), w.Shape(), pad, stride, dilation)
	if err != nil {
		return nil, err
	}
	if _, err := newPoolGeom(g.outShape(), poolKernel, poolPad, poolStride); err != nil {
		return nil, err
	}
	op := &convBlockOp{
		conv: conv2dOp{pad: pad, stride: stride, dilation: dilation, bias: b != nil},
		pool: maxPoolOp{kernel: poolKernel.Clone(), pad: slices.Clone(poolPad), stride: slices.Clone(poolStride)},
	}
	op.label = fmt.Sprintf("conv2d pad%v stride%v dilation%v+relu+maxpool %v pad%v stride%v", pad, stride, dilation, poolKernel, poolPad, poolStride)
	op.id = "tapenet." + op.label
	if b == nil {
		return gorgonia.ApplyOp(op, x, w)
	}
	return gorgonia.ApplyOp(op, x, w, b)
}

func (op *convBlockOp) Arity() int { return op.conv.Arity() }

func (op *convBlockOp) Type() hm.Type { return op.conv.Type() }

func (op *convBlockOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, err := op.conv.InferShape(in...)
	if err != nil {
		return nil, err
	}
	return op.pool.InferShape(s)
}

func (op *convBlockOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	g, xs, ws, bs, err := op.conv.operands(op, in)
	if err != nil {
		return nil, err
	}
	pg, err := newPoolGeom(g.outShape(), op.pool.kernel, op.pool.pad, op.pool.stride)
	if err != nil {
		return nil, err
	}
	out := op.out.get(tensor.Shape{g.n, g.f, pg.oh, pg.ow})
	ys := out.Float32s()
	per := g.f * pg.oh * pg.ow
	p := op.conv.plan(g)
	forImages(g.n, 2*g.n*g.f*g.kernel*g.cell, &op.conv.tmp, 2, func(from, to, worker int) {
		tmp := op.conv.tmp.get(2*worker, p.size)
		z := op.conv.tmp.get(2*worker+1, g.f*g.cell)
		for i := from; i < to; i++ {
			op.conv.image(p, z, tmp, xs[i*g.c*g.h*g.w:(i+1)*g.c*g.h*g.w], ws, bs)
			reluSlice(z, z)
			pg.planes(ys[i*per:(i+1)*per], z)
		}
	})
	return out, nil
}

// DiffWRT: the block has no gradient (inference only).
func (op *convBlockOp) DiffWRT(n int) []bool { return make([]bool, n) }

// SymDiff is not defined: training graphs build the three ops instead.
func (op *convBlockOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, fmt.Errorf("%v: inference only, no gradient", op)
}
