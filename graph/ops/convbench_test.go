package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// deepLayers are the convolutions of the book's DeepConvNet (models.
// BookDeepConvNet) at batch 100: input (C, H, W), filters, padding.
var deepLayers = []struct{ c, h, f, pad int }{
	{1, 28, 16, 1}, {16, 28, 16, 1}, {16, 14, 32, 1}, {32, 14, 32, 2}, {32, 8, 64, 1}, {64, 8, 64, 1},
}

// BenchmarkDeepConv times the forward pass, the filter gradient and the
// input gradient of each DeepConvNet convolution over a batch of 100.
func BenchmarkDeepConv(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for i, l := range deepLayers {
		xShape, wShape := tensor.Shape{100, l.c, l.h, l.h}, tensor.Shape{l.f, l.c, 3, 3}
		g, err := newConvGeom(xShape, wShape, [2]int{l.pad, l.pad}, [2]int{1, 1}, [2]int{1, 1})
		if err != nil {
			b.Fatal(err)
		}
		x := tensor.New(tensor.WithShape(xShape...), tensor.WithBacking(randValues(rng, xShape.TotalSize(), false)))
		w := tensor.New(tensor.WithShape(wShape...), tensor.WithBacking(randValues(rng, wShape.TotalSize(), false)))
		bias := tensor.New(tensor.WithShape(l.f), tensor.WithBacking(randValues(rng, l.f, false)))
		dy := tensor.New(tensor.WithShape(g.outShape()...), tensor.WithBacking(randValues(rng, g.outShape().TotalSize(), false)))
		flops := float64(2 * g.n * g.f * g.kernel * g.cell)
		fwd := &conv2dOp{pad: [2]int{l.pad, l.pad}, stride: [2]int{1, 1}, dilation: [2]int{1, 1}, bias: true}
		dw := &conv2dFilterGradOp{gradOp: newGradOp("dw", "dw", 2, wShape), g: g}
		dx := &conv2dInputGradOp{gradOp: newGradOp("dx", "dx", 2, xShape), g: g}
		for _, c := range []struct {
			name string
			do   func() error
		}{
			{"fwd", func() error { _, err := fwd.Do(x, w, bias); return err }},
			{"dw", func() error { _, err := dw.Do(x, dy); return err }},
			{"dx", func() error { _, err := dx.Do(w, dy); return err }},
		} {
			b.Run(fmt.Sprintf("conv%d/%s", i+1, c.name), func(b *testing.B) {
				for b.Loop() {
					if err := c.do(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
