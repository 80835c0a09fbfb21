// Command ch07_visualize_filter is the book's ch07/visualize_filter.py: the
// 30 first-layer filters (5×5) of SimpleConvNet drawn before training
// (random, the book's N(0, 0.01²)) and after, as the book's Figure 7-24,
// in one PNG. Each filter is scaled to its own minimum and maximum and
// drawn with the book's reversed grey map (large weights dark), 8 per row.
//
//	go run ./examples/book/ch07_visualize_filter                # trains 1 epoch
//	go run ./examples/book/ch07_visualize_filter --model params.pkl
//
// The book draws the filters of its trained params.pkl (20 epochs of
// ch07/train_convnet.py). By default this program trains the network it
// drew before training, models.BookSimpleConvNet with Adam (lr 0.001,
// batches of 100, the book's train_convnet settings) for --epochs epochs;
// with --model it draws the trained filters of a file instead: the book's
// params.pkl, or any tapenet model whose first layer is a convolution
// ("convnet", the embedded SimpleConvNet trained by cmd/train).
package main

import (
	"context"
	"fmt"
	"image"
	"image/draw"
	"io"
	"math"
	"time"

	_ "github.com/tapenet/tapenet/blas"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/examples/book/internal/bookex"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
	"github.com/tapenet/tapenet/models"
	"github.com/tapenet/tapenet/viz"
)

const usage = `
ch07_visualize_filter: the first-layer filters of the book's SimpleConvNet
before and after training (section 7.6.1, Figure 7-24), as one PNG.

Usage:
  go run ./examples/book/ch07_visualize_filter [flags]
`

type options struct {
	model, out          string
	epochs, limit, seed int
}

func main() { cli.Main("ch07_visualize_filter", run) }

func run(args []string, stdout, _ io.Writer) error {
	var o options
	fs := cli.NewFlags("ch07_visualize_filter", usage, stdout)
	fs.IntVar(&o.epochs, "epochs", 1, "epochs of training after drawing the random filters")
	fs.IntVar(&o.limit, "limit", 0, "train on the first N training images only (0: all 60,000)")
	fs.IntVar(&o.seed, "seed", 1, "seed of the initial weights and of the shuffling")
	fs.StringVar(&o.model, "model", "", "draw the trained filters of this model instead of training (the book's params.pkl, a checkpoint, or an embedded name such as convnet)")
	fs.StringVar(&o.out, "out", "docs/book/ch07_visualize_filter.png", "the picture (PNG)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.epochs < 1 || o.limit < 0 || o.seed < 0 {
		return cli.Usagef("--epochs must be positive, --limit and --seed not negative")
	}
	if err := bookex.CheckOut("--out", o.out); err != nil {
		return err
	}
	m, err := models.BookSimpleConvNet()
	if err != nil {
		return err
	}
	m.Init(uint64(o.seed))
	before, err := filters(m)
	if err != nil {
		return err
	}
	var after []*image.Gray
	var title string
	if o.model != "" {
		trained, err := models.Open(o.model)
		if err != nil {
			return err
		}
		if after, err = filters(trained); err != nil {
			return fmt.Errorf("model %s: %w", o.model, err)
		}
		title = "after training: " + o.model
	} else {
		acc, secs, err := trainNet(m, o)
		if err != nil {
			return err
		}
		if after, err = filters(m); err != nil {
			return err
		}
		epochs := fmt.Sprintf("%d epochs", o.epochs)
		if o.epochs == 1 {
			epochs = "1 epoch"
		}
		title = fmt.Sprintf("after %s of Adam: test accuracy %.2f%%", epochs, 100*acc)
		fmt.Fprintf(stdout, "trained SimpleConvNet %s in %.0f s: test accuracy %.4f\n", epochs, secs, acc)
	}
	img, err := sideBySide(
		grid(before, "before training (N(0, 0.01²), seed "+fmt.Sprint(o.seed)+")"),
		grid(after, title),
	)
	if err != nil {
		return err
	}
	if err := bookex.WriteFile(o.out, func(w io.Writer) error { return viz.WritePNG(w, img) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ch07 visualize_filter: %d filters before and after training -> %s\n", len(before), o.out)
	return nil
}

// trainNet trains m with the book's train_convnet settings and returns its
// test accuracy and the seconds spent training.
func trainNet(m *graph.Model, o options) (float64, float64, error) {
	opt := datasets.Options{Normalize: true, OneHot: true}
	trainSet, err := datasets.MNIST(datasets.Train, opt)
	if err != nil {
		return 0, 0, err
	}
	trainSet = trainSet.Head(o.limit)
	test, err := datasets.MNIST(datasets.Test, opt)
	if err != nil {
		return 0, 0, err
	}
	tr, err := train.NewTrainer(m, train.Config{Optimizer: &train.Adam{}, LearningRate: 0.001, Seed: uint64(o.seed)})
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	data := train.FitData{X: []*tensor.Dense{trainSet.X}, T: []*tensor.Dense{trainSet.OneHot}}
	if _, err := train.Fit(context.Background(), tr, data, train.FitOptions{Epochs: o.epochs, Batch: 100}); err != nil {
		return 0, 0, err
	}
	secs := time.Since(start).Seconds()
	preds, err := graph.NewPredictor(m).Classify(test.X, 100)
	if err != nil {
		return 0, 0, err
	}
	c := 0
	for i, p := range preds {
		if p == test.Labels[i] {
			c++
		}
	}
	return float64(c) / float64(len(preds)), secs, nil
}

// filters returns the first input channel of each filter of the model's
// first convolution, each scaled to 0..255 between its own minimum and
// maximum (as imshow does), large weights as ink.
func filters(m *graph.Model) ([]*image.Gray, error) {
	for _, l := range m.Layers() {
		if l.Layer.Kind() != "conv2d" {
			continue
		}
		w := m.Param(l.Name + ".weight")
		s := w.Shape() // (filters, channels, k, k)
		v := w.Data().([]float32)
		per := s[1] * s[2] * s[3]
		out := make([]*image.Gray, s[0])
		for f := range out {
			k := v[f*per : f*per+s[2]*s[3]] // channel 0, as the book's filters[i, 0]
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, x := range k {
				lo, hi = min(lo, float64(x)), max(hi, float64(x))
			}
			img := image.NewGray(image.Rect(0, 0, s[3], s[2]))
			for i, x := range k {
				if hi > lo {
					img.Pix[i] = uint8(math.Round(255 * (float64(x) - lo) / (hi - lo)))
				}
			}
			out[f] = img
		}
		return out, nil
	}
	return nil, fmt.Errorf("no convolution layer")
}

// grid draws filters 8 per row, enlarged 10 times, under a title.
func grid(fs []*image.Gray, title string) func() (*image.RGBA, error) {
	return func() (*image.RGBA, error) {
		cells := make([]viz.Cell, len(fs))
		for i, f := range fs {
			cells[i] = viz.Cell{Digit: f}
		}
		return viz.Grid(cells, viz.GridOptions{Columns: 8, Scale: 10, Title: title})
	}
}

// sideBySide draws pictures left to right on white.
func sideBySide(draws ...func() (*image.RGBA, error)) (*image.RGBA, error) {
	var imgs []*image.RGBA
	w, h := 0, 0
	for _, d := range draws {
		img, err := d()
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
		w += img.Bounds().Dx()
		h = max(h, img.Bounds().Dy())
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	x := 0
	for _, img := range imgs {
		draw.Draw(out, img.Bounds().Add(image.Pt(x, 0)), img, img.Bounds().Min, draw.Src)
		x += img.Bounds().Dx()
	}
	return out, nil
}
