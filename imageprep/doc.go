// Package imageprep turns an image of a handwritten digit (a drawing, a
// scan, a photo of paper) into the 28x28 picture an MNIST model expects,
// the way LeCun's MNIST itself was made.
//
// # Framing
//
// Frame takes any image.Image, of any size, colour or grey:
//
//	img, err := imageprep.Decode(file)     // PNG, JPEG, GIF, BMP or WebP
//	g, err := imageprep.Frame(img, imageprep.Options{})
//	x := imageprep.Values(g)               // 784 float32 in [0, 1], row-major
//
// The steps, in order:
//
//  1. Grey: each pixel's luma (ITU-R 601 weights); transparent pixels are
//     composited onto white, as a browser shows them.
//  2. Polarity: the background is the median of the border pixels. A light
//     background means dark ink, which is inverted so that ink is white on
//     black (Options.Polarity forces either reading).
//  3. Contrast: ink is measured from the background level and stretched so
//     the darkest stroke is full white; values below NoiseFloor of that are
//     background (paper texture, JPEG ringing). An image whose ink differs
//     from its background by less than MinContrast is blank: ErrBlank.
//  4. Crop to the ink's bounding box, ignoring stray specks at its edges
//     (beyond an empty row or column) that hold at most 1% of the ink.
//  5. Scale to fit a 20x20 box, keeping the aspect ratio, with a
//     Catmull-Rom filter (golang.org/x/image/draw), which averages over the
//     source pixels when shrinking (anti-aliasing).
//  6. Paste into 28x28 so that the centre of mass of the ink falls on pixel
//     (14, 14), shifting by the rounded offset, as MNIST's digits are
//     (their mean centre of mass is (14.0, 14.0) in pixel indices).
//
// Values gives the result as the book's normalised inputs (pixel / 255),
// which is what tapenet's models are trained on.
//
// # Errors and bounds
//
// Decode wraps ErrFormat for bytes that are not a supported image (or that
// a decoder rejects; FormatList names the formats, the same for the CLI
// and the server) and ErrTooLarge for images over MaxPixels pixels, data
// over MaxBytes, or an image whose decoding would allocate more than
// MaxMemory: the header says the size and colour model, and DecodeCost the
// bytes a pixel costs (a 16-bit RGBA PNG 13, an 8-bit grey one 6), so a
// small file that decodes huge is refused before its pixels are read.
// DecodeWith takes other Limits; a Decoder also bounds how many decodes
// run at once (ErrBusy when no slot frees before the context ends). Frame
// returns ErrBlank for an image with no ink. Test with errors.Is.
package imageprep
