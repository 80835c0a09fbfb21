//go:build !amd64

package train

func adamVec(w, g, m, v []float32, p *[8]float32) int { return 0 }

func momentumVec(w, g, buf []float32, mom, lr float32, nesterov bool) int { return 0 }
