package viz

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
)

// Cell is one picture of a grid: a grayscale digit and the caption drawn
// under it.
type Cell struct {
	// Digit holds the image with MNIST's convention: 0 is background and
	// 255 is ink. It is drawn inverted (dark ink on white) and upscaled.
	Digit *image.Gray
	// Caption is the line of text under the digit; it may be empty.
	Caption string
	// Color is the caption's color; nil means near-black.
	Color color.Color
}

// GridOptions shape a grid of digits. The zero value is usable.
type GridOptions struct {
	// Columns is the number of cells per row (0: min(number of cells, 10)).
	Columns int
	// Scale is the number of screen pixels per image pixel (0: 3).
	Scale int
	// Title is an optional line drawn above the grid.
	Title string
	// FontSize is the caption size in pixels (0: 15).
	FontSize float64
}

// Colors used by the pictures.
var (
	Ink        = color.RGBA{0x20, 0x20, 0x20, 0xff} // captions and titles
	Wrong      = color.RGBA{0xb0, 0x10, 0x20, 0xff} // captions of mistakes
	frame      = color.RGBA{0xd8, 0xd8, 0xd8, 0xff}
	white      = color.RGBA{0xff, 0xff, 0xff, 0xff}
	subtle     = color.RGBA{0x70, 0x70, 0x70, 0xff}
	margin     = 14 // outer margin, pixels
	cellGap    = 12 // horizontal space between cells
	rowGap     = 10 // vertical space between rows
	captionGap = 4  // between a digit and its caption
)

// Layout is where Grid draws each part of its picture.
type Layout struct {
	// Bounds is the size of the whole picture.
	Bounds image.Rectangle
	// Title is the title's line (empty when there is no title).
	Title image.Rectangle
	// Digits and Captions hold, for each cell in order, the rectangle of
	// the upscaled digit and of its caption line.
	Digits, Captions []image.Rectangle
	// Columns and Rows count the grid's cells across and down.
	Columns, Rows int
}

func (o GridOptions) withDefaults(n int) GridOptions {
	if o.Columns <= 0 {
		o.Columns = min(max(n, 1), 10)
	}
	if o.Scale <= 0 {
		o.Scale = 3
	}
	if o.FontSize <= 0 {
		o.FontSize = 15
	}
	return o
}

// GridLayout returns the layout Grid uses for cells.
func GridLayout(cells []Cell, opt GridOptions) (Layout, error) {
	if len(cells) == 0 && opt.Title == "" {
		return Layout{}, errors.New("viz: a grid needs a cell or a title")
	}
	var size image.Point
	for i, c := range cells {
		if c.Digit == nil {
			return Layout{}, fmt.Errorf("viz: cell %d has no digit", i)
		}
		if i == 0 {
			size = c.Digit.Bounds().Size()
		}
		if s := c.Digit.Bounds().Size(); s != size {
			return Layout{}, fmt.Errorf("viz: cell %d is %v, cell 0 is %v: all digits must have one size", i, s, size)
		}
	}
	opt = opt.withDefaults(len(cells))
	f := face(opt.FontSize, false)
	dw, dh := size.X*opt.Scale, size.Y*opt.Scale
	cw := dw
	for _, c := range cells {
		cw = max(cw, textWidth(f, c.Caption))
	}
	lh := lineHeight(f)
	ch := dh + captionGap + lh
	cols := min(opt.Columns, len(cells))
	rows := 0
	if cols > 0 {
		rows = (len(cells) + cols - 1) / cols
	}
	l := Layout{Columns: cols, Rows: rows}
	top := margin
	if opt.Title != "" {
		tf := face(opt.FontSize+3, true)
		l.Title = image.Rect(margin, top, margin+textWidth(tf, opt.Title), top+lineHeight(tf))
		top = l.Title.Max.Y + rowGap
	}
	width := 2*margin + cols*cw + max(cols-1, 0)*cellGap
	width = max(width, l.Title.Max.X+margin)
	height := top + rows*ch + max(rows-1, 0)*rowGap + margin
	if rows == 0 {
		height = l.Title.Max.Y + margin
	}
	l.Bounds = image.Rect(0, 0, width, height)
	for i := range cells {
		r, c := i/cols, i%cols
		x0 := margin + c*(cw+cellGap)
		y0 := top + r*(ch+rowGap)
		dx := x0 + (cw-dw)/2
		l.Digits = append(l.Digits, image.Rect(dx, y0, dx+dw, y0+dh))
		l.Captions = append(l.Captions, image.Rect(x0, y0+dh+captionGap, x0+cw, y0+ch))
	}
	return l, nil
}

