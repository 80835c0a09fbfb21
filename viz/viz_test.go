package viz

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// digit returns a 28x28 test digit: a bar of ink whose position depends on k.
func digit(k int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, 28, 28))
	for y := 4; y < 24; y++ {
		for x := 10 + k%5; x < 14+k%5; x++ {
			g.SetGray(x, y, color.Gray{255})
		}
	}
	return g
}

// decode round-trips img through PNG, as a reader of the file sees it.
func decode(t *testing.T, img image.Image) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := WritePNG(&buf, img); err != nil {
		t.Fatal(err)
	}
	out, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func lum(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	return (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)) / 257
}

// count returns the number of pixels of r darker than below.
func count(img image.Image, r image.Rectangle, below float64) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if lum(img.At(x, y)) < below {
				n++
			}
		}
	}
	return n
}

func TestGrid(t *testing.T) {
	for _, tc := range []struct {
		name               string
		cells              int
		opt                GridOptions
		wantCols, wantRows int
	}{
		{"one", 1, GridOptions{}, 1, 1},
		{"full rows", 12, GridOptions{Columns: 4}, 4, 3},
		{"last row partial", 10, GridOptions{Columns: 4, Scale: 2}, 4, 3},
		{"default columns", 25, GridOptions{Title: "a title"}, 10, 3},
		{"fewer cells than columns", 3, GridOptions{Columns: 8, Scale: 1}, 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cells := make([]Cell, tc.cells)
			for i := range cells {
				cells[i] = Cell{Digit: digit(i), Caption: string(rune('0' + i%10))}
			}
			src, err := Grid(cells, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			img := decode(t, src)
			l, err := GridLayout(cells, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds() != l.Bounds {
				t.Fatalf("picture %v, layout says %v", img.Bounds(), l.Bounds)
			}
			if l.Columns != tc.wantCols || l.Rows != tc.wantRows {
				t.Fatalf("grid %dx%d, want %dx%d", l.Columns, l.Rows, tc.wantCols, tc.wantRows)
			}
			scale := tc.opt.Scale
			if scale == 0 {
				scale = 3
			}
			if d := l.Digits[0]; d.Dx() != 28*scale || d.Dy() != 28*scale {
				t.Fatalf("digit cell %v, want %dx%d", d, 28*scale, 28*scale)
			}
			// The background is white.
			if c := lum(img.At(0, 0)); c < 254.5 {
				t.Fatalf("corner luminance %v, want white", c)
			}
			// Scan every slot of the grid: exactly the cells have ink, in
			// their place, and a caption under them.
			stepX, stepY := l.Digits[0].Dx()+cellGap, l.Digits[0].Dy()+rowGap
			if l.Columns > 1 {
				stepX = l.Digits[1].Min.X - l.Digits[0].Min.X
			}
			if l.Rows > 1 {
				stepY = l.Digits[l.Columns].Min.Y - l.Digits[0].Min.Y
			}
			inked := 0
			for r := range l.Rows {
				for c := range l.Columns {
					slot := l.Digits[0].Add(image.Pt(c*stepX, r*stepY))
					ink := count(img, slot, 128)
					if ink == 0 {
						continue
					}
					inked++
					if want := 20 * 4 * scale * scale; ink != want {
						t.Errorf("slot (%d,%d) has %d ink pixels, want %d", r, c, ink, want)
					}
					capt := l.Captions[r*l.Columns+c]
					if capt.Min.Y < slot.Max.Y || count(img, capt, 200) == 0 {
						t.Errorf("cell (%d,%d): no caption under the digit in %v", r, c, capt)
					}
				}
			}
			if inked != tc.cells {
				t.Fatalf("%d slots have ink, want %d", inked, tc.cells)
			}
			found := FindDigits(img)
			if len(found) != tc.cells {
				t.Fatalf("FindDigits found %d digits, want %d", len(found), tc.cells)
			}
			for i, r := range found {
				if r != l.Digits[i] {
					t.Fatalf("FindDigits: digit %d at %v, layout says %v", i, r, l.Digits[i])
				}
			}
			if tc.opt.Title != "" && count(img, l.Title, 128) == 0 {
				t.Fatal("title line is blank")
			}
		})
	}
}

func TestGridErrors(t *testing.T) {
	small := image.NewGray(image.Rect(0, 0, 8, 8))
	for _, tc := range []struct {
		name  string
		cells []Cell
		opt   GridOptions
	}{
		{"nothing", nil, GridOptions{}},
		{"no digit", []Cell{{Caption: "x"}}, GridOptions{}},
		{"mixed sizes", []Cell{{Digit: digit(0)}, {Digit: small}}, GridOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Grid(tc.cells, tc.opt); err == nil {
				t.Fatal("no error")
			}
		})
	}
	// A title alone is a picture.
	img, err := Grid(nil, GridOptions{Title: "no mistakes"})
	if err != nil {
		t.Fatal(err)
	}
	if count(decode(t, img), img.Bounds(), 128) == 0 {
		t.Fatal("title-only picture is blank")
	}
}

func TestHeatMonotone(t *testing.T) {
	for _, big := range []int{1, 7, 1000, 100000} {
		prev := 256.0
		for c := 0; c <= big; c += max(1, big/500) {
			l := lum(Heat(c, big))
			if l > prev {
				t.Fatalf("max %d: count %d is lighter (%v) than a smaller count (%v)", big, c, l, prev)
			}
			if c > 0 && l >= 255 {
				t.Fatalf("max %d: count %d is white", big, c)
			}
			prev = l
		}
	}
	if Heat(0, 10) != (color.RGBA{255, 255, 255, 255}) {
		t.Fatal("zero is not white")
	}
}

