package imageprep

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/internal/testutil"
)

// canvas returns a w x h RGBA image filled with bg.
func canvas(w, h int, bg color.Color) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, bg)
		}
	}
	return m
}

// rect paints r in c.
func rect(m *image.RGBA, r image.Rectangle, c color.Color) *image.RGBA {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			m.Set(x, y, c)
		}
	}
	return m
}

// stats describes a framed image: its ink's bounding box, centre of mass
// and brightest pixel.
type stats struct {
	box      image.Rectangle
	cx, cy   float64
	peak     uint8
	inkTotal float64
}

func measure(g *image.Gray) stats {
	var s stats
	s.box = image.Rectangle{}
	var mx, my float64
	for y := range Side {
		for x := range Side {
			v := g.Pix[y*Side+x]
			if v == 0 {
				continue
			}
			s.box = s.box.Union(image.Rect(x, y, x+1, y+1))
			s.peak = max(s.peak, v)
			s.inkTotal += float64(v)
			mx += float64(v) * float64(x)
			my += float64(v) * float64(y)
		}
	}
	if s.inkTotal > 0 {
		s.cx, s.cy = mx/s.inkTotal, my/s.inkTotal
	}
	return s
}

func encode(t testing.TB, format string, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	case "gif":
		err = gif.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var (
	white = color.RGBA{255, 255, 255, 255}
	black = color.RGBA{0, 0, 0, 255}
)

func TestFrame(t *testing.T) {
	// A "7"-ish shape: a bar on top and a stem, 60 x 100 pixels of ink.
	seven := func(bg, ink color.Color, w, h int) *image.RGBA {
		m := canvas(w, h, bg)
		rect(m, image.Rect(40, 30, 100, 45), ink)
		return rect(m, image.Rect(85, 30, 100, 130), ink)
	}
	for _, test := range []struct {
		name     string
		img      image.Image
		opt      Options
		w, h     int     // size of the ink's box in the result
		tol      float64 // how far the centre of mass may be from (14, 14)
		wantBlur bool    // anti-aliased: some pixels between 0 and 255
	}{
		{name: "black on white", img: seven(white, black, 200, 200), w: 12, h: 20, tol: 0.5, wantBlur: true},
		{name: "white on black", img: seven(black, white, 200, 200), w: 12, h: 20, tol: 0.5, wantBlur: true},
		{name: "blue ink on yellow paper", img: seven(color.RGBA{250, 240, 180, 255}, color.RGBA{20, 30, 140, 255}, 300, 160), w: 12, h: 20, tol: 0.5, wantBlur: true},
		{name: "grey ink on grey", img: seven(color.RGBA{170, 170, 170, 255}, color.RGBA{90, 90, 90, 255}, 150, 150), w: 12, h: 20, tol: 0.5, wantBlur: true},
		{name: "forced polarity", img: seven(black, white, 200, 200), opt: Options{Polarity: LightOnDark}, w: 12, h: 20, tol: 0.5, wantBlur: true},
		{name: "wide bar", img: rect(canvas(500, 300, white), image.Rect(50, 100, 450, 180), black), w: 20, h: 4, tol: 0.5},
		{name: "tall thin line", img: rect(canvas(100, 400, white), image.Rect(45, 10, 55, 390), black), w: 1, h: 20, tol: 0.5},
		{name: "tiny dot upscaled", img: rect(canvas(20, 20, black), image.Rect(9, 9, 12, 12), white), w: 20, h: 20, tol: 0.5},
		{name: "speck far away is ignored", img: rect(seven(white, black, 400, 400), image.Rect(390, 390, 391, 391), black), w: 12, h: 20, tol: 0.5, wantBlur: true},
		{name: "a sub-image away from the origin", img: seven(white, black, 300, 300).SubImage(image.Rect(20, 10, 220, 210)), w: 12, h: 20, tol: 0.5, wantBlur: true},
		{name: "ink touching the border", img: rect(canvas(100, 100, white), image.Rect(0, 0, 30, 100), black), w: 6, h: 20, tol: 0.5},
	} {
		t.Run(test.name, func(t *testing.T) {
			g, err := Frame(test.img, test.opt)
			if err != nil {
				t.Fatal(err)
			}
			if b := g.Bounds(); b != image.Rect(0, 0, Side, Side) {
				t.Fatalf("bounds %v, want 28x28", b)
			}
			s := measure(g)
			if s.peak != 255 {
				t.Errorf("brightest pixel %d, want 255", s.peak)
			}
			if dw, dh := s.box.Dx(), s.box.Dy(); dw < test.w-1 || dw > test.w+1 || dh < test.h-1 || dh > test.h+1 {
				t.Errorf("ink box %dx%d, want about %dx%d", dw, dh, test.w, test.h)
			}
			if s.box.Dx() > Box+1 || s.box.Dy() > Box+1 {
				t.Errorf("ink box %v exceeds the 20x20 fit", s.box)
			}
			if math.Abs(s.cx-Centre) > test.tol || math.Abs(s.cy-Centre) > test.tol {
				t.Errorf("centre of mass (%.2f, %.2f), want (14, 14)", s.cx, s.cy)
			}
			if !test.wantBlur {
				return
			}
			mid := 0
			for _, v := range g.Pix {
				if v > 0 && v < 255 {
					mid++
				}
			}
			if mid == 0 {
				t.Error("no anti-aliased pixels")
			}
		})
	}
}

// Both polarities of one drawing give the same frame.
func TestFramePolarityDetected(t *testing.T) {
	ink := image.Rect(30, 20, 50, 80)
	dark, err := Frame(rect(canvas(100, 100, white), ink, black), Options{})
	if err != nil {
		t.Fatal(err)
	}
	light, err := Frame(rect(canvas(100, 100, black), ink, white), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dark.Pix, light.Pix) {
		t.Error("dark-on-light and light-on-dark drawings framed differently")
	}
	// Forcing the wrong polarity reads the paper as ink.
	wrong, err := Frame(rect(canvas(100, 100, white), ink, black), Options{Polarity: LightOnDark})
	if err == nil && bytes.Equal(wrong.Pix, dark.Pix) {
		t.Error("forced polarity ignored")
	}
}

// Transparent pixels are paper: black ink on a transparent canvas (a
// browser's canvas.toBlob) frames like black ink on white.
func TestFrameTransparent(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 120, 120)) // all transparent
	for y := 20; y < 100; y++ {
		for x := 50; x < 70; x++ {
			m.Set(x, y, color.NRGBA{0, 0, 0, 255})
		}
	}
	got, err := Frame(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := Frame(rect(canvas(120, 120, white), image.Rect(50, 20, 70, 100), black), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Pix, want.Pix) {
		t.Error("transparent background framed differently from white")
	}
}

