// Package ops holds tapenet's fused Gorgonia ops: float32 operations that
// Gorgonia would otherwise compose from several generic ops, each with a
// symbolic gradient built of nodes so that gorgonia.Grad and the tape
// machine differentiate through it.
//
//	y, err := ops.Dense(x, w, b) // x·W + b: one Sgemm into the bias rows
//	y, err = ops.ReLU(y)         // max(0, y), no mask tensor per run
//
// Layers (package graph) are built on them; a layer of your own may use
// them too.
//
// # Aliasing
//
// Dense, Sigmoid and ReLU (and Dense's gradient products) reuse their
// output tensor from one run of a graph to the next: a value read from such
// a node is valid until the graph runs again. Copy it to keep it (graph's
// Predictor does). The other ops allocate per run, but callers should not
// rely on the difference.
//
// # Speed
//
// The matrix products run on whatever BLAS Gorgonia uses (gorgonia.Use):
// import package blas to install tapenet's. Sigmoid runs eight lanes at a
// time with AVX2 and FMA on amd64 (chosen at run time), portable Go
// elsewhere.
package ops
