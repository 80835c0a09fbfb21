// Command ch06_optimizer_compare_naive is the book's
// ch06/optimizer_compare_naive.py (section 6.1.7, Figure 6-8): SGD
// (learning rate 0.95), Momentum (0.1), AdaGrad (1.5) and Adam (0.3) each
// take 30 steps on f(x, y) = x²/20 + y² from (-7, 2), and their paths are
// drawn over the contour lines of f, one subplot each.
//
//	go run ./examples/book/ch06_optimizer_compare_naive
//
// tapenet's optimisers (graph/train's SGD, SGD with momentum 0.9, AdaGrad
// and Adam, in float32) step the two parameters x and y from the book's
// analytic gradient (x/10, 2y). Beside them the example computes the book's
// own update rules (common/optimizer.py) in float64, and prints both paths'
// last points and how far apart the paths ever get. The rules differ only
// where PyTorch's (which graph/train follows) differ from the book's:
//
//   - Momentum: the book keeps v ← 0.9·v − η·g, w ← w + v; PyTorch
//     b ← 0.9·b + g, w ← w − η·b. With a constant η, v = −η·b: the same path.
//   - AdaGrad: both divide by √h + ε, the book with ε = 1e-7, PyTorch 1e-10.
//   - Adam: the book folds the bias corrections into a rate
//     lr_t = η·√(1 − β₂ᵗ)/(1 − β₁ᵗ) and adds ε = 1e-7 to √v; PyTorch
//     corrects m and v and adds ε = 1e-8 to √v̂. Only ε's weight differs.
package main

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/examples/book/internal/bookex"
	"github.com/tapenet/tapenet/graph/train"
)

const usage = `
ch06_optimizer_compare_naive: SGD, Momentum, AdaGrad and Adam on
f(x, y) = x²/20 + y² from (-7, 2) (the book's section 6.1.7), tapenet's
optimisers beside the book's update rules, and the book's Figure 6-8.

Usage:
  go run ./examples/book/ch06_optimizer_compare_naive [flags]
`

func main() { cli.Main("ch06_optimizer_compare_naive", run) }

// method is one of the book's four optimisers: its name, its learning
// rate in the book's script, tapenet's optimiser and the book's rule.
type method struct {
	name    string
	lr      float64
	tapenet func() train.Optimizer
	book    func(lr float64) bookRule
}

var methods = []method{
	{"SGD", 0.95, func() train.Optimizer { return &train.SGD{} }, newBookSGD},
	{"Momentum", 0.1, func() train.Optimizer { return &train.SGD{Momentum: 0.9} }, newBookMomentum},
	{"AdaGrad", 1.5, func() train.Optimizer { return &train.AdaGrad{} }, newBookAdaGrad},
	{"Adam", 0.3, func() train.Optimizer { return &train.Adam{} }, newBookAdam},
}

// f is the book's function and df its gradient.
func f(x, y float64) float64           { return x*x/20 + y*y }
func df(x, y float64) (dx, dy float64) { return x / 10, 2 * y }

// start is the book's init_pos.
var start = point{-7, 2}

type point struct{ x, y float64 }