func TestFrameBlank(t *testing.T) {
	noisy := canvas(64, 64, white)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noisy.Pix {
		if i%4 != 3 {
			noisy.Pix[i] = uint8(240 + rng.IntN(16)) // paper grain, 6% of full scale
		}
	}
	for _, test := range []struct {
		name string
		img  image.Image
	}{
		{"white", canvas(50, 50, white)},
		{"black", canvas(50, 50, black)},
		{"grey", canvas(50, 50, color.RGBA{128, 128, 128, 255})},
		{"paper grain", noisy},
		{"fully transparent", image.NewNRGBA(image.Rect(0, 0, 30, 30))},
		{"no pixels", image.NewGray(image.Rect(0, 0, 0, 0))},
		{"nil", nil},
	} {
		t.Run(test.name, func(t *testing.T) {
			_, err := Frame(test.img, Options{})
			if !errors.Is(err, ErrBlank) {
				t.Fatalf("got %v, want ErrBlank", err)
			}
		})
	}
}

// Every encoding of one drawing decodes and frames to nearly the same
// digit (JPEG is lossy).
func TestDecodeFormats(t *testing.T) {
	img := rect(rect(canvas(140, 140, white), image.Rect(30, 30, 110, 45), black), image.Rect(90, 30, 105, 120), black)
	ref, err := Frame(img, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"png", "jpeg", "gif"} {
		t.Run(format, func(t *testing.T) {
			dec, err := Decode(bytes.NewReader(encode(t, format, img)))
			if err != nil {
				t.Fatal(err)
			}
			g, err := Frame(dec, Options{})
			if err != nil {
				t.Fatal(err)
			}
			diff := 0.0
			for i := range g.Pix {
				diff += math.Abs(float64(g.Pix[i]) - float64(ref.Pix[i]))
			}
			if diff /= float64(len(g.Pix)); diff > 3 {
				t.Errorf("mean difference %.2f grey levels from the PNG's frame", diff)
			}
		})
	}
}

