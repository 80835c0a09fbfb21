// Command infer runs a tapenet model over a data set (MNIST by default, an
// IDX folder or a numpy .npz) and reports its accuracy, or for regression
// sets its MSE, MAE and R²; classifies image files (drawings, scans, photos
// of handwritten digits); or runs any model on numpy arrays (--input,
// --output).
//
// Usage:
//
//	go run ./cmd/infer [flags]
//	go run ./cmd/infer [flags] IMAGE...
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

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/models"
)

const usage = `
infer: run a model over the MNIST test set and report its accuracy, or
classify image files.

Usage:
  go run ./cmd/infer [flags]
  go run ./cmd/infer [flags] IMAGE...      (or --image IMAGE, repeatable)
  go run ./cmd/infer [flags] --input [NAME=]FILE.npy|.npz [--output FILE.npy|.npz]

With no flags, runs the embedded default model over the 10,000 embedded
MNIST test images and prints accuracy, per-class accuracy, the confusion
matrix and images per second.

With --data, runs a data set instead: a folder of IDX files (MNIST's file
names; images of rank 3, or rank 4 for colour: ...-images-idx4-ubyte) or
a numpy .npz with arrays x and y (and x_test, y_test): an integer y gives
classes (their number told by the labels), a float y regression targets,
reported as mse, mae and r2 (R² per target column, averaged).

With --input, runs the model on arrays: one .npy or .npz per model input
(NAME=FILE picks the input; an .npz's arrays are matched to the inputs by
name), each of shape (N, input shape...) and of the input's type (float
inputs take float16/32/64 arrays, int64 and int32 inputs integer arrays).
The outputs are printed, or written with --output to an .npy (one output)
or .npz (all, by name) in their own type (float32 for most).

Given images (PNG, JPEG, GIF, BMP, WebP; any size, dark ink on light paper
or light on dark), frames each as MNIST's digits were made (crop, fit into
20x20, centre of mass at the centre of 28x28) and prints one line per file:
the predicted class and the top-3 probabilities (--json: one object per
line). A file that cannot be read or holds no ink is reported and the
others still run; the exit status is then 1.

Examples:
  go run ./cmd/infer --model model.safetensors
  go run ./cmd/infer --model sample_weight.pkl          # the book's chapter 3 weights
  go run ./cmd/infer --model weights.npz --activation relu
  go run ./cmd/infer --model model.onnx                 # exported by PyTorch (torch.onnx.export)
  go run ./cmd/infer --data ~/fashion-mnist --split test --json
  go run ./cmd/infer --model reg.safetensors --data data.npz --json   # mse, mae, r2
  go run ./cmd/infer --input x.npy --output y.npy       # y = the mlp's probabilities
  go run ./cmd/infer --model m.onnx --input ids=tokens.npy --input mask=mask.npy --output out.npz
  go run ./cmd/infer --errors errors.png --confusion confusion.png   # pictures
  go run ./cmd/infer my_seven.png photo_of_a_two.jpg
  go run ./cmd/infer --model convnet --json --image digit.png
`

