package graph

import (
	"gorgonia.org/gorgonia"

	"github.com/tapenet/tapenet/internal/sgemm"
)

// Importing graph installs tapenet's Sgemm (AVX2/FMA on amd64, spread over
// the cores; see internal/sgemm) as the BLAS of Gorgonia and its tensor
// package: every matrix product of every model, forward and backward, runs
// on it. All other BLAS routines stay gonum's. A program that prefers
// another BLAS (OpenBLAS through gonum.org/v1/netlib, say) calls
// gorgonia.Use itself after this package is initialised; the build tag
// "openblas" does that (see blas_openblas.go).
func init() {
	gorgonia.Use(sgemm.BLAS{})
}
