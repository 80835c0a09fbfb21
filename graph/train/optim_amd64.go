package train

import "golang.org/x/sys/cpu"

var optimAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func adam8(wp, gp, mp, vp *float32, nn int, pp *[8]float32)

//go:noescape
func momentum8(wp, gp, bufp *float32, nn int, mom, lr float32, nesterov bool)

// adamVec runs the Adam update on the longest prefix of whole 8-lane
// vectors and returns its length; the caller finishes the rest.
func adamVec(w, g, m, v []float32, p *[8]float32) int {
	n := len(w) &^ 7
	if !optimAVX2 || n == 0 {
		return 0
	}
	_, _, _ = g[n-1], m[n-1], v[n-1]
	adam8(&w[0], &g[0], &m[0], &v[0], n, p)
	return n
}

// momentumVec is adamVec for SGD with momentum (PyTorch's form, Nesterov
// or not).
func momentumVec(w, g, buf []float32, mom, lr float32, nesterov bool) int {
	n := len(w) &^ 7
	if !optimAVX2 || n == 0 {
		return 0
	}
	_, _ = g[n-1], buf[n-1]
	momentum8(&w[0], &g[0], &buf[0], n, mom, lr, nesterov)
	return n
}
