// Package checkpoint saves a graph.Model (its spec and every parameter) as
// one safetensors file and reads it back, rebuilding the model without the
// code that declared it. Write's doc comment gives the byte layout; any
// safetensors reader opens the file. Read checks the header against the
// bytes present before it allocates, and refuses anything malformed with
// an error wrapping ErrMalformed.
//
//	err := checkpoint.Write(w, m)
//	m, err := checkpoint.Read(r, nil) // nil: graph.Builtin() layer kinds
package checkpoint
