package imageprep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif"  // register GIF
	_ "image/jpeg" // register JPEG
	_ "image/png"  // register PNG
	"io"
	"math"
	"slices"
	"strings"

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
	// MaxMemory bounds what decoding and framing one image allocate
	// (pixels x DecodeCost's bytes per pixel): 384 MiB, a 40-megapixel
	// JPEG's, or a 29-megapixel 16-bit RGBA PNG's.
	MaxMemory = 384 << 20
)

// formats are the image formats Decode reads, by the names the image
// package registers them under, and how a message lists them.
var formats = [...]string{"png", "jpeg", "gif", "bmp", "webp"}

// FormatList names the formats Decode reads, as messages list them: "PNG,
// JPEG, GIF, BMP or WebP". The CLI and the server both say this; a format
// some other package registers with the image package (TIFF, by
// gonum/plot's imports) is refused by both.
const FormatList = "PNG, JPEG, GIF, BMP or WebP"

// Formats returns the names of the formats Decode reads, as
// image.DecodeConfig reports them ("png", "jpeg", "gif", "bmp", "webp").
func Formats() []string { return slices.Clone(formats[:]) }

// Errors of Decode and Frame, wrapped with details; test with errors.Is.
var (
	ErrFormat   = errors.New("not a " + FormatList + " image")
	ErrTooLarge = errors.New("image too large")
	ErrBlank    = errors.New("image is blank: no ink stands out from the background")
	// ErrBusy is a Decoder's answer when no decode slot frees up before
	// the caller's context ends.
	ErrBusy = errors.New("too many images being decoded at once, retry later")
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

// Limits bound one decode. Zero fields take the package's MaxBytes,
// MaxPixels and MaxMemory.
type Limits struct {
	Bytes  int64 // encoded bytes at most
	Pixels int64 // width x height at most
	Memory int64 // bytes decoding and framing may allocate at most (see DecodeCost)
}

func (l Limits) orDefaults() Limits {
	if l.Bytes <= 0 {
		l.Bytes = MaxBytes
	}
	if l.Pixels <= 0 {
		l.Pixels = MaxPixels
	}
	if l.Memory <= 0 {
		l.Memory = MaxMemory
	}
	return l
}

// Decode reads an encoded image (PNG, JPEG, GIF's first frame, BMP or
// WebP) within the package's limits (MaxBytes, MaxPixels, MaxMemory).
func Decode(r io.Reader) (image.Image, error) {
	return DecodeWith(r, Limits{})
}

// DecodeLimited reads an encoded image of at most maxBytes bytes and
// maxPixels pixels, within MaxMemory; see DecodeWith.
func DecodeLimited(r io.Reader, maxBytes, maxPixels int64) (image.Image, error) {
	return DecodeWith(r, Limits{Bytes: maxBytes, Pixels: maxPixels})
}

// DecodeWith reads an encoded image within lim. The image's size and
// colour model are read from its header and checked before the pixels are
// decoded, so a small file that claims a huge image (or a 16-bit RGBA one
// that costs 8 bytes a pixel) costs nothing. A decoder that panics on
// hostile bytes is reported as ErrFormat, never as a panic.
func DecodeWith(r io.Reader, lim Limits) (image.Image, error) {
	lim = lim.orDefaults()
	data, err := io.ReadAll(io.LimitReader(r, lim.Bytes+1))
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	if int64(len(data)) > lim.Bytes {
		return nil, fmt.Errorf("%w: more than %d bytes of data", ErrTooLarge, lim.Bytes)
	}
	return decodeBytes(data, lim)
}

// DecodeBytes is Decode over bytes already in memory.
func DecodeBytes(data []byte) (image.Image, error) {
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes of data", ErrTooLarge, MaxBytes)
	}
	return decodeBytes(data, Limits{}.orDefaults())
}

// Header is what an image's header says: its format, size and what
// decoding and framing it will allocate.
type Header struct {
	Format        string // "png", "jpeg", ...
	Width, Height int
	Memory        int64 // bytes: Width x Height x DecodeCost
}

// ReadHeader reads the header of an encoded image (never its pixels) and
// returns its format, size and decoding cost. Formats other than
// FormatList's are ErrFormat.
func ReadHeader(data []byte) (h Header, err error) {
	if len(data) == 0 {
		return h, fmt.Errorf("%w: no data", ErrFormat)
	}
	defer func() {
		if p := recover(); p != nil {
			h, err = Header{}, fmt.Errorf("%w: the decoder failed: %v", ErrFormat, p)
		}
	}()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return h, decodeErr(err)
	}
	if !slices.Contains(formats[:], format) {
		return h, fmt.Errorf("%w: %s is not among them", ErrFormat, strings.ToUpper(format))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return h, fmt.Errorf("%w: %s of %dx%d pixels", ErrFormat, format, cfg.Width, cfg.Height)
	}
	px := int64(cfg.Width) * int64(cfg.Height)
	return Header{Format: format, Width: cfg.Width, Height: cfg.Height, Memory: px * DecodeCost(format, cfg.ColorModel, data)}, nil
}

