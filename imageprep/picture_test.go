package imageprep_test

import (
	"flag"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/imageprep"
	"github.com/tapenet/tapenet/internal/testutil"
)

var picture = flag.Bool("picture", false, "TestPicture: write docs/imageprep.png for the README")

// TestPicture draws, for three MNIST test digits, the drawing made from it
// (black on white, 280x280, random size and place) and the 28x28 that
// Frame makes of it, enlarged 8 times: the README's picture.
func TestPicture(t *testing.T) {
	set, err := datasets.MNIST(datasets.Test, datasets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const (
		side, pad, gap, big = 280, 16, 56, 28 * 8
		row                 = side + pad
	)
	digits := []int{0, 1, 2}
	width := pad + 3*(side+gap+big+pad)
	out := image.NewRGBA(image.Rect(0, 0, width, pad+side+pad))
	draw.Draw(out, out.Bounds(), image.NewUniform(color.RGBA{246, 247, 249, 255}), image.Point{}, draw.Src)
	rng := rand.New(rand.NewPCG(2, 8))
	for k, i := range digits {
		digit, _ := set.Gray(i)
		drawing := testutil.Drawing(digit, side, rng)
		g, err := imageprep.Frame(drawing, imageprep.Options{})
		if err != nil {
			t.Fatal(err)
		}
		x0 := pad + k*(side+gap+big+pad)
		border := image.Rect(x0-1, pad-1, x0+side+1, pad+side+1)
		draw.Draw(out, border, image.NewUniform(color.RGBA{200, 205, 212, 255}), image.Point{}, draw.Src)
		draw.Draw(out, image.Rect(x0, pad, x0+side, pad+side), drawing, image.Point{}, draw.Src)
		// An arrow.
		ay := pad + side/2
		for x := x0 + side + 12; x < x0+side+gap-12; x++ {
			for dy := -1; dy <= 1; dy++ {
				out.Set(x, ay+dy, color.RGBA{91, 100, 112, 255})
			}
		}
		for d := 0; d < 8; d++ {
			for dy := -d; dy <= d; dy++ {
				out.Set(x0+side+gap-12-8+(8-d), ay+dy, color.RGBA{91, 100, 112, 255})
			}
		}
		bx, by := x0+side+gap, pad+(side-big)/2
		for y := range big {
			for x := range big {
				out.Set(bx+x, by+y, g.GrayAt(x/8, y/8))
			}
		}
	}
	if !*picture {
		return
	}
	f, err := os.Create(filepath.Join("..", "docs", "imageprep.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, out); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
