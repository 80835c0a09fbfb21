package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"slices"
	"sort"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/imageprep"
	"github.com/tapenet/tapenet/models"
	"gorgonia.org/tensor"
)

// imageResult is the outcome for one file; its JSON form is a --json line.
type imageResult struct {
	File          string      `json:"file"`
	Class         int         `json:"class"`
	Top           []classProb `json:"top"`
	Probabilities []float32   `json:"probabilities"`
	Error         string      `json:"-"`
}

// imageError is a --json line for a file that could not be classified.
type imageError struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

type classProb struct {
	Class       int     `json:"class"`
	Probability float32 `json:"probability"`
}

func parsePolarity(s string) (imageprep.Polarity, error) {
	for _, p := range []imageprep.Polarity{imageprep.Auto, imageprep.DarkOnLight, imageprep.LightOnDark} {
		if s == p.String() {
			return p, nil
		}
	}
	return 0, fmt.Errorf("unknown polarity %q (want auto, dark-on-light or light-on-dark)", s)
}

// runImages classifies image files: one line (or JSON object) per file.
func runImages(o options, stdout, stderr io.Writer) error {
	pol, err := parsePolarity(o.polarity)
	if err != nil {
		return cli.Usagef("--polarity: %v", err)
	}
	if o.model == "" {
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
	size := 1
	for _, d := range m.Input() {
		size *= d
	}
	if size != imageprep.Side*imageprep.Side {
		return fmt.Errorf("model %s wants samples of shape %v; images are framed as 28x28 (784 values)", o.model, m.Input())
	}

	// Frame every file; those that fail are reported and left out.
	results := make([]imageResult, len(o.images))
	var x []float32
	var ok []int // indices of framed files, in order
	for i, path := range o.images {
		results[i].File = path
		g, err := frameFile(path, pol)
		if err != nil {
			results[i].Error = err.Error()
			continue
		}
		x = append(x, imageprep.Values(g)...)
		ok = append(ok, i)
	}
	if len(ok) > 0 {
		pr := graph.NewPredictor(m)
		shape := append([]int{len(ok)}, m.Input()...)
		out, err := pr.Forward(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(x)))
		if err != nil {
			return fmt.Errorf("model %s: %w", o.model, err)
		}
		probs, classes, err := probabilities(out, m.OutputMeaning(0))
		if err != nil {
			return fmt.Errorf("model %s: %w", o.model, err)
		}
		for k, i := range ok {
			results[i].setProbabilities(probs[k*classes : (k+1)*classes])
		}
	}

	bw := bufio.NewWriter(stdout)
	failed := 0
	for _, r := range results {
		if r.Error != "" {
			failed++
			if len(results) > 1 { // one file: its error is the command's
				fmt.Fprintf(stderr, "infer: %s\n", r.Error)
			}
		}
		if o.json {
			var v any = r
			if r.Error != "" {
				v = imageError{File: r.File, Error: r.Error}
			}
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			bw.Write(append(b, '\n'))
			continue
		}
		if r.Error != "" {
			continue
		}
		fmt.Fprintf(bw, "%s: %d  (", r.File, r.Class)
		for k, t := range r.Top {
			if k > 0 {
				bw.WriteString("  ")
			}
			fmt.Fprintf(bw, "%d: %.4f", t.Class, t.Probability)
		}
		bw.WriteString(")\n")
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if failed == 1 && len(results) == 1 {
		return errors.New(results[0].Error)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d images could not be classified", failed, len(results))
	}
	return nil
}

// frameFile reads an image file and frames it as MNIST's digits are.
func frameFile(path string, pol imageprep.Polarity) (*image.Gray, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := imageprep.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	g, err := imageprep.Frame(img, imageprep.Options{Polarity: pol})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// setProbabilities fills the class, the top 3 and the probabilities.
func (r *imageResult) setProbabilities(p []float32) {
	r.Probabilities = append([]float32(nil), p...)
	order := make([]int, len(p))
	for c := range p {
		order[c] = c
	}
	sort.SliceStable(order, func(a, b int) bool { return p[order[a]] > p[order[b]] })
	r.Class = order[0]
	for _, c := range order[:min(3, len(order))] {
		r.Top = append(r.Top, classProb{Class: c, Probability: p[c]})
	}
}

// probabilities returns the rows of out (N, classes) as probabilities,
// as the output's meaning says (graph.ToProbabilities): as they are for
// probabilities, through a softmax for logits, exp for log-probabilities.
func probabilities(out *tensor.Dense, meaning graph.Meaning) ([]float32, int, error) {
	data, classes, err := graph.Rows(out)
	if err != nil {
		return nil, 0, err
	}
	if len(out.Shape()) != 2 || classes < 1 {
		return nil, 0, fmt.Errorf("output of shape %v is not (batch, classes)", []int(out.Shape()))
	}
	if meaning == graph.Values {
		meaning = graph.Logits // an output that does not say: scores, as before
	}
	probs := slices.Clone(data)
	if err := graph.ToProbabilities(meaning, probs, classes); err != nil {
		return nil, 0, err
	}
	return probs, classes, nil
}
