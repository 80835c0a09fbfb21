//go:build openblas

package graph

import (
	"gorgonia.org/gorgonia"

	"github.com/tapenet/tapenet/internal/openblas"
)

// Built with -tags openblas, graph installs OpenBLAS (cgo, through gonum's
// netlib bindings; Debian package libopenblas-dev) as Gorgonia's BLAS.
func init() {
	gorgonia.Use(openblas.BLAS{})
}

// BLASName names the BLAS that Gorgonia runs on.
const BLASName = "OpenBLAS (cgo, -tags openblas)"