// pngHeader returns the first bytes of a PNG that claims w x h pixels.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0 // 8-bit grey
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestDecodeLimited(t *testing.T) {
	data := encode(t, "png", canvas(100, 50, white))
	if _, err := DecodeLimited(bytes.NewReader(data), int64(len(data)), 5000); err != nil {
		t.Fatalf("at the limits: %v", err)
	}
	if _, err := DecodeLimited(bytes.NewReader(data), int64(len(data)), 4999); !errors.Is(err, ErrTooLarge) {
		t.Errorf("one pixel over: %v, want ErrTooLarge", err)
	}
	if _, err := DecodeLimited(bytes.NewReader(data), int64(len(data))-1, 5000); !errors.Is(err, ErrTooLarge) {
		t.Errorf("one byte over: %v, want ErrTooLarge", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := encode(t, "png", canvas(10, 10, white))
	for _, test := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"text", []byte("hello, this is not a picture"), ErrFormat},
		{"truncated PNG", good[:len(good)/2], ErrFormat},
		{"PNG header only", pngHeader(10, 10), ErrFormat},
		{"claims 100000 x 100000 pixels", pngHeader(100000, 100000), ErrTooLarge},
		{"more than MaxBytes", make([]byte, MaxBytes+1), ErrTooLarge},
		{"GIF header claiming 5000 x 5000", []byte("GIF89a\x88\x13\x88\x13\x00\x00\x00"), ErrFormat},
	} {
		t.Run(test.name, func(t *testing.T) {
			img, err := Decode(bytes.NewReader(test.data))
			if !errors.Is(err, test.want) {
				t.Fatalf("got %v, want %v", err, test.want)
			}
			if img != nil {
				t.Error("an image came with the error")
			}
		})
	}
}

// MNIST's own digits come back nearly as they were: they were made by
// this procedure, so framing one again changes it only by resampling.
func TestFrameMNISTRoundTrip(t *testing.T) {
	set, err := datasets.MNIST(datasets.Test, datasets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	var diff float64
	var shifted int
	for i := range n {
		orig, err := set.Gray(i)
		if err != nil {
			t.Fatal(err)
		}
		g, err := Frame(orig, Options{})
		if err != nil {
			t.Fatalf("digit %d: %v", i, err)
		}
		a, b := measure(orig), measure(g)
		if math.Abs(a.cx-b.cx) > 1 || math.Abs(a.cy-b.cy) > 1 {
			shifted++
		}
		for k := range g.Pix {
			diff += math.Abs(float64(g.Pix[k]) - float64(orig.Pix[k]))
		}
	}
	diff /= n * Side * Side
	t.Logf("mean difference from the original: %.2f grey levels; %d of %d moved by more than a pixel", diff, shifted, n)
	if diff > 12 {
		t.Errorf("mean difference %.2f grey levels, want at most 12", diff)
	}
	if shifted > n/20 {
		t.Errorf("%d of %d digits moved by more than a pixel", shifted, n)
	}
}

// Drawings made from MNIST digits at any scale and position frame back to
// digits centred like MNIST's.
func TestFrameDrawings(t *testing.T) {
	set, err := datasets.MNIST(datasets.Test, datasets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 50 {
		digit, _ := set.Gray(i)
		g, err := Frame(testutil.Drawing(digit, 280, rng), Options{})
		if err != nil {
			t.Fatalf("drawing %d: %v", i, err)
		}
		s := measure(g)
		if math.Abs(s.cx-Centre) > 0.5 || math.Abs(s.cy-Centre) > 0.5 {
			t.Errorf("drawing %d: centre of mass (%.2f, %.2f)", i, s.cx, s.cy)
		}
		if max(s.box.Dx(), s.box.Dy()) < Box-1 || max(s.box.Dx(), s.box.Dy()) > Box+1 {
			t.Errorf("drawing %d: ink box %v, want the longer side 20", i, s.box)
		}
	}
}

func TestValues(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 2, 2))
	copy(g.Pix, []uint8{0, 51, 255, 102})
	got := Values(g)
	want := []float32{0, 0.2, 1, 0.4}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("Values = %v, want %v", got, want)
		}
	}
	// A sub-image reads its own pixels only.
	sub := g.SubImage(image.Rect(1, 0, 2, 2)).(*image.Gray)
	if got := Values(sub); len(got) != 2 || got[0] != want[1] || got[1] != want[3] {
		t.Errorf("Values(sub-image) = %v", got)
	}
}

func FuzzDecodeFrame(f *testing.F) {
	img := rect(canvas(40, 30, white), image.Rect(10, 5, 20, 25), black)
	for _, format := range []string{"png", "jpeg", "gif"} {
		f.Add(encode(f, format, img))
	}
	f.Add(pngHeader(3, 3))
	f.Add([]byte("BM"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := decodeBytes(data, Limits{Pixels: 1 << 20}.orDefaults()) // a smaller limit than Decode's keeps the fuzzer fast
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error wraps neither ErrFormat nor ErrTooLarge: %v", err)
			}
			return
		}
		g, err := Frame(img, Options{})
		if err != nil {
			if !errors.Is(err, ErrBlank) {
				t.Fatalf("Frame: %v", err)
			}
			return
		}
		s := measure(g)
		if g.Bounds() != image.Rect(0, 0, Side, Side) || s.peak != 255 {
			t.Fatalf("frame %v with peak %d", g.Bounds(), s.peak)
		}
	})
}
