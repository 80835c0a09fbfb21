// Package datasets loads labelled data as float32 tensors: IDX files,
// numpy archives (.npz) of samples and labels or regression targets, and
// the MNIST data set, which is embedded in the
// package (nothing is downloaded).
//
// # MNIST
//
// MNIST and LoadDir take the options of the book's load_mnist:
//
//	train, err := datasets.MNIST(datasets.Train, datasets.Options{Normalize: true, Flatten: true, OneHot: true})
//	// train.X (60000, 784) float32 in [0, 1], train.Labels, train.OneHot (60000, 10)
//
// Normalize divides pixels by 255 (else they keep their values 0-255),
// Flatten gives (N, 784) (else (N, 1, 28, 28)), OneHot fills Set.OneHot.
// LoadDir reads a folder of MNIST-format files (Fashion-MNIST has the same
// format), gzip-compressed or not: images of rank 3 (N, rows, cols) or 4
// (N, channels, rows, cols; files named ...-images-idx4-ubyte), the number
// of classes told by the labels.
//
// # Data sets from numpy
//
// Open reads a data set from an IDX folder or from a numpy archive (.npz)
// with arrays x, y and, optionally, x_test and y_test, as Python writes it
// with numpy.savez. An integer y holds class labels; a float y holds
// regression targets, and the Set's Targets (N, k) replace Labels
// (Set.Regression).
//
// # IDX files
//
// ReadIDX and ParseIDX decode IDX files of unsigned bytes, gzip or raw,
// checking the header against the bytes present before allocating; errors
// wrap ErrFormat.
//
// # Batches and pictures
//
// Set.Batches yields consecutive batches, the last one holding the
// remainder; Set.Image gives a sample as an image (in colour for a
// (3, rows, cols) sample), Set.Gray as a grayscale one (a colour sample's
// luminance); Shift makes randomly shifted copies of images for training.
package datasets
