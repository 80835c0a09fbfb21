package export

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tapenet/tapenet/graph"
)

// LayerInfo describes one node of a model (a layer applied to its inputs)
// for a summary.
type LayerInfo struct {
	// Name is the node's name: the layer's name in the model, e.g. "fc1",
	// or "<layer>:<k>" at the layer's k-th reuse (graph.Node.Name).
	Name string
	// Layer is the name of the layer applied, e.g. "fc1".
	Layer string
	// Kind is the layer's kind, e.g. "dense".
	Kind string
	// Inputs names what the layer is applied to: model inputs or earlier
	// nodes.
	Inputs []string
	// OutputShape is the per-sample output shape (batch excluded); for an
	// output of a fixed shape (Batch > 0), the shape after its first axis.
	OutputShape []int
	// Batch is 0 for an output whose first axis is the symbolic batch,
	// else the size of its fixed first axis (graph.Node.Batch).
	Batch int
	// DType is the output's element type.
	DType graph.DType
	// Shared reports a reuse of a layer applied at an earlier node: its
	// parameters are listed and counted there, not here.
	Shared bool
	// Params lists the layer's parameters by full name ("fc1.weight").
	Params []string
	// Count is the number of parameter values of the layer, buffers
	// included; Trainable counts those learned by gradient descent.
	Count, Trainable int
}

// Layers describes every node of m, in order: the layer it applies, its
// inputs and its output shape; a layer applied at several nodes lists and
// counts its parameters at the first.
func Layers(m *graph.Model) ([]LayerInfo, error) {
	var out []LayerInfo
	seen := map[string]bool{}
	for _, n := range m.Nodes() {
		l := m.Layer(n.Layer)
		if l == nil {
			return nil, fmt.Errorf("node %s: model has no layer %q", n.Name, n.Layer)
		}
		li := LayerInfo{Name: n.Name, Layer: n.Layer, Kind: l.Kind(), Inputs: n.Inputs, OutputShape: n.Shape, Batch: n.Batch, DType: n.DType, Shared: seen[n.Layer]}
		if !seen[n.Layer] {
			seen[n.Layer] = true
			for _, p := range m.LayerParams(n.Layer) {
				t := m.Param(p)
				if t == nil {
					return nil, fmt.Errorf("layer %s: model has no parameter %s", n.Layer, p)
				}
				li.Params = append(li.Params, p)
				li.Count += t.Shape().TotalSize()
				if !m.IsBuffer(p) {
					li.Trainable += t.Shape().TotalSize()
				}
			}
		}
		out = append(out, li)
	}
	return out, nil
}

// ShapeString formats a per-sample shape with the batch dimension as None,
// as Keras does: [50] gives "(None, 50)".
func ShapeString(shape []int) string {
	parts := []string{"None"}
	for _, d := range shape {
		parts = append(parts, strconv.Itoa(d))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// TensorString formats a tensor's shape as ShapeString does, with the batch
// as None when batch is 0 and as its fixed size otherwise, followed by the
// element type unless it is float32: [5] of a symbolic batch in int64
// gives "(None, 5) int64", [3] of a fixed batch 4 "(4, 3)".
func TensorString(shape []int, batch int, dtype graph.DType) string {
	s := ShapeString(shape)
	if batch > 0 {
		s = "(" + strconv.Itoa(batch) + strings.TrimPrefix(s, "(None")
	}
	if d := dtype.Or(); d != graph.Float32 {
		s += " " + string(d)
	}
	return s
}

// WriteSummary writes a Keras-style table of m: one row per layer with its
// name and kind, output shape (batch as None) and parameter count, then
// the total, trainable and non-trainable (buffer) parameter counts with
// their size as float32. Shapes are written by TensorString: a fixed batch
// as its number, an element type other than float32 after the shape.
//
// A model that is not a plain stack (graph.Model.IsSequential false:
// several inputs or outputs, branches, shared layers) gets Keras'
// functional summary instead: a row per model input ("InputLayer"), then
// a row per node with a "Connected to" column naming its inputs (model
// inputs or nodes, comma-separated). A shared layer's parameters are
// counted at its first node; its later nodes show "(shared)".
func WriteSummary(w io.Writer, m *graph.Model) error {
	layers, err := Layers(m)
	if err != nil {
		return err
	}
	functional := !m.IsSequential()
	rows := [][4]string{{"Layer (type)", "Output Shape", "Param #", "Connected to"}}
	if functional {
		for _, in := range m.Inputs() {
			rows = append(rows, [4]string{in.Name + " (InputLayer)", TensorString(in.Shape, in.Batch, in.DType), "0", ""})
		}
	} else {
		in := m.Inputs()[0]
		rows = append(rows, [4]string{"input (input)", TensorString(in.Shape, in.Batch, in.DType), "0", ""})
	}
	total, trainable := 0, 0
	for _, l := range layers {
		count := thousands(l.Count)
		if l.Shared {
			count = "(shared)"
		}
		rows = append(rows, [4]string{l.Name + " (" + l.Kind + ")", TensorString(l.OutputShape, l.Batch, l.DType), count, strings.Join(l.Inputs, ", ")})
		total += l.Count
		trainable += l.Trainable
	}
	w0, w1, w2, w3 := 0, 0, 0, 0
	for _, r := range rows {
		w0, w1, w2, w3 = max(w0, len(r[0])), max(w1, len(r[1])), max(w2, len(r[2])), max(w3, len(r[3]))
	}
	w0, w1, w2 = max(w0+2, 28), max(w1+2, 26), max(w2, 11)
	width := w0 + w1 + w2
	name := "sequential"
	if functional {
		width += 2 + w3
		name = "functional"
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Model: %q\n", name)
	line := func(c string) { fmt.Fprintln(bw, strings.Repeat(c, width)) }
	row := func(r [4]string) {
		if !functional {
			fmt.Fprintf(bw, "%-*s%-*s%*s\n", w0, r[0], w1, r[1], w2, r[2])
			return
		}
		fmt.Fprintln(bw, strings.TrimRight(fmt.Sprintf("%-*s%-*s%*s  %s", w0, r[0], w1, r[1], w2, r[2], r[3]), " "))
	}
	line("_")
	row(rows[0])
	line("=")
	for i, r := range rows[1:] {
		if i > 0 {
			line("_")
		}
		row(r)
	}
	line("=")
	fmt.Fprintf(bw, "Total params: %s (%s)\n", thousands(total), byteSize(4*total))
	fmt.Fprintf(bw, "Trainable params: %s (%s)\n", thousands(trainable), byteSize(4*trainable))
	fmt.Fprintf(bw, "Non-trainable params: %s (%s)\n", thousands(total-trainable), byteSize(4*(total-trainable)))
	line("_")
	return bw.Flush()
}

// thousands formats n with commas: 45360 gives "45,360".
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// byteSize formats a size as Keras does: "177.19 KB".
func byteSize(n int) string {
	v := float64(n)
	for _, unit := range []string{"B", "KB", "MB", "GB"} {
		if v < 1024 || unit == "GB" {
			return fmt.Sprintf("%.2f %s", v, unit)
		}
		v /= 1024
	}
	return ""
}
