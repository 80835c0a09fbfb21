// Package checkpoint saves a graph.Model (its spec and every parameter) as
// one safetensors file and reads it back, rebuilding the model without the
// code that declared it. Write's doc comment gives the byte layout; any
// safetensors reader opens the file. Read checks the header against the
// bytes present before it allocates, and refuses anything malformed with
// an error wrapping ErrMalformed.
//
//	err := checkpoint.Write(w, m)
//	m, err := checkpoint.Read(r, nil) // nil: graph.DefaultRegistry()
//
// A nil registry is graph.DefaultRegistry(): graph's layer kinds and those
// of every package linked into the program that registers its kinds there
// (models and onnximport do, from init), so a program that imports them
// reads their checkpoints without naming a registry.
//
// A checkpoint may also carry state beside the model, such as what a
// trainer needs to resume a run (graph/train's WriteCheckpoint):
// WriteWithState stores it as extra tensors and metadata under the
// reserved prefix "__state__.", so the file stays a plain safetensors file
// of the model's weights; Read skips the state and ReadWithState returns
// it.
package checkpoint
