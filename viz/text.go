package viz

import (
	"image"
	"image/color"
	"image/draw"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

var (
	fontOnce      sync.Once
	regular, bold *opentype.Font
	fontErr       error
	facesMu       sync.Mutex
	faces         = map[faceKey]font.Face{}
)

type faceKey struct {
	size float64
	bold bool
}

// face returns the Go Regular (or Bold) face of the given pixel size.
func face(size float64, isBold bool) font.Face {
	fontOnce.Do(func() {
		if regular, fontErr = opentype.Parse(goregular.TTF); fontErr == nil {
			bold, fontErr = opentype.Parse(gobold.TTF)
		}
	})
	if fontErr != nil {
		panic("viz: embedded Go font: " + fontErr.Error()) // cannot happen: the font is compiled in
	}
	facesMu.Lock()
	defer facesMu.Unlock()
	k := faceKey{size, isBold}
	if f, ok := faces[k]; ok {
		return f
	}
	src := regular
	if isBold {
		src = bold
	}
	f, err := opentype.NewFace(src, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		panic("viz: font face: " + err.Error())
	}
	faces[k] = f
	return f
}

// textWidth returns the advance of s in pixels.
func textWidth(f font.Face, s string) int {
	return font.MeasureString(f, s).Ceil()
}

// drawText draws s centred horizontally on cx, its line box's top at y.
func drawText(dst draw.Image, f font.Face, s string, cx, top int, c color.Color) {
	m := f.Metrics()
	x := cx - textWidth(f, s)/2
	d := font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: f,
		Dot: fixed.P(x, top+m.Ascent.Ceil())}
	d.DrawString(s)
}

// drawTextLeft draws s starting at x, its line box's top at y.
func drawTextLeft(dst draw.Image, f font.Face, s string, x, top int, c color.Color) {
	m := f.Metrics()
	d := font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: f,
		Dot: fixed.P(x, top+m.Ascent.Ceil())}
	d.DrawString(s)
}

// lineHeight is the height of one line of text in f.
func lineHeight(f font.Face) int {
	m := f.Metrics()
	return m.Ascent.Ceil() + m.Descent.Ceil()
}

// drawTextUp draws s rotated a quarter turn anticlockwise (read bottom to
// top), centred vertically on cy, its line box's left at x.
func drawTextUp(dst draw.Image, f font.Face, s string, x, cy int, c color.Color) {
	w, h := textWidth(f, s), lineHeight(f)
	tmp := image.NewRGBA(image.Rect(0, 0, w, h))
	drawTextLeft(tmp, f, s, 0, 0, c)
	// (tx, ty) in tmp goes to (x+ty, cy+w/2-1-tx).
	for ty := 0; ty < h; ty++ {
		for tx := 0; tx < w; tx++ {
			p := tmp.RGBAAt(tx, ty)
			if p.A == 0 {
				continue
			}
			dx, dy := x+ty, cy+w/2-1-tx
			bg := dst.At(dx, dy)
			dst.Set(dx, dy, over(p, bg))
		}
	}
}

// over composites premultiplied src over dst.
func over(src color.RGBA, dst color.Color) color.Color {
	r, g, b, _ := dst.RGBA()
	a := uint32(src.A) * 0x101
	blend := func(s uint8, d uint32) uint8 {
		return uint8((uint32(s)*0x101 + d*(0xffff-a)/0xffff) >> 8)
	}
	return color.RGBA{blend(src.R, r), blend(src.G, g), blend(src.B, b), 0xff}
}
