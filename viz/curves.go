package viz

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Epoch is one point of a learning curve.
type Epoch struct {
	Epoch         int     // 1, 2, ...
	Loss          float64 // mean training loss over the epoch
	TrainAccuracy float64 // in [0, 1]
	TestAccuracy  float64 // in [0, 1]
	// ValidationAccuracy, in [0, 1], is drawn when CurvesOptions.Validation
	// is set.
	ValidationAccuracy float64
}

// CurvesOptions shape a learning-curves picture. The zero value is usable.
type CurvesOptions struct {
	// Title is an optional line above both panels.
	Title string
	// Width and Height of the picture in pixels (0: 1000 x 400).
	Width, Height int
	// Validation draws each epoch's ValidationAccuracy as a third curve.
	Validation bool
}

// Curve colors.
var (
	lossColor  = color.RGBA{0x8e, 0x44, 0xad, 0xff}
	trainColor = color.RGBA{0x21, 0x71, 0xb5, 0xff}
	testColor  = color.RGBA{0xe6, 0x55, 0x0d, 0xff}
	valColor   = color.RGBA{0x23, 0x8b, 0x45, 0xff}
)

// WriteCurves draws learning curves as a PNG to w: the training loss per
// epoch on the left, train and test accuracy per epoch on the right (and
// validation accuracy, with opt.Validation).
func WriteCurves(w io.Writer, epochs []Epoch, opt CurvesOptions) error {
	if len(epochs) == 0 {
		return errors.New("viz: no epochs to plot")
	}
	if opt.Width <= 0 {
		opt.Width = 1000
	}
	if opt.Height <= 0 {
		opt.Height = 400
	}
	loss, train, test := make(plotter.XYs, len(epochs)), make(plotter.XYs, len(epochs)), make(plotter.XYs, len(epochs))
	val := make(plotter.XYs, len(epochs))
	for i, e := range epochs {
		for _, v := range []float64{e.Loss, e.TrainAccuracy, e.TestAccuracy, e.ValidationAccuracy} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("viz: epoch %d has a non-finite value %v", e.Epoch, v)
			}
		}
		x := float64(e.Epoch)
		loss[i] = plotter.XY{X: x, Y: e.Loss}
		train[i] = plotter.XY{X: x, Y: 100 * e.TrainAccuracy}
		test[i] = plotter.XY{X: x, Y: 100 * e.TestAccuracy}
		val[i] = plotter.XY{X: x, Y: 100 * e.ValidationAccuracy}
	}
	first, last := epochs[0].Epoch, epochs[len(epochs)-1].Epoch

	lp := newPanel("training loss", "epoch", "loss", first, last)
	if err := addLine(lp, loss, lossColor, "", false); err != nil {
		return err
	}
	lp.Y.Min = 0
	ap := newPanel("accuracy", "epoch", "accuracy (%)", first, last)
	lastEpoch := epochs[len(epochs)-1]
	if err := addLine(ap, train, trainColor, fmt.Sprintf("train %.2f%%", 100*lastEpoch.TrainAccuracy), false); err != nil {
		return err
	}
	if opt.Validation {
		if err := addLine(ap, val, valColor, fmt.Sprintf("validation %.2f%%", 100*lastEpoch.ValidationAccuracy), false); err != nil {
			return err
		}
	}
	if err := addLine(ap, test, testColor, fmt.Sprintf("test %.2f%%", 100*lastEpoch.TestAccuracy), true); err != nil {
		return err
	}
	ap.Legend.Top = false
	ap.Legend.Left = false
	ap.Legend.XOffs = -vg.Points(4)
	ap.Legend.YOffs = vg.Points(4)
	// Leave room for the legend under the highest curve.
	lo := math.Min(ap.Y.Min, ap.Y.Max)
	span := ap.Y.Max - lo
	ap.Y.Min = math.Max(0, lo-0.35*math.Max(span, 0.5))
	ap.Y.Max = math.Min(100, ap.Y.Max+0.1*math.Max(span, 0.5))
	if ap.Y.Max <= ap.Y.Min {
		ap.Y.Max = ap.Y.Min + 1
	}

	const dpi = 96
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(opt.Width)*vg.Inch/dpi, vg.Length(opt.Height)*vg.Inch/dpi),
		vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(c)
	if opt.Title != "" {
		t := plot.New().Title.TextStyle
		t.Font.Variant = "Sans"
		t.Font.Weight = xfont.WeightBold
		t.Font.Size = vg.Points(13)
		t.Color = Ink
		t.XAlign = draw.XCenter
		t.YAlign = draw.YTop
		mid := (dc.Min.X + dc.Max.X) / 2
		dc.FillText(t, vg.Point{X: mid, Y: dc.Max.Y - vg.Points(6)}, opt.Title)
		dc.Max.Y -= vg.Points(26)
	}
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(18), PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(10)}
	canvases := plot.Align([][]*plot.Plot{{lp, ap}}, tiles, dc)
	lp.Draw(canvases[0][0])
	ap.Draw(canvases[0][1])
	_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
	return err
}

func newPanel(title, x, y string, first, last int) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(12)
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.X.Tick.Marker = intTicks{}
	p.Y.Tick.Marker = shortTicks{}
	for _, t := range []*text.Style{&p.Title.TextStyle, &p.X.Label.TextStyle, &p.Y.Label.TextStyle,
		&p.X.Tick.Label, &p.Y.Tick.Label, &p.Legend.TextStyle} {
		t.Font.Variant = "Sans"
	}
	p.Title.TextStyle.Font.Weight = xfont.WeightBold
	p.Add(plotter.NewGrid())
	p.X.Min, p.X.Max = float64(first)-0.25, float64(last)+0.25
	if first == last {
		p.X.Min, p.X.Max = float64(first)-1, float64(first)+1
	}
	return p
}

func addLine(p *plot.Plot, xy plotter.XYs, c color.Color, name string, dashed bool) error {
	l, s, err := plotter.NewLinePoints(xy)
	if err != nil {
		return err
	}
	l.Color, l.Width = c, vg.Points(2)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
	}
	s.Color, s.Shape, s.Radius = c, draw.CircleGlyph{}, vg.Points(3)
	p.Add(l, s)
	if name != "" {
		p.Legend.Add(name, l, s)
	}
	return nil
}

// shortTicks are plot's default ticks labelled without trailing zeros.
type shortTicks struct{}

func (shortTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if l := ts[i].Label; strings.Contains(l, ".") && !strings.ContainsAny(l, "eE") {
			ts[i].Label = strings.TrimSuffix(strings.TrimRight(l, "0"), ".")
		}
	}
	return ts
}

// intTicks marks whole epochs, thinned to at most about 10 labels.
type intTicks struct{}

func (intTicks) Ticks(min, max float64) []plot.Tick {
	lo, hi := int(math.Ceil(min)), int(math.Floor(max))
	step := 1
	for (hi-lo)/step > 10 {
		switch {
		case step == 1:
			step = 2
		case step == 2:
			step = 5
		default:
			step *= 2
		}
	}
	var ts []plot.Tick
	for v := lo; v <= hi; v++ {
		if v%step == 0 || step == 1 {
			ts = append(ts, plot.Tick{Value: float64(v), Label: strconv.Itoa(v)})
		}
	}
	return ts
}
