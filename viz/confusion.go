package viz

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"strconv"
)

// ConfusionOptions shape a confusion-matrix picture. The zero value is
// usable.
type ConfusionOptions struct {
	// Title is an optional line above the matrix.
	Title string
	// Labels name the classes (default: 0, 1, 2, ...).
	Labels []string
	// CellSize is the side of a cell in pixels (0: 46).
	CellSize int
}

// ConfusionLayout is where Confusion draws each part of its picture.
type ConfusionLayout struct {
	// Bounds is the size of the whole picture.
	Bounds image.Rectangle
	// Cells holds the rectangle of cell (true i, predicted j) at
	// Cells[i][j].
	Cells [][]image.Rectangle
}

// Heat returns the color of a cell holding count out of a largest count
// max: white for 0, deepening through blue to navy for max. The scale is
// logarithmic (log(1+count) / log(1+max)), so that the few mistakes show
// next to a diagonal of thousands; darker always means more.
func Heat(count, max int) color.RGBA {
	if count <= 0 || max <= 0 {
		return stops[0]
	}
	t := math.Log1p(float64(count)) / math.Log1p(float64(max))
	t = math.Min(math.Max(t, 0), 1)
	// At least a tint for any count above zero.
	t = 0.08 + 0.92*t
	seg := t * float64(len(stops)-1)
	i := min(int(seg), len(stops)-2)
	f := seg - float64(i)
	a, b := stops[i], stops[i+1]
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + f*(float64(y)-float64(x)))) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 0xff}
}

// stops is a white-to-navy ramp (ColorBrewer "Blues"), darker at every
// step in each channel.
var stops = []color.RGBA{
	{0xff, 0xff, 0xff, 0xff},
	{0xde, 0xeb, 0xf7, 0xff},
	{0x9e, 0xca, 0xe1, 0xff},
	{0x42, 0x92, 0xc6, 0xff},
	{0x21, 0x71, 0xb5, 0xff},
	{0x08, 0x30, 0x6b, 0xff},
}

func (o *ConfusionOptions) defaults(n int) error {
	if o.CellSize <= 0 {
		o.CellSize = 46
	}
	if o.Labels == nil {
		for i := range n {
			o.Labels = append(o.Labels, strconv.Itoa(i))
		}
	}
	if len(o.Labels) != n {
		return fmt.Errorf("viz: %d labels for %d classes", len(o.Labels), n)
	}
	return nil
}

func checkSquare(m [][]int) error {
	if len(m) == 0 {
		return errors.New("viz: empty confusion matrix")
	}
	for i, row := range m {
		if len(row) != len(m) {
			return fmt.Errorf("viz: confusion matrix row %d has %d columns, want %d", i, len(row), len(m))
		}
		for _, v := range row {
			if v < 0 {
				return fmt.Errorf("viz: negative count %d in row %d", v, i)
			}
		}
	}
	return nil
}

// layout computes the geometry; it also returns where the axis labels go.
func confusionLayout(m [][]int, opt ConfusionOptions) (l ConfusionLayout, titleY, axisY, gridX, gridY int) {
	n, cs := len(m), opt.CellSize
	lf, hf, tf := face(15, false), face(14, false), face(18, true)
	top := margin
	if opt.Title != "" {
		titleY = top
		top += lineHeight(tf) + rowGap
	}
	axisY = top
	top += lineHeight(lf) + 2 // "predicted"
	top += lineHeight(hf) + 4 // column labels
	labelW := 0
	for _, s := range opt.Labels {
		labelW = max(labelW, textWidth(hf, s))
	}
	left := margin + lineHeight(lf) + 6 + labelW + 8 // rotated "true", row labels
	gridX, gridY = left, top
	width := left + n*cs + margin
	if opt.Title != "" {
		width = max(width, 2*margin+textWidth(tf, opt.Title))
	}
	l.Bounds = image.Rect(0, 0, width, top+n*cs+margin)
	l.Cells = make([][]image.Rectangle, n)
	for i := range n {
		for j := range n {
			x, y := left+j*cs, top+i*cs
			l.Cells[i] = append(l.Cells[i], image.Rect(x, y, x+cs, y+cs))
		}
	}
	return l, titleY, axisY, gridX, gridY
}

// ConfusionLayoutOf returns the layout Confusion uses for m.
func ConfusionLayoutOf(m [][]int, opt ConfusionOptions) (ConfusionLayout, error) {
	if err := checkSquare(m); err != nil {
		return ConfusionLayout{}, err
	}
	if err := opt.defaults(len(m)); err != nil {
		return ConfusionLayout{}, err
	}
	l, _, _, _, _ := confusionLayout(m, opt)
	return l, nil
}

// Confusion draws a confusion matrix m (m[true][predicted] = count) as a
// heat map (see Heat) with the count written in every cell; rows are the
// true classes, columns the predicted ones. Zeros are written in light
// gray.
func Confusion(m [][]int, opt ConfusionOptions) (*image.RGBA, error) {
	if err := checkSquare(m); err != nil {
		return nil, err
	}
	if err := opt.defaults(len(m)); err != nil {
		return nil, err
	}
	l, titleY, axisY, gx, gy := confusionLayout(m, opt)
	n, cs := len(m), opt.CellSize
	img := image.NewRGBA(l.Bounds)
	draw.Draw(img, img.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)
	lf, hf, tf, nf := face(15, false), face(14, false), face(18, true), face(14, false)
	if opt.Title != "" {
		drawTextLeft(img, tf, opt.Title, margin, titleY, Ink)
	}
	drawText(img, lf, "predicted", gx+n*cs/2, axisY, subtle)
	drawTextUp(img, lf, "true", margin, gy+n*cs/2, subtle)
	for j, s := range opt.Labels {
		drawText(img, hf, s, gx+j*cs+cs/2, gy-lineHeight(hf)-4, Ink)
	}
	for i, s := range opt.Labels {
		drawTextLeft(img, hf, s, gx-8-textWidth(hf, s), gy+i*cs+(cs-lineHeight(hf))/2, Ink)
	}
	big := 0
	for _, row := range m {
		for _, v := range row {
			big = max(big, v)
		}
	}
	for i, row := range m {
		for j, v := range row {
			r := l.Cells[i][j]
			bg := Heat(v, big)
			draw.Draw(img, r, image.NewUniform(bg), image.Point{}, draw.Src)
			var fg color.Color = Ink
			switch {
			case v == 0:
				fg = color.RGBA{0xc0, 0xc0, 0xc0, 0xff}
			case luma(bg) < 140:
				fg = white
			}
			drawText(img, nf, strconv.Itoa(v), (r.Min.X+r.Max.X)/2, r.Min.Y+(cs-lineHeight(nf))/2, fg)
		}
	}
	// A thin grid over the cells.
	grid := color.RGBA{0xe4, 0xe4, 0xe4, 0xff}
	for k := 0; k <= n; k++ {
		for t := 0; t < n*cs; t++ {
			img.SetRGBA(gx+k*cs-boolInt(k == n), gy+t, grid)
			img.SetRGBA(gx+t, gy+k*cs-boolInt(k == n), grid)
		}
	}
	return img, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// luma is the perceived brightness of c, 0-255.
func luma(c color.RGBA) float64 {
	return 0.299*float64(c.R) + 0.587*float64(c.G) + 0.114*float64(c.B)
}
