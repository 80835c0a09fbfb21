package datasets

import (
	"fmt"
	"image"
	"math"
)

// Image returns sample i as a grayscale image with MNIST's convention (0 is
// background, 255 is ink), for showing it (the book's img_show). The
// sample's shape tells the image's: (1, rows, cols) or (rows, cols), or a
// flat vector of a square number of values (784 is 28 x 28). Values in
// [0, 1] are taken as normalised (Options.Normalize) and scaled by 255; a
// sample with any value above 1 is taken as raw 0-255. Values are clamped.
func (s *Set) Image(i int) (*image.Gray, error) {
	if i < 0 || i >= s.Len() {
		return nil, fmt.Errorf("image %d is outside the set of %d", i, s.Len())
	}
	rows, cols, err := imageSize(s.SampleShape())
	if err != nil {
		return nil, err
	}
	per := rows * cols
	px := s.Data()[i*per : (i+1)*per]
	scale := float32(255)
	for _, v := range px {
		if v > 1 {
			scale = 1
			break
		}
	}
	g := image.NewGray(image.Rect(0, 0, cols, rows))
	for k, v := range px {
		g.Pix[k] = uint8(math.Round(float64(min(max(v*scale, 0), 255))))
	}
	return g, nil
}

// imageSize returns the rows and columns of a one-channel sample shape.
func imageSize(shape []int) (rows, cols int, err error) {
	switch {
	case len(shape) == 3 && shape[0] == 1:
		return shape[1], shape[2], nil
	case len(shape) == 2:
		return shape[0], shape[1], nil
	case len(shape) == 1:
		side := int(math.Round(math.Sqrt(float64(shape[0]))))
		if side*side == shape[0] && side > 0 {
			return side, side, nil
		}
	}
	return 0, 0, fmt.Errorf("samples of shape %v are not one-channel images (want (1, rows, cols), (rows, cols) or a square number of values)", shape)
}
