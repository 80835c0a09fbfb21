package imageprep

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // register GIF
	_ "image/jpeg" // register JPEG
	_ "image/png"  // register PNG
	"io"
	"math"
	"slices"

	_ "golang.org/x/image/bmp"  // register BMP
	"golang.org/x/image/draw"   // Catmull-Rom resampling
	_ "golang.org/x/image/webp" // register WebP
)

// Geometry of the result, as in MNIST.
const (
	Side   = 28 // the result is Side x Side pixels
	Box    = 20 // the ink is scaled to fit a Box x Box square
	Centre = 14 // the ink's centre of mass lands on pixel (Centre, Centre)
)

// Thresholds of Frame, as fractions of full scale.
const (
	// MinContrast is the least difference between ink and background for
	// an image not to be blank (about 25 grey levels of 255).
	MinContrast = 0.1
	// NoiseFloor is the fraction of the strongest ink below which a pixel
	// is background.
	NoiseFloor = 0.15
	// speckMass is the share of the ink that specks apart from the rest
	// (beyond an empty row or column) may hold and still be cropped away.
	speckMass = 0.01
)

// Limits of Decode.
const (
	MaxBytes  = 32 << 20 // encoded bytes read at most
	MaxPixels = 40 << 20 // width x height at most (a 40-megapixel photo)
)

// Errors of Decode and Frame, wrapped with details; test with errors.Is.
var (
	ErrFormat   = errors.New("not a PNG, JPEG, GIF, BMP or WebP image")
	ErrTooLarge = errors.New("image too large")
	ErrBlank    = errors.New("image is blank: no ink stands out from the background")
)

// Polarity says how ink differs from the background.
type Polarity int

// Polarities. Auto decides from the border of the image.
const (
	Auto        Polarity = iota // light background: dark ink; dark background: light ink
	DarkOnLight                 // dark ink on a light background (a pen on paper)
	LightOnDark                 // light ink on a dark background (MNIST itself)
)

// String returns the polarity's name.
func (p Polarity) String() string {
	switch p {
	case Auto:
		return "auto"
	case DarkOnLight:
		return "dark-on-light"
	case LightOnDark:
		return "light-on-dark"
	}
	return fmt.Sprintf("Polarity(%d)", int(p))
}

// Options tune Frame; the zero value detects the polarity.
type Options struct {
	Polarity Polarity
}

// Decode reads an encoded image (PNG, JPEG, GIF's first frame, BMP or
// WebP) of at most MaxBytes bytes and MaxPixels pixels; see DecodeLimited.
func Decode(r io.Reader) (image.Image, error) {
	return DecodeLimited(r, MaxBytes, MaxPixels)
}

// DecodeLimited reads an encoded image of at most maxBytes bytes and
// maxPixels pixels (a server takes fewer than a command). The image's size
// is read from its header and checked before the pixels are decoded, so a
// small file that claims a huge image costs nothing. A decoder that panics
// on hostile bytes is reported as ErrFormat, never as a panic.
func DecodeLimited(r io.Reader, maxBytes, maxPixels int64) (image.Image, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes of data", ErrTooLarge, maxBytes)
	}
	return decodeBytes(data, maxPixels)
}

// DecodeBytes is Decode over bytes already in memory.
func DecodeBytes(data []byte) (image.Image, error) {
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes of data", ErrTooLarge, MaxBytes)
	}
	return decodeBytes(data, MaxPixels)
}

func decodeBytes(data []byte, maxPixels int64) (img image.Image, err error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: no data", ErrFormat)
	}
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("%w: the decoder failed: %v", ErrFormat, p)
		}
	}()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, decodeErr(err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: %s of %dx%d pixels", ErrFormat, format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, fmt.Errorf("%w: %s of %dx%d pixels (at most %d)", ErrTooLarge, format, cfg.Width, cfg.Height, maxPixels)
	}
	img, _, err = image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, format, err)
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, fmt.Errorf("%w: %s header says %dx%d, pixels are %dx%d", ErrFormat, format, cfg.Width, cfg.Height, b.Dx(), b.Dy())
	}
	return img, nil
}