func TestConfusion(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    [][]int
	}{
		{"2x2", [][]int{{50, 3}, {0, 47}}},
		{"3x3", [][]int{{9, 1, 0}, {2, 700, 5}, {0, 30, 1}}},
		{"10x10 diagonal", func() [][]int {
			m := make([][]int, 10)
			for i := range m {
				m[i] = make([]int, 10)
				m[i][i] = 900 + 10*i
				m[i][(i+1)%10] = i
			}
			return m
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Confusion(tc.m, ConfusionOptions{Title: "confusion"})
			if err != nil {
				t.Fatal(err)
			}
			img := decode(t, src)
			l, err := ConfusionLayoutOf(tc.m, ConfusionOptions{Title: "confusion"})
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds() != l.Bounds || len(l.Cells) != len(tc.m) {
				t.Fatalf("picture %v with %d rows, layout %v", img.Bounds(), len(l.Cells), l.Bounds)
			}
			type sample struct {
				n   int
				lum float64
			}
			var cells []sample
			for i, row := range tc.m {
				for j, v := range row {
					r := l.Cells[i][j]
					// The fill, just inside the cell's grid line; the
					// count is written in its middle.
					cells = append(cells, sample{v, lum(img.At(r.Min.X+3, r.Min.Y+3))})
					if count(img, r.Inset(r.Dx()/4), 250) == 0 && v != 0 {
						t.Errorf("cell (%d,%d): no count written", i, j)
					}
				}
			}
			for _, a := range cells {
				for _, b := range cells {
					if a.n < b.n && a.lum <= b.lum {
						t.Fatalf("count %d (luminance %v) is not lighter than count %d (%v)", a.n, a.lum, b.n, b.lum)
					}
					if a.n == b.n && a.lum != b.lum {
						t.Fatalf("count %d has two colors", a.n)
					}
				}
			}
		})
	}
}

func TestConfusionErrors(t *testing.T) {
	for name, m := range map[string][][]int{
		"empty":    nil,
		"ragged":   {{1, 2}, {3}},
		"negative": {{1, -2}, {3, 4}},
	} {
		if _, err := Confusion(m, ConfusionOptions{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Confusion([][]int{{1}}, ConfusionOptions{Labels: []string{"a", "b"}}); err == nil {
		t.Error("two labels for one class: no error")
	}
}

func TestWriteCurves(t *testing.T) {
	for _, tc := range []struct {
		name   string
		epochs []Epoch
		opt    CurvesOptions
	}{
		{"one epoch", []Epoch{{1, 0.5, 0.9, 0.88, 0}}, CurvesOptions{}},
		{"three epochs", []Epoch{{1, 0.6, 0.91, 0.9, 0}, {2, 0.27, 0.94, 0.92, 0}, {3, 0.21, 0.95, 0.93, 0}}, CurvesOptions{Title: "run"}},
		{"small", []Epoch{{1, 2.3, 0.1, 0.1, 0}, {2, 2.2, 0.2, 0.2, 0}}, CurvesOptions{Width: 500, Height: 250}},
		{"validation", []Epoch{{1, 0.6, 0.91, 0.9, 0.8}, {2, 0.27, 0.94, 0.92, 0.85}}, CurvesOptions{Validation: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteCurves(&buf, tc.epochs, tc.opt); err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(&buf)
			if err != nil {
				t.Fatal(err)
			}
			w, h := tc.opt.Width, tc.opt.Height
			if w == 0 {
				w, h = 1000, 400
			}
			if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
				t.Fatalf("picture %v, want %dx%d", b, w, h)
			}
			if lum(img.At(1, 1)) < 250 {
				t.Fatal("background is not white")
			}
			// Each curve's color is drawn: loss on the left half, train and
			// test (and validation, when asked) on the right.
			curves := []struct {
				col  color.RGBA
				left bool
			}{{lossColor, true}, {trainColor, false}, {testColor, false}}
			if tc.opt.Validation {
				curves = append(curves, curves[2])
				curves[3].col = valColor
			} else {
				for y := 0; y < img.Bounds().Dy(); y++ {
					for x := 0; x < img.Bounds().Dx(); x++ {
						if r, g, b, _ := img.At(x, y).RGBA(); uint8(r>>8) == valColor.R && uint8(g>>8) == valColor.G && uint8(b>>8) == valColor.B {
							t.Fatalf("validation color at (%d, %d) without Validation", x, y)
						}
					}
				}
			}
			for _, c := range curves {
				n, half := 0, img.Bounds().Dx()/2
				for y := 0; y < img.Bounds().Dy(); y++ {
					for x := 0; x < img.Bounds().Dx(); x++ {
						r, g, b, _ := img.At(x, y).RGBA()
						if uint8(r>>8) == c.col.R && uint8(g>>8) == c.col.G && uint8(b>>8) == c.col.B {
							if (x < half) != c.left {
								t.Fatalf("color %v at x=%d, on the wrong panel", c.col, x)
							}
							n++
						}
					}
				}
				if n < 20 {
					t.Fatalf("color %v drawn on %d pixels only", c.col, n)
				}

			}
		})
	}
	if err := WriteCurves(&bytes.Buffer{}, nil, CurvesOptions{}); err == nil {
		t.Fatal("no epochs: no error")
	}
}
