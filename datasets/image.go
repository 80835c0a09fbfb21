package datasets

import (
	"fmt"
	"image"
	"math"
)

// Image returns sample i as an image, for showing it (the book's
// img_show): an *image.RGBA (opaque) for a colour sample of shape
// (3, rows, cols), channels in the order red, green, blue; otherwise the
// *image.Gray of Gray. Values in [0, 1] are taken as normalised
// (Options.Normalize) and scaled by 255; a sample with any value above 1 is
// taken as raw 0-255. Values are clamped.
func (s *Set) Image(i int) (image.Image, error) {
	px, c, rows, cols, err := s.sample(i)
	if err != nil {
		return nil, err
	}
	if c == 1 {
		return s.Gray(i)
	}
	scale := pixelScale(px)
	img := image.NewRGBA(image.Rect(0, 0, cols, rows))
	plane := rows * cols
	for k := 0; k < plane; k++ {
		for ch := 0; ch < 3; ch++ {
			img.Pix[4*k+ch] = toByte(px[ch*plane+k] * scale)
		}
		img.Pix[4*k+3] = 255
	}
	return img, nil
}

// Gray returns sample i as a grayscale image with MNIST's convention (0 is
// background, 255 is ink), as viz.Cell and imageprep take digits. The
// sample's shape tells the image's: (1, rows, cols) or (rows, cols), or a
// flat vector of a square number of values (784 is 28 x 28). A colour
// sample, (3, rows, cols), comes back as its luminance (ITU-R BT.601
// weights, as image/color's Gray model); Image gives it in colour. Values
// are scaled and clamped as by Image.
func (s *Set) Gray(i int) (*image.Gray, error) {
	px, c, rows, cols, err := s.sample(i)
	if err != nil {
		return nil, err
	}
	scale := pixelScale(px)
	g := image.NewGray(image.Rect(0, 0, cols, rows))
	plane := rows * cols
	for k := range g.Pix {
		if c == 1 {
			g.Pix[k] = toByte(px[k] * scale)
			continue
		}
		r, gr, b := px[k]*scale, px[plane+k]*scale, px[2*plane+k]*scale
		g.Pix[k] = toByte(0.299*clamp(r) + 0.587*clamp(gr) + 0.114*clamp(b))
	}
	return g, nil
}

// sample returns the values of sample i and its image size.
func (s *Set) sample(i int) (px []float32, channels, rows, cols int, err error) {
	if i < 0 || i >= s.Len() {
		return nil, 0, 0, 0, fmt.Errorf("image %d is outside the set of %d", i, s.Len())
	}
	channels, rows, cols, err = imageSize(s.SampleShape())
	if err != nil {
		return nil, 0, 0, 0, err
	}
	per := channels * rows * cols
	return s.Data()[i*per : (i+1)*per], channels, rows, cols, nil
}

// pixelScale is 255 for normalised values (all at most 1), else 1.
func pixelScale(px []float32) float32 {
	for _, v := range px {
		if v > 1 {
			return 1
		}
	}
	return 255
}

func clamp(v float32) float32 { return min(max(v, 0), 255) }

func toByte(v float32) uint8 { return uint8(math.Round(float64(clamp(v)))) }

// imageSize returns the channels, rows and columns of a sample shape.
func imageSize(shape []int) (channels, rows, cols int, err error) {
	switch {
	case len(shape) == 3 && (shape[0] == 1 || shape[0] == 3) && shape[1] > 0 && shape[2] > 0:
		return shape[0], shape[1], shape[2], nil
	case len(shape) == 2 && shape[0] > 0 && shape[1] > 0:
		return 1, shape[0], shape[1], nil
	case len(shape) == 1:
		side := int(math.Round(math.Sqrt(float64(shape[0]))))
		if side*side == shape[0] && side > 0 {
			return 1, side, side, nil
		}
	}
	return 0, 0, 0, fmt.Errorf("samples of shape %v are not images (want (1, rows, cols), (3, rows, cols), (rows, cols) or a square number of values)", shape)
}
