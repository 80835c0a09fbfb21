//go:build !openblas

package graph

import (
	"gorgonia.org/gorgonia"

	"github.com/tapenet/tapenet/internal/sgemm"
)

// Importing graph installs tapenet's Sgemm (AVX2/FMA on amd64, spread over
// the cores; see internal/sgemm) as the BLAS of Gorgonia and its tensor
// package: every matrix product of every model, forward and backward, runs
// on it. All other BLAS routines stay gonum's. Built with -tags openblas,
// graph installs OpenBLAS instead (blas_openblas.go; cgo and Debian's
// libopenblas-dev).
func init() {
	gorgonia.Use(sgemm.BLAS{})
}

// BLASName names the BLAS that Gorgonia runs on.
const BLASName = "tapenet sgemm (pure Go + AVX2 assembly)"
