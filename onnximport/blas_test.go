package onnximport_test

// The tests run with tapenet's Sgemm as Gorgonia's BLAS, as the commands do.
import _ "github.com/tapenet/tapenet/blas"
