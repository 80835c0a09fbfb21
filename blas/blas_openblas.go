//go:build openblas

package blas

import (
	"gorgonia.org/gorgonia"

	"github.com/tapenet/tapenet/internal/openblas"
)

// Built with -tags openblas, this package installs OpenBLAS (cgo, through gonum's
// netlib bindings; Debian package libopenblas-dev) as Gorgonia's BLAS.
func init() {
	gorgonia.Use(openblas.BLAS{})
}

// Name names the BLAS that Gorgonia runs on.
func Name() string { return "OpenBLAS (cgo, -tags openblas)" }