// DecodeCost returns the bytes per pixel that decoding an image of this
// format and colour model (its header's, from image.DecodeConfig) and
// framing it allocate at most: the decoded image (1 byte a pixel for grey
// or a palette, 2 for 16-bit grey, 3 for JPEG's YCbCr at its widest, 4 for
// RGBA or CMYK, 8 for 16-bit RGBA), twice that for an interlaced PNG (the
// passes are decoded apart, then copied), JPEG's coefficients for a
// progressive JPEG (4 bytes per component), WebP's lossless pixel buffer
// (4 bytes), plus Frame's 5 (a float32 brightness and a cropped grey
// byte). data is the encoded image, read for the PNG interlace flag and
// JPEG's progressive marker.
func DecodeCost(format string, model color.Model, data []byte) int64 {
	var px int64
	components := int64(3)
	switch model {
	case color.GrayModel, color.AlphaModel:
		px, components = 1, 1
	case color.Gray16Model, color.Alpha16Model:
		px, components = 2, 1
	case color.YCbCrModel:
		px = 3
	case color.NYCbCrAModel:
		px, components = 4, 4
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		px, components = 4, 4
	case color.RGBA64Model, color.NRGBA64Model:
		px, components = 8, 4
	default:
		if _, ok := model.(color.Palette); ok {
			px, components = 1, 1
		} else {
			px = 8 // an unknown model: the widest
		}
	}
	switch format {
	case "png":
		// IHDR's interlace method is the file's 29th byte.
		if len(data) > 28 && data[28] == 1 {
			px *= 2
		}
	case "jpeg":
		if bytes.Contains(data, []byte{0xff, 0xc2}) { // SOF2: progressive
			px += 4 * components
		}
	case "webp":
		px += 4
	}
	return px + 5
}

func decodeBytes(data []byte, lim Limits) (img image.Image, err error) {
	h, err := ReadHeader(data)
	if err != nil {
		return nil, err
	}
	if px := int64(h.Width) * int64(h.Height); px > lim.Pixels {
		return nil, fmt.Errorf("%w: %s of %dx%d pixels (at most %d)", ErrTooLarge, h.Format, h.Width, h.Height, lim.Pixels)
	}
	if h.Memory > lim.Memory {
		return nil, fmt.Errorf("%w: %s of %dx%d pixels takes %d MiB to decode (at most %d MiB)", ErrTooLarge, h.Format, h.Width, h.Height, h.Memory>>20, lim.Memory>>20)
	}
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("%w: the decoder failed: %v", ErrFormat, p)
		}
	}()
	img, _, err = image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, h.Format, err)
	}
	if b := img.Bounds(); b.Dx() != h.Width || b.Dy() != h.Height {
		return nil, fmt.Errorf("%w: %s header says %dx%d, pixels are %dx%d", ErrFormat, h.Format, h.Width, h.Height, b.Dx(), b.Dy())
	}
	return img, nil
}

// Decoder decodes images within Limits, a bounded number at once: a
// server's uploads wait for a slot, so that concurrent decodes hold at most
// concurrent x Limits.Memory bytes. It is safe for concurrent use.
type Decoder struct {
	lim   Limits
	slots chan struct{}
}

// NewDecoder returns a Decoder within lim running at most concurrent
// decodes at once (at least 1).
func NewDecoder(lim Limits, concurrent int) *Decoder {
	return &Decoder{lim: lim.orDefaults(), slots: make(chan struct{}, max(concurrent, 1))}
}

// Limits returns the decoder's limits, defaults filled in.
func (d *Decoder) Limits() Limits { return d.lim }

// Decode decodes data once a slot is free; if ctx ends first it returns
// ErrBusy. Data over the limits is refused before waiting.
func (d *Decoder) Decode(ctx context.Context, data []byte) (image.Image, error) {
	if int64(len(data)) > d.lim.Bytes {
		return nil, fmt.Errorf("%w: more than %d bytes of data", ErrTooLarge, d.lim.Bytes)
	}
	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w (%d at once)", ErrBusy, cap(d.slots))
	}
	defer func() { <-d.slots }()
	return decodeBytes(data, d.lim)
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
	case *image.Gray16:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				out[y*w+x] = float32(uint16(row[2*x])<<8|uint16(row[2*x+1])) / 0xffff
			}
		}
	case *image.NRGBA64:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				p := row[8*x : 8*x+8]
				c := func(i int) float32 { return float32(uint16(p[i])<<8 | uint16(p[i+1])) }
				a := c(6) / 0xffff
				l := (0.299*c(0) + 0.587*c(2) + 0.114*c(4)) / 0xffff
				out[y*w+x] = l*a + (1 - a)
			}
		}
	case *image.RGBA64:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				p := row[8*x : 8*x+8] // premultiplied: over white, c + (1 - a)
				c := func(i int) float32 { return float32(uint16(p[i])<<8 | uint16(p[i+1])) }
				out[y*w+x] = (0.299*c(0)+0.587*c(2)+0.114*c(4))/0xffff + (1 - c(6)/0xffff)
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