func run(args []string, stdout, _ io.Writer) error {
	var steps int
	var out string
	fs := cli.NewFlags("ch06_optimizer_compare_naive", usage, stdout)
	fs.IntVar(&steps, "steps", 30, "updates per optimiser (the book: 30)")
	fs.StringVar(&out, "out", "docs/book/ch06_optimizer_compare_naive.png", "the figure (PNG)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if steps < 1 {
		return cli.Usagef("--steps must be positive, got %d", steps)
	}
	if err := bookex.CheckOut("--out", out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ch06 optimizer_compare_naive: f(x, y) = x²/20 + y² from (%g, %g), %d steps; the point after the last step\n", start.x, start.y, steps)
	rows := make([]bookex.Row, 0, len(methods))
	plots := make([]*plot.Plot, 0, len(methods))
	for _, m := range methods {
		ours, err := tapenetPath(m.tapenet(), m.lr, steps)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		book := bookPath(m.book(m.lr), steps)
		dev := 0.0
		for i := range ours {
			dev = math.Max(dev, math.Max(math.Abs(ours[i].x-book[i].x), math.Abs(ours[i].y-book[i].y)))
		}
		b, o := book[steps], ours[steps]
		rows = append(rows, bookex.Row{
			Name:    fmt.Sprintf("%s(lr=%g)", m.name, m.lr),
			Book:    fmt.Sprintf("(%.6f, %.6f)  f=%.3g", b.x, b.y, f(b.x, b.y)),
			Tapenet: fmt.Sprintf("(%.6f, %.6f)  f=%.3g  max|Δ| %.1e", o.x, o.y, f(o.x, o.y), dev),
		})
		p, err := pathPlot(m.name, ours[:steps], book[:steps])
		if err != nil {
			return err
		}
		plots = append(plots, p)
	}
	if err := bookex.WriteTable(stdout, bookex.Row{Name: "optimizer", Book: "the book's rule (float64)", Tapenet: "tapenet's graph/train (float32)"}, rows); err != nil {
		return err
	}
	grid := [][]*plot.Plot{plots[:2], plots[2:]}
	if err := bookex.WriteFile(out, func(w io.Writer) error { return bookex.WritePlots(w, grid, 800, 800) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", out)
	return nil
}

// tapenetPath runs opt on the parameters x and y (two float32 tensors of
// one value, as the book's params dict holds two numbers) and returns the
// start and the point after each step.
func tapenetPath(opt train.Optimizer, lr float64, steps int) ([]point, error) {
	x, y := []float32{float32(start.x)}, []float32{float32(start.y)}
	gx, gy := []float32{0}, []float32{0}
	path := []point{start}
	for i := range steps {
		dx, dy := df(float64(x[0]), float64(y[0]))
		gx[0], gy[0] = float32(dx), float32(dy)
		params := []train.Param{{Name: "x", Value: x, Grad: gx}, {Name: "y", Value: y, Grad: gy}}
		if err := opt.Step(params, lr); err != nil {
			return nil, fmt.Errorf("step %d: %w", i+1, err)
		}
		path = append(path, point{float64(x[0]), float64(y[0])})
	}
	return path, nil
}

// bookRule is one of the book's optimisers (common/optimizer.py) on the two
// parameters: update takes the point and the gradient and returns the new
// point.
type bookRule func(p, g point) point

// bookPath is the book's loop: from start, steps updates by rule.
func bookPath(rule bookRule, steps int) []point {
	path := []point{start}
	p := start
	for range steps {
		dx, dy := df(p.x, p.y)
		p = rule(p, point{dx, dy})
		path = append(path, p)
	}
	return path
}

// newBookSGD is the book's SGD: params -= lr·grad.
func newBookSGD(lr float64) bookRule {
	return func(p, g point) point { return point{p.x - lr*g.x, p.y - lr*g.y} }
}

// newBookMomentum is the book's Momentum (momentum 0.9):
// v = momentum·v − lr·grad; params += v.
func newBookMomentum(lr float64) bookRule {
	var v point
	return func(p, g point) point {
		v = point{0.9*v.x - lr*g.x, 0.9*v.y - lr*g.y}
		return point{p.x + v.x, p.y + v.y}
	}
}

// newBookAdaGrad is the book's AdaGrad: h += grad²;
// params -= lr·grad/(√h + 1e-7).
func newBookAdaGrad(lr float64) bookRule {
	var h point
	return func(p, g point) point {
		h = point{h.x + g.x*g.x, h.y + g.y*g.y}
		return point{p.x - lr*g.x/(math.Sqrt(h.x)+1e-7), p.y - lr*g.y/(math.Sqrt(h.y)+1e-7)}
	}
}

// newBookAdam is the book's Adam (β₁ 0.9, β₂ 0.999): iter += 1;
// lr_t = lr·√(1 − β₂^iter)/(1 − β₁^iter); m += (1 − β₁)(grad − m);
// v += (1 − β₂)(grad² − v); params -= lr_t·m/(√v + 1e-7).
func newBookAdam(lr float64) bookRule {
	const b1, b2 = 0.9, 0.999
	var m, v point
	iter := 0
	return func(p, g point) point {
		iter++
		lrt := lr * math.Sqrt(1-math.Pow(b2, float64(iter))) / (1 - math.Pow(b1, float64(iter)))
		m = point{m.x + (1-b1)*(g.x-m.x), m.y + (1-b1)*(g.y-m.y)}
		v = point{v.x + (1-b2)*(g.x*g.x-v.x), v.y + (1-b2)*(g.y*g.y-v.y)}
		return point{p.x - lrt*m.x/(math.Sqrt(v.x)+1e-7), p.y - lrt*m.y/(math.Sqrt(v.y)+1e-7)}
	}
}

// fGrid is f sampled on the book's grid, x in [-10, 10), y in [-5, 5),
// every 0.1 (the book: every 0.01), for the contour lines.
type fGrid struct{}

func (fGrid) Dims() (c, r int)     { return 200, 100 }
func (fGrid) X(c int) float64      { return -10 + 0.1*float64(c) }
func (fGrid) Y(r int) float64      { return -5 + 0.1*float64(r) }
func (g fGrid) Z(c, r int) float64 { return f(g.X(c), g.Y(r)) }

// levels are the contour values drawn; the book masks f > 7 and lets
// matplotlib choose its levels.
var levels = []float64{0.25, 0.5, 1, 2, 3, 4, 5, 6, 7}

// pathPlot is one subplot of the figure: the contour lines, tapenet's path
// as red dots joined by a line (the book's 'o-', color "red"), the book's
// rule as a thin black line, and the minimum marked by a "+".
func pathPlot(title string, ours, book []point) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text, p.Y.Label.Text = "x", "y"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -10, 10, -10, 10
	c := plotter.NewContour(fGrid{}, levels, palette.Rainbow(len(levels), palette.Blue, palette.Red, 1, 0.8, 1))
	p.Add(c)
	red := color.RGBA{0xff, 0, 0, 0xff}
	l, s, err := plotter.NewLinePoints(xys(ours))
	if err != nil {
		return nil, fmt.Errorf("plot %s: %w", title, err)
	}
	l.Color, s.Color, s.Shape, s.Radius = red, red, draw.CircleGlyph{}, vg.Points(2.5)
	bl, err := plotter.NewLine(xys(book))
	if err != nil {
		return nil, fmt.Errorf("plot %s: %w", title, err)
	}
	bl.Color, bl.Width = color.Black, vg.Points(0.6)
	bl.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
	minimum, err := plotter.NewScatter(plotter.XYs{{X: 0, Y: 0}})
	if err != nil {
		return nil, fmt.Errorf("plot %s: %w", title, err)
	}
	minimum.Shape, minimum.Radius = draw.PlusGlyph{}, vg.Points(5)
	p.Add(l, s, bl, minimum)
	p.Legend.Add("tapenet", l, s)
	p.Legend.Add("book's rule", bl)
	p.Legend.Top = true
	return p, nil
}

func xys(path []point) plotter.XYs {
	xy := make(plotter.XYs, len(path))
	for i, q := range path {
		xy[i] = plotter.XY{X: q.x, Y: q.y}
	}
	return xy
}
