// Command infer runs a tapenet model over MNIST and reports its accuracy.
//
// Usage:
//
//	go run ./cmd/infer [flags]
//
// Run with --help for the flags.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	_ "github.com/tapenet/tapenet/blas" // tapenet's Sgemm as Gorgonia's BLAS
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/internal/cli"
	"github.com/tapenet/tapenet/models"
)

const usage = `
infer: run a model over the MNIST test set and report its accuracy.

Usage:
  go run ./cmd/infer [flags]

With no flags, runs the embedded default model over the 10,000 embedded
MNIST test images and prints accuracy, per-class accuracy, the confusion
matrix and images per second.

Examples:
  go run ./cmd/infer --model model.safetensors
  go run ./cmd/infer --model sample_weight.pkl          # the book's chapter 3 weights
  go run ./cmd/infer --model weights.npz --activation relu
  go run ./cmd/infer --model model.onnx                 # exported by PyTorch (torch.onnx.export)
  go run ./cmd/infer --data ~/fashion-mnist --split test --json
  go run ./cmd/infer --errors errors.png --confusion confusion.png   # pictures
`

type options struct {
	model, data, split, predictions, activation string
	batch, limit                                int
	json                                        bool
	pics                                        pictureOptions // --errors, --confusion
}

func main() {
	// A short run that holds its ~40 MB of data from the first
	// milliseconds: garbage collections while that heap builds up cost more
	// (10-40 ms of a 50 ms run) than the memory they would save. The soft
	// memory limit brings collections back for models that allocate a lot
	// per batch (the convnet). GOGC and GOMEMLIMIT, when set, still decide.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(192 << 20)
	}
	cli.Main("infer", run)
}

