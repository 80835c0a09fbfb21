package export

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/tapenet/tapenet/graph"
)

// Format is one export format.
type Format struct {
	// Name is the format's name on the command line, e.g. "onnx".
	Name string
	// Ext is the usual file extension, with its dot, e.g. ".onnx".
	Ext string
	// Binary reports whether the output is binary (and so is not written
	// to a terminal).
	Binary bool
	// Description says in a few words what the format holds.
	Description string
	// Write writes model m in this format to w.
	Write func(w io.Writer, m *graph.Model) error
}

// Formats returns every format, in the order cmd/export lists them.
func Formats() []Format {
	return []Format{
		{"summary", ".txt", false, "table of layers, output shapes and parameter counts", WriteSummary},
		{"json", ".json", false, "model spec and every Gorgonia graph node (op, shape, dtype, layer, inputs)", WriteJSON},
		{"dot", ".dot", false, "Graphviz source of the graph, one cluster per model node", WriteDOT},
		{"safetensors", ".safetensors", true, "tapenet checkpoint: weights and spec (cmd/infer --model reads it)", WriteSafetensors},
		{"npz", ".npz", true, "numpy archive, one float32 array per parameter (numpy.load)", WriteNPZ},
		{"onnx", ".onnx", true, "ONNX model, opset 13, dynamic batch dimension N", WriteONNX},
		{"svg", ".svg", false, "the dot graph rendered by Graphviz (needs the dot program)", svgWriter},
		{"png", ".png", true, "the dot graph rendered by Graphviz (needs the dot program)", pngWriter},
	}
}

func svgWriter(w io.Writer, m *graph.Model) error { return WriteImage(w, m, "svg") }
func pngWriter(w io.Writer, m *graph.Model) error { return WriteImage(w, m, "png") }

// Names returns the names of all formats, in order.
func Names() []string {
	var names []string
	for _, f := range Formats() {
		names = append(names, f.Name)
	}
	return names
}

// Lookup returns the format of the given name (case-insensitive).
func Lookup(name string) (Format, error) {
	for _, f := range Formats() {
		if strings.EqualFold(f.Name, name) {
			return f, nil
		}
	}
	return Format{}, fmt.Errorf("unknown format %q (want %s)", name, strings.Join(Names(), ", "))
}

// ByExtension returns the format whose extension path has (".txt" is not
// matched: it could be anything). ok is false when none has it.
func ByExtension(path string) (f Format, ok bool) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext == "" || ext == ".txt" {
		return Format{}, false
	}
	for _, f := range Formats() {
		if f.Ext == ext {
			return f, true
		}
	}
	return Format{}, false
}
