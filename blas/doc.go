// Package blas chooses the BLAS that Gorgonia runs every matrix product on,
// forward and backward. Importing it installs tapenet's Sgemm (pure Go with
// AVX-512 or AVX2/FMA assembly on amd64, chosen at run time, split over the
// cores; see internal/sgemm) with gorgonia.Use; built with -tags openblas it installs
// OpenBLAS instead (cgo and Debian's libopenblas-dev). All other BLAS
// routines stay gonum's.
//
// A program makes the choice once, in its main package:
//
//	import _ "github.com/tapenet/tapenet/blas"
//
// The commands under cmd/ do. Without it Gorgonia uses gonum's pure-Go
// BLAS: models run and train the same way, several times slower, and with
// last-bit differences in the results (sums are taken in another order),
// so a checkpoint reproduced "bit for bit" needs the same BLAS.
//
// Gorgonia's BLAS is process-wide: import this package from main (or a
// test), not from a library.
package blas