type options struct {
	model, data, split, predictions, activation string
	batch, limit                                int
	json                                        bool
	pics                                        pictureOptions // --errors, --confusion
	images                                      []string       // --image and positional arguments
	polarity                                    string         // --polarity for images
	inputs                                      []string       // --input [NAME=]FILE.npy|.npz
	output                                      string         // --output FILE.npy|.npz
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
	fs.StringVar(&o.data, "data", "", "data set: a folder of IDX files (MNIST's names, .gz or not, rank 3 or 4 images), or a numpy .npz with arrays x, y and optionally x_test, y_test (float y: regression, reported as mse, mae, r2) (default: the embedded MNIST)")
	fs.StringVar(&o.split, "split", "test", "which split to run: test or train")
	fs.IntVar(&o.batch, "batch-size", 100, "images per batch")
	fs.IntVar(&o.limit, "limit", 0, "run the first N images only (0: all)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object instead of the report")
	fs.StringVar(&o.predictions, "predictions", "", "write the predicted label of every image to this file, one per line")
	fs.StringVar(&o.pics.errors, "errors", "", "draw the misclassified digits to this PNG file, each captioned true → predicted (confidence)")
	fs.IntVar(&o.pics.errorsMax, "errors-max", 40, "draw at most this many mistakes with --errors (the first ones, in data order)")
	fs.StringVar(&o.pics.confusion, "confusion", "", "draw the confusion matrix as a heat map with the counts to this PNG file")
	fs.StringArrayVar(&o.images, "image", nil, "classify this image file instead of MNIST (repeatable; file names may also follow the flags)")
	fs.StringVar(&o.polarity, "polarity", "auto", "ink of --image files: auto (told from the border), dark-on-light or light-on-dark")
	fs.StringArrayVar(&o.inputs, "input", nil, "run the model on arrays instead: [NAME=]FILE.npy or FILE.npz (repeatable; inputs matched by NAME= or by the .npz's array names); each of shape (N, input shape...) and of the input's type")
	fs.StringVar(&o.output, "output", "", "with --input: write the model's output to this .npy (one output) or .npz (every output, by name), in the output's own type (float32 for most)")
	rest, err := fs.ParseArgs(args)
	if err != nil {
		return err
	}
	o.images = append(o.images, rest...)
	if len(o.inputs) > 0 || o.output != "" {
		for _, name := range []string{"data", "split", "limit", "predictions", "errors", "errors-max", "confusion", "image", "polarity"} {
			if fs.Changed(name) {
				return cli.Usagef("--%s applies to data-set runs, not to --input arrays", name)
			}
		}
		switch {
		case len(o.inputs) == 0:
			return cli.Usagef("--output needs --input")
		case len(o.images) > 0:
			return cli.Usagef("image files and --input do not go together")
		case o.batch < 1:
			return cli.Usagef("--batch-size must be at least 1, got %d", o.batch)
		}
		if _, err := models.Activation(o.activation); err != nil {
			return cli.Usagef("--activation: %v", err)
		}
		return runArrays(o, stdout)
	}
	if len(o.images) > 0 {
		for _, name := range []string{"data", "split", "limit", "batch-size", "predictions", "errors", "errors-max", "confusion"} {
			if fs.Changed(name) {
				return cli.Usagef("--%s applies to MNIST runs, not to image files", name)
			}
		}
		return runImages(o, stdout, stderr)
	}
	if fs.Changed("polarity") {
		return cli.Usagef("--polarity applies to image files only")
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
	err = cli.CheckOutputs(cli.Output{Flag: "--predictions", Path: o.predictions},
		cli.Output{Flag: "--errors", Path: o.pics.errors}, cli.Output{Flag: "--confusion", Path: o.pics.confusion})
	if err != nil {
		return err
	}
	m, err := models.Open(o.model, models.OpenOptions{Activation: o.activation})
	if err != nil {
		return err
	}
	if n := len(m.Inputs()); n != 1 {
		return fmt.Errorf("model %s has %d inputs; infer feeds one (the images)", o.model, n)
	}
	opt := datasets.Options{Normalize: true, Flatten: len(m.Input()) == 1, SampleShape: m.Input()}
	set, err := loadSet(o.data, split, fs.Changed("split"), opt)
	if err != nil {
		return err
	}
	set = set.Head(o.limit)
	pr := graph.NewPredictor(m)
	batch, err := cli.Batch("--batch-size", o.batch, set.Len(), m.SampleValues(), pr.Workers)
	if err != nil {
		return err
	}
	if set.Regression() {
		return o.runRegression(pr, m, set, batch, stdout)
	}
	start := time.Now()
	preds, err := pr.Classify(set.X, batch)
	secs := time.Since(start).Seconds()
	if err != nil {
		return fmt.Errorf("model %s: %w", o.model, err)
	}
	classes := set.Classes
	if out := m.OutputShape(0); len(out) == 1 {
		classes = max(classes, out[0]) // a model of more classes than the labels show
	}
	rep := newReport(o.model, set.Labels, preds, classes, secs)
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
