// Command export writes a tapenet model in forms other tools open: a
// summary table, the Gorgonia graph as JSON or Graphviz DOT, the weights as
// safetensors or numpy .npz, and an ONNX model for ONNX Runtime.
//
// Usage:
//
//	go run ./cmd/export [--model PATH|NAME] --format F [--out FILE]
//
// Run with --help for the formats and examples.
package main

import (
	"bytes"
	"fmt"
	_ "github.com/tapenet/tapenet/blas" // tapenet's Sgemm as Gorgonia's BLAS
	"io"
	"path/filepath"
	"strings"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/models"
)

func usage() string {
	var b strings.Builder
	b.WriteString(`
export: write a model as a summary, graph (JSON, DOT, SVG, PNG), weights
(safetensors, npz) or an ONNX model.

Usage:
  go run ./cmd/export [--model PATH|NAME] [--format F] [--out FILE]

With no --model, exports the embedded default model. Text formats go to
stdout unless --out is given; binary formats need --out. Without --format,
the format comes from the --out extension (model.onnx: onnx), else summary.
Files are written to a temporary name and renamed: a failed export leaves
no file behind.

Formats:
`)
	for _, f := range export.Formats() {
		kind := "text"
		if f.Binary {
			kind = "binary"
		}
		fmt.Fprintf(&b, "  %-12s %-13s %-7s %s\n", f.Name, f.Ext, kind, f.Description)
	}
	b.WriteString(`
Examples:
  go run ./cmd/export                                   # summary of the default model
  go run ./cmd/export --model model.safetensors --format json > graph.json
  go run ./cmd/export --format dot | dot -Tsvg > graph.svg
  go run ./cmd/export --format npz --out weights.npz    # python: numpy.load("weights.npz")["fc1.weight"]
  go run ./cmd/export --out model.onnx                  # ONNX, input "input" (N, 784), output "output"
  go run ./cmd/export --model pytorch.onnx              # summary of an ONNX model PyTorch exported

Dense weights are stored (in, out), as x·W: the transpose of PyTorch's
nn.Linear.weight. The ONNX model uses Gemm with transB=0.
`)
	return b.String()
}

type options struct {
	model, format, out, activation string
}

func main() { cli.Main("export", run) }

func run(args []string, stdout, stderr io.Writer) error {
	var o options
	fs := cli.NewFlags("export", usage(), stdout)
	fs.StringVar(&o.model, "model", models.Default, "embedded model name ("+strings.Join(models.Names(), ", ")+"), checkpoint file (.safetensors), book-format weights (.pkl, .npz with W1, b1, W2, b2, ...), or an ONNX model (.onnx, e.g. from torch.onnx.export)")
	fs.StringVar(&o.activation, "activation", "sigmoid", "hidden activation for book-format weights (.pkl, .npz): "+strings.Join(models.Activations(), ", "))
	fs.StringVar(&o.format, "format", "", "output format: "+strings.Join(export.Names(), ", ")+" (default: from the --out extension, else summary)")
	fs.StringVarP(&o.out, "out", "o", "", "write to this file instead of stdout (required for binary formats)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var f export.Format
	switch {
	case o.model == "":
		return cli.Usagef("--model must name a file or an embedded model")
	case o.format != "":
		var err error
		if f, err = export.Lookup(o.format); err != nil {
			return cli.Usagef("--format: %v", err)
		}
	default:
		var ok bool
		if f, ok = export.ByExtension(o.out); !ok {
			if ext := filepath.Ext(o.out); ext != "" && !strings.EqualFold(ext, ".txt") {
				return cli.Usagef("--out %s: no format has the extension %s; give --format (%s)", o.out, ext, strings.Join(export.Names(), ", "))
			}
			f, _ = export.Lookup("summary")
		}
	}
	if f.Binary && o.out == "" {
		return cli.Usagef("--format %s is binary: give --out FILE", f.Name)
	}
	if _, err := models.Activation(o.activation); err != nil {
		return cli.Usagef("--activation: %v", err)
	}
	if err := cli.CheckOutputs(cli.Output{Flag: "--out", Path: o.out}); err != nil {
		return err
	}
	m, err := models.Open(o.model, models.OpenOptions{Activation: o.activation})
	if err != nil {
		return err
	}
	if o.out == "" {
		// Build the whole text first, so an error prints no partial output.
		var buf bytes.Buffer
		if err := f.Write(&buf, m); err != nil {
			return fmt.Errorf("model %s: %s: %w", o.model, f.Name, err)
		}
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	err = cli.WriteFile(o.out, func(w io.Writer) error {
		if err := f.Write(w, m); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("model %s: %w", o.model, err)
	}
	return nil
}
