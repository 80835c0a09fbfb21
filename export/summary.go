package export

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tapenet/tapenet/graph"
)

// LayerInfo describes one layer of a model for a summary.
type LayerInfo struct {
	// Name is the layer's name in the model, e.g. "fc1".
	Name string
	// Kind is the layer's kind, e.g. "dense".
	Kind string
	// OutputShape is the per-sample output shape (batch excluded).
	OutputShape []int
	// Params lists the layer's parameters by full name ("fc1.weight").
	Params []string
	// Count is the number of parameter values of the layer, buffers
	// included; Trainable counts those learned by gradient descent.
	Count, Trainable int
}

// Layers describes every node of m, in order: the layer it applies and
// its output shape; a layer applied at several nodes counts its
// parameters at the first.
func Layers(m *graph.Model) ([]LayerInfo, error) {
	var out []LayerInfo
	seen := map[string]bool{}
	for _, n := range m.Nodes() {
		li := LayerInfo{Name: n.Name, Kind: m.Layer(n.Layer).Kind(), OutputShape: n.Shape}
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

// WriteSummary writes a Keras-style table of m: one row per layer with its
// name and kind, output shape (batch as None) and parameter count, then
// the total, trainable and non-trainable (buffer) parameter counts with
// their size as float32.
func WriteSummary(w io.Writer, m *graph.Model) error {
	layers, err := Layers(m)
	if err != nil {
		return err
	}
	rows := [][3]string{{"Layer (type)", "Output Shape", "Param #"}, {"input (input)", ShapeString(m.Input()), "0"}}
	total, trainable := 0, 0
	for _, l := range layers {
		rows = append(rows, [3]string{l.Name + " (" + l.Kind + ")", ShapeString(l.OutputShape), thousands(l.Count)})
		total += l.Count
		trainable += l.Trainable
	}
	w0, w1, w2 := 0, 0, 0
	for _, r := range rows {
		w0, w1, w2 = max(w0, len(r[0])), max(w1, len(r[1])), max(w2, len(r[2]))
	}
	w0, w1, w2 = max(w0+2, 28), max(w1+2, 26), max(w2, 11)
	width := w0 + w1 + w2
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Model: %q\n", "sequential")
	line := func(c string) { fmt.Fprintln(bw, strings.Repeat(c, width)) }
	row := func(r [3]string) { fmt.Fprintf(bw, "%-*s%-*s%*s\n", w0, r[0], w1, r[1], w2, r[2]) }
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