// Grid draws cells in rows, each digit upscaled with its caption centred
// under it, on a white background. With a title, cells may be empty (the
// picture is then the title alone).
func Grid(cells []Cell, opt GridOptions) (*image.RGBA, error) {
	l, err := GridLayout(cells, opt)
	if err != nil {
		return nil, err
	}
	opt = opt.withDefaults(len(cells))
	img := image.NewRGBA(l.Bounds)
	draw.Draw(img, img.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)
	if opt.Title != "" {
		drawTextLeft(img, face(opt.FontSize+3, true), opt.Title, l.Title.Min.X, l.Title.Min.Y, Ink)
	}
	f := face(opt.FontSize, false)
	for i, c := range cells {
		d := l.Digits[i]
		drawFrame(img, d.Inset(-1), frame)
		drawDigit(img, d, c.Digit, opt.Scale)
		col := c.Color
		if col == nil {
			col = Ink
		}
		cr := l.Captions[i]
		drawText(img, f, c.Caption, (cr.Min.X+cr.Max.X)/2, cr.Min.Y, col)
	}
	return img, nil
}

// drawDigit paints g into r, inverted (ink dark), each pixel a
// scale x scale square.
func drawDigit(dst *image.RGBA, r image.Rectangle, g *image.Gray, scale int) {
	b := g.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			v := 255 - g.GrayAt(x, y).Y
			c := color.RGBA{v, v, v, 0xff}
			px := r.Min.X + (x-b.Min.X)*scale
			py := r.Min.Y + (y-b.Min.Y)*scale
			draw.Draw(dst, image.Rect(px, py, px+scale, py+scale), image.NewUniform(c), image.Point{}, draw.Src)
		}
	}
}

// drawFrame draws the one-pixel outline of r.
func drawFrame(dst *image.RGBA, r image.Rectangle, c color.RGBA) {
	for x := r.Min.X; x < r.Max.X; x++ {
		dst.SetRGBA(x, r.Min.Y, c)
		dst.SetRGBA(x, r.Max.Y-1, c)
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		dst.SetRGBA(r.Min.X, y, c)
		dst.SetRGBA(r.Max.X-1, y, c)
	}
}

// WritePNG encodes img as PNG to w.
func WritePNG(w io.Writer, img image.Image) error {
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	return enc.Encode(w, img)
}

// FindDigits scans a picture drawn by Grid (after a PNG round trip, say)
// and returns the rectangle of every digit, in reading order, found by
// the thin frame Grid draws around each. Tests use it to check a picture
// without knowing its captions.
func FindDigits(img image.Image) []image.Rectangle {
	b := img.Bounds()
	isFrame := func(x, y int) bool {
		if !(image.Pt(x, y).In(b)) {
			return false
		}
		r, g, bl, _ := img.At(x, y).RGBA()
		return uint8(r>>8) == frame.R && uint8(g>>8) == frame.G && uint8(bl>>8) == frame.B
	}
	var found []image.Rectangle
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if !isFrame(x, y) || isFrame(x-1, y) || isFrame(x, y-1) || !isFrame(x+1, y) || !isFrame(x, y+1) {
				continue
			}
			// A top-left corner: follow the top and left edges.
			x1 := x
			for isFrame(x1+1, y) {
				x1++
			}
			y1 := y
			for isFrame(x, y1+1) {
				y1++
			}
			if x1-x >= 3 && y1-y >= 3 && isFrame(x1, y1) {
				found = append(found, image.Rect(x+1, y+1, x1, y1))
			}
		}
	}
	return found
}
