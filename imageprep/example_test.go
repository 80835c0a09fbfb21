package imageprep_test

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"

	"github.com/tapenet/tapenet/imageprep"
)

// A "1" drawn as a black bar on a white 300x200 canvas, off centre,
// becomes a white bar 20 pixels tall in the middle of a 28x28 frame.
func ExampleFrame() {
	canvas := image.NewRGBA(image.Rect(0, 0, 300, 200))
	draw.Draw(canvas, canvas.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(canvas, image.Rect(200, 20, 215, 170), image.NewUniform(color.Black), image.Point{}, draw.Src)

	g, err := imageprep.Frame(canvas, imageprep.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for y := 0; y < imageprep.Side; y += 3 {
		for x := 9; x < 19; x++ {
			fmt.Print(map[bool]string{true: "#", false: "."}[g.GrayAt(x, y).Y > 127])
		}
		fmt.Println()
	}
	x := imageprep.Values(g)
	fmt.Println(len(x), x[14*28+14])
	// Output:
	// ..........
	// ..........
	// ....##....
	// ....##....
	// ....##....
	// ....##....
	// ....##....
	// ....##....
	// ..........
	// ..........
	// 784 1
}

// A blank page is an error, not a guess.
func ExampleFrame_blank() {
	page := image.NewGray(image.Rect(0, 0, 100, 100))
	draw.Draw(page, page.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	_, err := imageprep.Frame(page, imageprep.Options{})
	fmt.Println(err)
	// Output:
	// image is blank: no ink stands out from the background (strongest ink 0 of 255 grey levels from the background, dark-on-light)
}
