//go:build !openblas

package blas

import (
	"gorgonia.org/gorgonia"

	"github.com/tapenet/tapenet/internal/sgemm"
)

// init installs tapenet's Sgemm as Gorgonia's BLAS (see the package doc).
func init() {
	gorgonia.Use(sgemm.BLAS{})
}

// Name names the BLAS that Gorgonia runs on and, for tapenet's, the
// micro-kernel this CPU runs.
func Name() string { return "tapenet sgemm (pure Go, " + sgemm.Kernels() + ")" }
