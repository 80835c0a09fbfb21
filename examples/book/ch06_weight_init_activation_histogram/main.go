// Command ch06_weight_init_activation_histogram is the book's
// ch06/weight_init_activation_histogram.py (section 6.2.2, Figures 6-10,
// 6-11, 6-13 and 6-14): 1,000 random inputs of 100 values (standard
// normal) pass through five layers of 100 units, and the histogram of
// each layer's activations (30 bins over [0, 1]) shows how the scale of
// the initial weights shapes them.
//
//	go run ./examples/book/ch06_weight_init_activation_histogram                     # sigmoid: std 1, 0.01, Xavier
//	go run ./examples/book/ch06_weight_init_activation_histogram --activation relu   # ReLU: std 0.01, Xavier, He
//
// Each layer is a tapenet model, Dense (zero bias, so the book's x·w)
// then the activation, its weights drawn by graph.Dense's initialiser
// ("normal:1", "normal:0.01", "xavier", "he"), run by a graph.Predictor on
// the previous layer's output. The book's script draws one weight scale
// per run (the others are commented out); this one draws them all, one
// row of the figure each.
package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"math/rand/v2"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/examples/book/internal/bookex"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/models"
)

const usage = `
ch06_weight_init_activation_histogram: histograms of the activations of five
layers of 100 units for several initial weight scales (section 6.2.2), with
the book's Figures 6-10, 6-11, 6-13 (sigmoid) or 6-14 (ReLU).

Usage:
  go run ./examples/book/ch06_weight_init_activation_histogram [flags]
`

func main() { cli.Main("ch06_weight_init_activation_histogram", run) }

// scale is one row of the figure: the book's label and graph.Dense's
// initialiser.
type scale struct{ name, init string }

// scales are the book's weight scales for each activation.
var scales = map[string][]scale{
	"sigmoid": {{"std=1", "normal:1"}, {"std=0.01", "normal:0.01"}, {"Xavier", "xavier"}},
	"relu":    {{"std=0.01", "normal:0.01"}, {"Xavier", "xavier"}, {"He", "he"}},
}

const bins = 30

func run(args []string, stdout, _ io.Writer) error {
	var activation, out string
	var samples, nodes, layers, seed int
	fs := cli.NewFlags("ch06_weight_init_activation_histogram", usage, stdout)
	fs.StringVar(&activation, "activation", "sigmoid", "activation: sigmoid (Figures 6-10, 6-11, 6-13) or relu (Figure 6-14)")
	fs.IntVar(&samples, "samples", 1000, "random inputs")
	fs.IntVar(&nodes, "nodes", 100, "units per layer (node_num)")
	fs.IntVar(&layers, "layers", 5, "layers (hidden_layer_size)")
	fs.IntVar(&seed, "seed", 1, "seed of the inputs and the weights")
	fs.StringVar(&out, "out", "", "the figure (PNG; default docs/book/ch06_weight_init_activation_histogram[_relu].png)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rows, ok := scales[activation]
	switch {
	case !ok:
		return cli.Usagef("--activation %q is not one of sigmoid, relu", activation)
	case samples < 1 || nodes < 1 || layers < 1 || seed < 0:
		return cli.Usagef("--samples, --nodes and --layers must be positive, --seed not negative")
	}
	if out == "" {
		out = "docs/book/ch06_weight_init_activation_histogram.png"
		if activation == "relu" {
			out = "docs/book/ch06_weight_init_activation_histogram_relu.png"
		}
	}
	if err := bookex.CheckOut("--out", out); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6a2))
	input := make([]float32, samples*nodes) // np.random.randn(1000, 100)
	for i := range input {
		input[i] = float32(rng.NormFloat64())
	}
	fmt.Fprintf(stdout, "ch06 weight_init_activation_histogram: %d inputs of %d values, %d layers of %d units, %s\n", samples, nodes, layers, nodes, activation)
	fmt.Fprintf(stdout, "per layer: mean ± std of the activations; share below 0.01 / above 0.99 (saturated)\n")
	grid := make([][]*plot.Plot, len(rows))
	for r, sc := range rows {
		acts, err := forward(input, samples, nodes, layers, activation, sc.init, uint64(seed)+uint64(r+1)*1000)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		var cells []string
		for i, a := range acts {
			mean, std, low, high := stats(a)
			cells = append(cells, fmt.Sprintf("%d: %.3f±%.3f %2.0f%%/%2.0f%%", i+1, mean, std, 100*low, 100*high))
			p := histPlot(a)
			if r == 0 {
				p.Title.Text = fmt.Sprintf("%d-layer", i+1)
			}
			if i == 0 {
				p.Y.Label.Text = sc.name
			} else {
				p.Y.Tick.Marker = plot.ConstantTicks(nil) // the book's plt.yticks([], [])
			}
			grid[r] = append(grid[r], p)
		}
		fmt.Fprintf(stdout, "%-9s %s\n", sc.name, strings.Join(cells, "   "))
	}
	err := bookex.WriteFile(out, func(w io.Writer) error {
		return bookex.WritePlots(w, grid, 200*layers, 220*len(rows))
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", out)
	return nil
}

// forward runs the layers one after the other from input (samples×nodes)
// and returns each layer's activations. Layer i is its own tapenet model,
// Dense then the activation, initialised from seed+i.
func forward(input []float32, samples, nodes, layers int, activation, init string, seed uint64) ([][]float32, error) {
	x := tensor.New(tensor.WithShape(samples, nodes), tensor.WithBacking(input))
	acts := make([][]float32, 0, layers)
	for i := range layers {
		act, err := models.Activation(activation)
		if err != nil {
			return nil, err
		}
		m, err := graph.NewSequential([]int{nodes}, &graph.Dense{Units: nodes, Init: init}, act)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i+1, err)
		}
		m.Init(seed + uint64(i))
		y, err := graph.NewPredictor(m).Forward(x)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i+1, err)
		}
		a := append([]float32(nil), y.Data().([]float32)...)
		acts = append(acts, a)
		x = tensor.New(tensor.WithShape(samples, nodes), tensor.WithBacking(a))
	}
	return acts, nil
}

// stats returns the mean and standard deviation of a and the shares of its
// values below 0.01 and above 0.99.
func stats(a []float32) (mean, std, low, high float64) {
	for _, v := range a {
		mean += float64(v)
		if v < 0.01 {
			low++
		} else if v > 0.99 {
			high++
		}
	}
	n := float64(len(a))
	mean /= n
	for _, v := range a {
		std += (float64(v) - mean) * (float64(v) - mean)
	}
	return mean, math.Sqrt(std / n), low / n, high / n
}

// histogram counts a in 30 equal bins over [0, 1], as plt.hist(a, 30,
// range=(0, 1)) does (values outside are left out, 1 falls in the last bin).
func histogram(a []float32) []float64 {
	counts := make([]float64, bins)
	for _, v := range a {
		if v < 0 || v > 1 {
			continue
		}
		counts[min(int(float64(v)*bins), bins-1)]++
	}
	return counts
}

// histPlot draws one layer's histogram.
func histPlot(a []float32) *plot.Plot {
	counts := histogram(a)
	h := &plotter.Histogram{Width: 1.0 / bins, FillColor: bookex.SeriesColor(0), LineStyle: plotter.DefaultLineStyle}
	h.LineStyle.Color = color.White
	for i, c := range counts {
		h.Bins = append(h.Bins, plotter.HistogramBin{Min: float64(i) / bins, Max: float64(i+1) / bins, Weight: c})
	}
	p := plot.New()
	p.Add(h)
	p.X.Min, p.X.Max, p.Y.Min = 0, 1, 0
	return p
}
