package ops

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"gorgonia.org/tensor"
)

// deepLayers are the convolutions of the book's DeepConvNet (models.
// BookDeepConvNet) and then the embedded convnet's, at batch 100: input
// channels, height and width, filters, padding, kernel size.
var deepLayers = []struct{ c, h, f, pad, k int }{
	{1, 28, 16, 1, 3}, {16, 28, 16, 1, 3}, {16, 14, 32, 1, 3}, {32, 14, 32, 2, 3}, {32, 8, 64, 1, 3}, {64, 8, 64, 1, 3},
	{1, 28, 30, 0, 5}, // the embedded convnet's, last
}

// BenchmarkDeepConv times the forward pass, the filter gradient and the
// input gradient of each DeepConvNet convolution over a batch of 100.
func BenchmarkDeepConv(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for i, l := range deepLayers {
		xShape, wShape := tensor.Shape{100, l.c, l.h, l.h}, tensor.Shape{l.f, l.c, l.k, l.k}
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
		patch := &conv2dOp{pad: [2]int{l.pad, l.pad}, stride: [2]int{1, 1}, dilation: [2]int{1, 1}, bias: true}
		patch.plan(g).shifted = false // the patch-matrix path, for comparison
		patch.cached.size = g.kernel * g.cell
		dw := &conv2dFilterGradOp{gradOp: newGradOp("dw", "dw", 2, wShape), g: g}
		dx := &conv2dInputGradOp{gradOp: newGradOp("dx", "dx", 2, xShape), g: g}
		dxCol2im := &conv2dInputGradOp{gradOp: newGradOp("dx", "dx", 2, xShape), g: g, col2im: true} // for comparison
		for _, c := range []struct {
			name string
			do   func() error
		}{
			{"fwd", func() error { _, err := fwd.Do(x, w, bias); return err }},
			{"fwdpatch", func() error { _, err := patch.Do(x, w, bias); return err }},
			{"dw", func() error { _, err := dw.Do(x, dy); return err }},
			{"dx", func() error { _, err := dx.Do(w, dy); return err }},
			{"dxcol2im", func() error { _, err := dxCol2im.Do(w, dy); return err }},
		} {
			b.Run(fmt.Sprintf("conv%d/%s", i+1, c.name), func(b *testing.B) {
				cpu0 := cpuTime()
				for b.Loop() {
					if err := c.do(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				// CPU time, all threads: steadier than wall time on a
				// shared machine (it leaves out time waiting for a core).
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			})
		}
	}
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