func run(args []string, stdout, stderr io.Writer) error {
	var o options
	fs := cli.NewFlags("infer", usage, stdout)
	fs.StringVar(&o.model, "model", models.Default, "embedded model name ("+strings.Join(models.Names(), ", ")+"), checkpoint file (.safetensors), book-format weights (.pkl, .npz with W1, b1, W2, b2, ...), or an ONNX model (.onnx, e.g. from torch.onnx.export)")
	fs.StringVar(&o.activation, "activation", "sigmoid", "hidden activation for book-format weights (.pkl, .npz): "+strings.Join(models.Activations(), ", "))
	fs.StringVar(&o.data, "data", "", "folder of MNIST-format IDX files, .gz or not (default: the embedded MNIST)")
	fs.StringVar(&o.split, "split", "test", "which split to run: test or train")
	fs.IntVar(&o.batch, "batch-size", 100, "images per batch")
	fs.IntVar(&o.limit, "limit", 0, "run the first N images only (0: all)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object instead of the report")
	fs.StringVar(&o.predictions, "predictions", "", "write the predicted label of every image to this file, one per line")
	fs.StringVar(&o.pics.errors, "errors", "", "draw the misclassified digits to this PNG file, each captioned true → predicted (confidence)")
	fs.IntVar(&o.pics.errorsMax, "errors-max", 40, "draw at most this many mistakes with --errors (the first ones, in data order)")
	fs.StringVar(&o.pics.confusion, "confusion", "", "draw the confusion matrix as a heat map with the counts to this PNG file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	split, err := datasets.ParseSplit(o.split)
	switch {
	case err != nil:
		return cli.Usagef("--split: %v", err)
	case o.batch < 1:
		return cli.Usagef("--batch-size must be at least 1, got %d", o.batch)
	case o.limit < 0:
		return cli.Usagef("--limit must not be negative, got %d", o.limit)
	case o.pics.errorsMax < 1:
		return cli.Usagef("--errors-max must be at least 1, got %d", o.pics.errorsMax)
	case o.model == "":
		return cli.Usagef("--model must name a file or an embedded model")
	}
	if _, err := models.Activation(o.activation); err != nil {
		return cli.Usagef("--activation: %v", err)
	}
	m, err := models.Open(o.model, models.OpenOptions{Activation: o.activation})
	if err != nil {
		return err
	}
	if n := len(m.Inputs()); n != 1 {
		return fmt.Errorf("model %s has %d inputs; infer feeds one (the images)", o.model, n)
	}
	opt := datasets.Options{Normalize: true, Flatten: len(m.Input()) == 1}
	set, err := datasets.Load(o.data, split, opt)
	if err != nil {
		return err
	}
	set = set.Head(o.limit)
	if got, want := set.SampleShape(), m.Input(); fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("model %s wants samples of shape %v, data has %v", o.model, want, got)
	}
	pr := graph.NewPredictor(m)
	start := time.Now()
	preds, err := pr.Classify(set.X, o.batch)
	secs := time.Since(start).Seconds()
	if err != nil {
		return fmt.Errorf("model %s: %w", o.model, err)
	}
	rep := newReport(o.model, set.Labels, preds, set.Classes, secs)
	if o.predictions != "" {
		err := cli.WriteFile(o.predictions, func(w io.Writer) error {
			bw := bufio.NewWriter(w)
			for _, p := range preds {
				fmt.Fprintln(bw, p)
			}
			return bw.Flush()
		})
		if err != nil {
			return err
		}
	}
	if err := o.writePictures(pr, m, set, preds, rep); err != nil {
		return err
	}
	if o.json {
		b, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	return rep.write(stdout)
}

// report is the outcome of a run; its JSON form is the --json output.
type report struct {
	Model     string    `json:"model"`
	Samples   int       `json:"samples"`
	Correct   int       `json:"correct"`
	Accuracy  float64   `json:"accuracy"`
	PerClass  []float64 `json:"per_class"`
	Confusion [][]int   `json:"confusion"`
	Seconds   float64   `json:"seconds"`
	PerSecond float64   `json:"images_per_second"`
}

func newReport(model string, labels, preds []int, classes int, secs float64) *report {
	r := &report{Model: model, Samples: len(labels), Seconds: secs, Confusion: make([][]int, classes), PerClass: make([]float64, classes)}
	for i := range r.Confusion {
		r.Confusion[i] = make([]int, classes)
	}
	for i, l := range labels {
		r.Confusion[l][preds[i]]++
		if l == preds[i] {
			r.Correct++
		}
	}
	for c, row := range r.Confusion {
		total := 0
		for _, v := range row {
			total += v
		}
		if total > 0 {
			r.PerClass[c] = float64(row[c]) / float64(total)
		}
	}
	if r.Samples > 0 {
		r.Accuracy = float64(r.Correct) / float64(r.Samples)
	}
	if secs > 0 {
		r.PerSecond = float64(r.Samples) / secs
	}
	return r
}

func (r *report) write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "model: %s\n", r.Model)
	fmt.Fprintf(bw, "accuracy: %.4f (%d/%d)\n\n", r.Accuracy, r.Correct, r.Samples)
	fmt.Fprintf(bw, "per-class accuracy:\n")
	for c, row := range r.Confusion {
		total := 0
		for _, v := range row {
			total += v
		}
		fmt.Fprintf(bw, "  %d: %.4f (%d/%d)\n", c, r.PerClass[c], row[c], total)
	}
	fmt.Fprintf(bw, "\nconfusion matrix (rows: true label, columns: predicted):\n      ")
	for c := range r.Confusion {
		fmt.Fprintf(bw, "%6d", c)
	}
	fmt.Fprintln(bw)
	for c, row := range r.Confusion {
		fmt.Fprintf(bw, "  %2d  ", c)
		for _, v := range row {
			fmt.Fprintf(bw, "%6d", v)
		}
		fmt.Fprintln(bw)
	}
	fmt.Fprintf(bw, "\nimages per second: %.0f (%d images in %.3f s)\n", r.PerSecond, r.Samples, r.Seconds)
	return bw.Flush()
}
