//go:build openblas

// Package openblas links OpenBLAS (Debian: libopenblas-dev) for gonum's
// netlib cgo bindings. It is built only with -tags openblas; package graph
// then installs it as Gorgonia's BLAS. (graph itself cannot use cgo: it has
// Go assembly.)
package openblas

// #cgo LDFLAGS: -lopenblas
import "C"

import "gonum.org/v1/netlib/blas/netlib"

// BLAS is OpenBLAS behind gonum's BLAS interfaces.
type BLAS = netlib.Implementation
