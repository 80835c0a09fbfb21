package bookex

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/tapenet/tapenet/cli"
)

// Series is one line of a plot.
type Series struct {
	Label  string
	Y      []float64 // Y[i] at x = i
	Dashed bool
}

// AccuracyPlot describes a figure like the book's Figure 4-12: accuracy
// (0 to 1) against epochs, one line per series, the legend at the lower
// right.
type AccuracyPlot struct {
	Title  string
	XLabel string // default "epochs"
	YLabel string // default "accuracy"
	Series []Series
}

var seriesColors = []color.RGBA{{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff}}

// WritePNG draws the plot as a PNG of 640×480 pixels to w.
func (a AccuracyPlot) WritePNG(w io.Writer) error {
	x, y := a.XLabel, a.YLabel
	if x == "" {
		x = "epochs"
	}
	if y == "" {
		y = "accuracy"
	}
	p, err := LinePlot(a.Title, x, y, a.Series, 0, 1)
	if err != nil {
		return err
	}
	p.Legend.Top, p.Legend.Left = false, false
	return WritePlots(w, [][]*plot.Plot{{p}}, 640, 480)
}

// LinePlot returns a plot of the series (Y[i] at x = i), one color each,
// over a grid, its y axis from ymin to ymax (the book's plt.ylim: lines
// are clipped to it), the legend at the upper right unless the caller
// moves it.
func LinePlot(title, xlabel, ylabel string, series []Series, ymin, ymax float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	p.Add(plotter.NewGrid())
	p.Y.Min, p.Y.Max = ymin, ymax
	for i, s := range series {
		xy := make(plotter.XYs, len(s.Y))
		for x, y := range s.Y {
			if math.IsNaN(y) || math.IsInf(y, 0) {
				return nil, fmt.Errorf("plot: %s has a non-finite value at %d", s.Label, x)
			}
			xy[x] = plotter.XY{X: float64(x), Y: y}
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, fmt.Errorf("plot: %s: %w", s.Label, err)
		}
		l.Color, l.Width = SeriesColor(i), vg.Points(1.5)
		if s.Dashed {
			l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		}
		p.Add(l)
		if s.Label != "" {
			p.Legend.Add(s.Label, l)
		}
	}
	p.Legend.Top, p.Legend.Left = true, false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(8), vg.Points(8)
	return p, nil
}

// SeriesColor is the i-th color of matplotlib's default cycle.
func SeriesColor(i int) color.RGBA { return seriesColors[i%len(seriesColors)] }

// WritePlots draws plots as rows of subplots (the book's plt.subplot) on a
// white PNG of width×height pixels to w. Every row has the same number of
// plots; a nil plot leaves its tile empty.
func WritePlots(w io.Writer, plots [][]*plot.Plot, width, height int) error {
	if len(plots) == 0 || len(plots[0]) == 0 {
		return fmt.Errorf("plot: no plots")
	}
	for i, row := range plots {
		if len(row) != len(plots[0]) {
			return fmt.Errorf("plot: row %d has %d plots, row 1 %d", i+1, len(row), len(plots[0]))
		}
	}
	const dpi = 96
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(width)*vg.Inch/dpi, vg.Length(height)*vg.Inch/dpi), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	dc := draw.Crop(draw.New(c), vg.Points(4), -vg.Points(10), vg.Points(4), -vg.Points(8))
	if len(plots) == 1 && len(plots[0]) == 1 {
		plots[0][0].Draw(dc)
	} else {
		t := draw.Tiles{Rows: len(plots), Cols: len(plots[0]), PadX: vg.Points(12), PadY: vg.Points(12)}
		canvases := plot.Align(plots, t, dc)
		for i, row := range plots {
			for j, p := range row {
				if p != nil {
					p.Draw(canvases[i][j])
				}
			}
		}
	}
	_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
	return err
}

// WriteFile writes a picture to path through write, creating the folder
// and replacing the file atomically (a failed run leaves nothing
// half-written).
func WriteFile(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create the folder of %s: %w", path, err)
	}
	return cli.WriteFile(path, write)
}

// CheckOut creates the folder of an output file named by a flag and checks
// that the file can be written there, before any long computation.
func CheckOut(flag, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("%s: create the folder of %s: %w", flag, path, err)
	}
	return cli.CheckWritable(flag, path)
}
