package main

import (
	"fmt"
	"image"
	"io"
	"slices"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/viz"
)

// pictureOptions are the flags that draw PNG pictures of a run.
type pictureOptions struct {
	errors, confusion string // files to write ("" : none)
	errorsMax         int    // most mistakes drawn
}

// writePictures draws the pictures asked for. It runs the model again only
// on the misclassified images it draws (for their confidence), so a run
// without --errors costs nothing more.
func (o *options) writePictures(pr *graph.Predictor, m *graph.Model, set *datasets.Set, preds []int, rep *report) error {
	if o.pics.errors != "" {
		img, err := mistakes(pr, m, set, preds, o.pics.errorsMax, o.model, o.split)
		if err != nil {
			return fmt.Errorf("--errors: %w", err)
		}
		if err := cli.WriteFile(o.pics.errors, func(w io.Writer) error { return viz.WritePNG(w, img) }); err != nil {
			return err
		}
	}
	if o.pics.confusion != "" {
		title := fmt.Sprintf("%s on %d %s images: accuracy %.2f%%", o.model, rep.Samples, o.split, 100*rep.Accuracy)
		img, err := viz.Confusion(rep.Confusion, viz.ConfusionOptions{Title: title})
		if err != nil {
			return fmt.Errorf("--confusion: %w", err)
		}
		if err := cli.WriteFile(o.pics.confusion, func(w io.Writer) error { return viz.WritePNG(w, img) }); err != nil {
			return err
		}
	}
	return nil
}

// mistakes draws the first (at most limit) misclassified images of set in
// data order, each captioned "true → predicted confidence", where the
// confidence is the softmax probability of the predicted class.
func mistakes(pr *graph.Predictor, m *graph.Model, set *datasets.Set, preds []int, limit int, model, split string) (*image.RGBA, error) {
	var wrong []int
	for i, p := range preds {
		if p != set.Labels[i] {
			wrong = append(wrong, i)
		}
	}
	title := fmt.Sprintf("%s: no mistakes on %d %s images", model, set.Len(), split)
	if len(wrong) == 0 {
		return viz.Grid(nil, viz.GridOptions{Title: title})
	}
	shown := wrong[:min(len(wrong), limit)]
	probs, err := confidences(pr, m, set, shown, preds)
	if err != nil {
		return nil, err
	}
	cells := make([]viz.Cell, len(shown))
	for k, i := range shown {
		g, err := set.Gray(i)
		if err != nil {
			return nil, err
		}
		cells[k] = viz.Cell{Digit: g, Caption: fmt.Sprintf("%d → %d  %.0f%%", set.Labels[i], preds[i], 100*probs[k])}
	}
	title = fmt.Sprintf("%s: %d of %d %s images misclassified (%d shown), true → predicted (confidence)",
		model, len(wrong), set.Len(), split, len(shown))
	return viz.Grid(cells, viz.GridOptions{Columns: 10, Title: title})
}

// confidences runs the samples idx of set through the model in one batch
// and returns the probability of each one's predicted class, as the
// output's meaning gives it (graph.ToProbabilities); an output of no
// stated meaning is taken as logits.
func confidences(pr *graph.Predictor, m *graph.Model, set *datasets.Set, idx, preds []int) ([]float64, error) {
	per := set.SampleSize()
	data := set.Data()
	x := make([]float32, 0, len(idx)*per)
	for _, i := range idx {
		x = append(x, data[i*per:(i+1)*per]...)
	}
	shape := append([]int{len(idx)}, set.SampleShape()...)
	out, err := pr.Forward(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(x)))
	if err != nil {
		return nil, err
	}
	vals, ok := out.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("model output is %v, want float32", out.Dtype())
	}
	cols := len(vals) / len(idx)
	meaning := m.OutputMeaning(0)
	if meaning == graph.Values {
		meaning = graph.Logits // an output that does not say: scores, as before
	}
	res := make([]float64, len(idx))
	for k, i := range idx {
		row := slices.Clone(vals[k*cols : (k+1)*cols])
		p := preds[i]
		if p >= cols {
			return nil, fmt.Errorf("predicted class %d but the model has %d outputs", p, cols)
		}
		if err := graph.ToProbabilities(meaning, row, cols); err != nil {
			return nil, err
		}
		res[k] = float64(row[p])
	}
	return res, nil
}