func decodeErr(err error) error {
	if errors.Is(err, image.ErrFormat) {
		return ErrFormat
	}
	return fmt.Errorf("%w: %v", ErrFormat, err)
}

// Frame turns img into MNIST's framing: a Side x Side grey image, ink white
// on black, scaled to fit Box x Box and centred on its centre of mass (see
// the package doc for each step). An image with no ink is ErrBlank.
func Frame(img image.Image, opt Options) (*image.Gray, error) {
	if img == nil {
		return nil, fmt.Errorf("%w: no image", ErrBlank)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("%w: the image has no pixels", ErrBlank)
	}
	if int64(w)*int64(h) > MaxPixels {
		return nil, fmt.Errorf("%w: %dx%d pixels (at most %d megapixels)", ErrTooLarge, w, h, MaxPixels>>20)
	}
	lum := luma(img)
	bg := border(lum, w, h)
	pol := opt.Polarity
	if pol == Auto {
		pol = LightOnDark
		if bg > 0.5 {
			pol = DarkOnLight
		}
	}
	// Ink: the distance from the background level towards the ink's side.
	ink := lum // reused in place
	peak := float32(0)
	for i, v := range lum {
		d := v - bg
		if pol == DarkOnLight {
			d = bg - v
		}
		d = max(d, 0)
		ink[i] = d
		peak = max(peak, d)
	}
	if peak < MinContrast {
		return nil, fmt.Errorf("%w (strongest ink %.0f of 255 grey levels from the background, %s)", ErrBlank, peak*255, pol)
	}
	for i, v := range ink {
		ink[i] = max((v/peak-NoiseFloor)/(1-NoiseFloor), 0)
	}
	box, ok := inkBox(ink, w, h)
	if !ok {
		return nil, ErrBlank
	}

	// Crop into a grey image and fit it into Box x Box.
	cw, ch := box.Dx(), box.Dy()
	src := image.NewGray(image.Rect(0, 0, cw, ch))
	for y := range ch {
		row := ink[(box.Min.Y+y)*w+box.Min.X:]
		for x := range cw {
			src.Pix[y*cw+x] = uint8(math.Round(float64(row[x] * 255)))
		}
	}
	scale := float64(Box) / float64(max(cw, ch))
	dw := min(max(int(math.Round(float64(cw)*scale)), 1), Box)
	dh := min(max(int(math.Round(float64(ch)*scale)), 1), Box)
	fit := image.NewGray(image.Rect(0, 0, dw, dh))
	draw.CatmullRom.Scale(fit, fit.Bounds(), src, src.Bounds(), draw.Src, nil)
	stretch(fit.Pix)

	// Centre of mass of the fitted ink, then paste it so that the centre
	// of mass lands on (Centre, Centre).
	var mass, mx, my float64
	for y := range dh {
		for x := range dw {
			v := float64(fit.Pix[y*dw+x])
			mass += v
			mx += v * float64(x)
			my += v * float64(y)
		}
	}
	if mass == 0 {
		return nil, ErrBlank
	}
	ox := Centre - int(math.Round(mx/mass))
	oy := Centre - int(math.Round(my/mass))
	out := image.NewGray(image.Rect(0, 0, Side, Side))
	for y := range dh {
		ty := oy + y
		if ty < 0 || ty >= Side {
			continue
		}
		for x := range dw {
			if tx := ox + x; tx >= 0 && tx < Side {
				out.Pix[ty*Side+tx] = fit.Pix[y*dw+x]
			}
		}
	}
	return out, nil
}

// Values returns the pixels of a grey image as the book's normalised
// inputs: row-major float32, pixel / 255.
func Values(g *image.Gray) []float32 {
	b := g.Bounds()
	out := make([]float32, 0, b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := g.Pix[g.PixOffset(b.Min.X, y):]
		for _, v := range row[:b.Dx()] {
			out = append(out, float32(v)/255)
		}
	}
	return out
}

