//go:build !amd64

package ops

// reluSlice sets dst[i] = 0 where src[i] < 0, else src[i] (NaN and -0 pass).
func reluSlice(dst, src []float32) { reluGo(dst[:len(src)], src) }

// pool2x2Row writes len(dst) outputs of a 2×2, stride-2 pooling from the
// rows r0 and r1.
func pool2x2Row(dst, r0, r1 []float32) { pool2x2Go(dst, r0, r1) }

// reluGradSlice sets dst[i] = g[i] where x[i] >= 0, else g[i]·0.
func reluGradSlice(dst, x, g []float32) { reluGradGo(dst[:len(x)], x, g[:len(x)]) }

// unpool2x2Row writes the gradient of len(dy) outputs of a 2×2, stride-2
// pooling of rows r0 and r1 into the zeroed rows dx0 and dx1.
func unpool2x2Row(dx0, dx1, r0, r1, dy []float32) { unpool2x2Go(dx0, dx1, r0, r1, dy) }
