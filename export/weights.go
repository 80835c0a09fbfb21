package export

import (
	"bytes"
	"io"
	"slices"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"github.com/tapenet/tapenet/numpyio"
)

// WriteSafetensors writes m as a tapenet checkpoint (checkpoint.Write):
// a safetensors file with every parameter as little-endian float32, named
// "<layer>.<param>", and the model spec in its metadata. cmd/infer --model
// and checkpoint.Read read it back.
func WriteSafetensors(w io.Writer, m *graph.Model) error {
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, m); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteNPZ writes m's parameters as an uncompressed numpy .npz archive: one
// array per parameter, named as in the checkpoint ("fc1.weight",
// "fc1.bias", ...), in model order, each a version 1.0 .npy entry of dtype
// '<f4' in C order with the parameter's shape (a dense weight is (in, out)).
// numpy.load(path)["fc1.weight"] gives the array.
func WriteNPZ(w io.Writer, m *graph.Model) error {
	names := m.ParamNames()
	arrays := make(map[string]numpyio.Array, len(names))
	for _, name := range names {
		t := m.Param(name)
		arrays[name] = numpyio.Array{Shape: slices.Clone([]int(t.Shape())), Data: t.Data().([]float32)}
	}
	var buf bytes.Buffer
	if err := numpyio.WriteNPZ(&buf, names, arrays); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}