// luma returns the brightness of every pixel of img in [0, 1], row-major,
// with transparent pixels composited onto white.
func luma(img image.Image) []float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]float32, w*h)
	switch m := img.(type) {
	case *image.Gray:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				out[y*w+x] = float32(row[x]) / 255
			}
		}
	case *image.YCbCr:
		// JPEG: Y is the luma already.
		for y := range h {
			for x := range w {
				out[y*w+x] = float32(m.Y[m.YOffset(b.Min.X+x, b.Min.Y+y)]) / 255
			}
		}
	case *image.NRGBA:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				p := row[4*x : 4*x+4]
				a := float32(p[3]) / 255
				l := (0.299*float32(p[0]) + 0.587*float32(p[1]) + 0.114*float32(p[2])) / 255
				out[y*w+x] = l*a + (1 - a)
			}
		}
	case *image.RGBA:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				p := row[4*x : 4*x+4] // premultiplied: over white, c + (1 - a)
				l := (0.299*float32(p[0]) + 0.587*float32(p[1]) + 0.114*float32(p[2])) / 255
				out[y*w+x] = l + (1 - float32(p[3])/255)
			}
		}
	default:
		for y := range h {
			for x := range w {
				// Premultiplied: over white, c + (1 - a).
				r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				l := (0.299*float32(r) + 0.587*float32(g) + 0.114*float32(bl)) / 0xffff
				out[y*w+x] = l + float32(0xffff-a)/0xffff
			}
		}
	}
	for i, v := range out {
		out[i] = min(max(v, 0), 1)
	}
	return out
}

// border returns the median brightness of the pixels on the image's edges:
// the background level.
func border(lum []float32, w, h int) float32 {
	edge := make([]float32, 0, 2*(w+h))
	edge = append(edge, lum[:w]...)
	edge = append(edge, lum[(h-1)*w:]...)
	for y := 1; y < h-1; y++ {
		edge = append(edge, lum[y*w], lum[y*w+w-1])
	}
	slices.Sort(edge)
	return edge[len(edge)/2]
}

// inkBox returns the bounding box of the ink, without specks (dust, a
// stray touch) apart from the rest that hold at most speckMass of it.
func inkBox(ink []float32, w, h int) (image.Rectangle, bool) {
	rows := make([]float64, h)
	cols := make([]float64, w)
	total := 0.0
	for y := range h {
		for x, v := range ink[y*w : (y+1)*w] {
			rows[y] += float64(v)
			cols[x] += float64(v)
		}
		total += rows[y]
	}
	if total == 0 {
		return image.Rectangle{}, false
	}
	x0, x1 := trim(cols, total*speckMass)
	y0, y1 := trim(rows, total*speckMass)
	if x0 >= x1 || y0 >= y1 {
		return image.Rectangle{}, false
	}
	return image.Rect(x0, y0, x1, y1), true
}

// trim returns the half-open range of lines that hold the ink, without
// runs of lines at either end that are cut off from the rest by empty lines
// and together hold at most budget.
func trim(mass []float64, budget float64) (int, int) {
	lo, hi := 0, len(mass)
	for spent := 0.0; ; {
		for lo < hi && mass[lo] == 0 {
			lo++
		}
		end, s := lo, 0.0
		for end < hi && mass[end] != 0 {
			s += mass[end]
			end++
		}
		if end == hi || spent+s > budget {
			break
		}
		lo, spent = end, spent+s
	}
	for spent := 0.0; ; {
		for hi > lo && mass[hi-1] == 0 {
			hi--
		}
		start, s := hi, 0.0
		for start > lo && mass[start-1] != 0 {
			s += mass[start-1]
			start--
		}
		if start == lo || spent+s > budget {
			break
		}
		hi, spent = start, spent+s
	}
	return lo, hi
}

// stretch scales pixels so that the brightest is 255, as in every MNIST
// digit (thin strokes fade when a large image is shrunk).
func stretch(pix []uint8) {
	peak := slices.Max(pix)
	if peak == 0 || peak == 255 {
		return
	}
	for i, v := range pix {
		pix[i] = uint8((int(v)*255 + int(peak)/2) / int(peak))
	}
}
