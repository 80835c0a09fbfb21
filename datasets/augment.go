package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/tensor"
)

// Shift returns a copy of the images x, each moved by its own random
// offset of -max to +max pixels along each axis (drawn from rng, so a
// seeded generator gives the same copy), with zeros shifted in: the classic
// augmentation for MNIST. x is (N, channels, rows, cols), or (N, side²)
// flattened square images.
func Shift(x *tensor.Dense, max int, rng *rand.Rand) (*tensor.Dense, error) {
	src, ok := x.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("shift: images are %v, want float32", x.Dtype())
	}
	shape := x.Shape()
	var n, c, h, w int
	switch len(shape) {
	case 4:
		n, c, h, w = shape[0], shape[1], shape[2], shape[3]
	case 2:
		side := int(math.Round(math.Sqrt(float64(shape[1]))))
		if side*side != shape[1] {
			return nil, fmt.Errorf("shift: flattened images of %d values are not square", shape[1])
		}
		n, c, h, w = shape[0], 1, side, side
	default:
		return nil, fmt.Errorf("shift: images of shape %v, want (N, C, H, W) or (N, side²)", shape)
	}
	if max < 0 {
		return nil, fmt.Errorf("shift: negative maximum %d", max)
	}
	dst := make([]float32, len(src))
	plane := h * w
	for i := 0; i < n; i++ {
		dy, dx := rng.IntN(2*max+1)-max, rng.IntN(2*max+1)-max
		for ch := 0; ch < c; ch++ {
			s := src[(i*c+ch)*plane : (i*c+ch+1)*plane]
			d := dst[(i*c+ch)*plane : (i*c+ch+1)*plane]
			for r := 0; r < h; r++ {
				sr := r - dy
				if sr < 0 || sr >= h {
					continue
				}
				for col := 0; col < w; col++ {
					if sc := col - dx; sc >= 0 && sc < w {
						d[r*w+col] = s[sr*w+sc]
					}
				}
			}
		}
	}
	return tensor.New(tensor.WithShape(shape.Clone()...), tensor.WithBacking(dst)), nil
}
