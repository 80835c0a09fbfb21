package datasets

import (
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The four canonical MNIST files, gzip-compressed as published, and the
// test split once more uncompressed: inflating 1.6 MB of test images took
// half of cmd/infer's start-up, and a test checks both copies agree.
//
//go:embed mnist/data/*.gz mnist/data/t10k-images-idx3-ubyte mnist/data/t10k-labels-idx1-ubyte
var embedded embed.FS

// Split names one half of MNIST.
type Split string

// The two MNIST splits.
const (
	Train Split = "train" // 60,000 images
	Test  Split = "test"  // 10,000 images
)

// files maps a split to the canonical MNIST file names (IDX, as published
// by LeCun et al.; the copies embedded here are gzip-compressed).
var files = map[Split][2]string{
	Train: {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
	Test:  {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"},
}

// ParseSplit returns the Split named s ("train" or "test").
func ParseSplit(s string) (Split, error) {
	if _, ok := files[Split(s)]; !ok {
		return "", fmt.Errorf("unknown split %q (want train or test)", s)
	}
	return Split(s), nil
}

// MNIST loads a split of the MNIST data embedded in this package: nothing is
// downloaded. The options have the meaning of the book's load_mnist.
func MNIST(split Split, opt Options) (*Set, error) {
	names, ok := files[split]
	if !ok {
		return nil, fmt.Errorf("mnist: unknown split %q", split)
	}
	read := func(name string) (*IDX, string, error) {
		where := "embedded " + name
		data, err := embedded.ReadFile("mnist/data/" + name)
		if err != nil {
			where += ".gz"
			if data, err = embedded.ReadFile("mnist/data/" + name + ".gz"); err != nil {
				return nil, where, err
			}
		}
		idx, err := ParseIDX(data)
		return idx, where, err
	}
	return load(read, names, opt)
}

// Load loads a split of MNIST: the embedded copy when dir is "", else the
// MNIST-format files in dir (see LoadDir).
func Load(dir string, split Split, opt Options) (*Set, error) {
	if dir == "" {
		return MNIST(split, opt)
	}
	return LoadDir(dir, split, opt)
}

// LoadDir loads a split from a folder of MNIST-format IDX files named as the
// canonical ones (train-images-idx3-ubyte, t10k-labels-idx1-ubyte, ...),
// each with or without a .gz suffix. Fashion-MNIST uses the same names and
// format. Errors name the file.
func LoadDir(dir string, split Split, opt Options) (*Set, error) {
	names, ok := files[split]
	if !ok {
		return nil, fmt.Errorf("mnist: unknown split %q", split)
	}
	read := func(name string) (*IDX, string, error) {
		for _, cand := range []string{name, name + ".gz"} {
			p := filepath.Join(dir, cand)
			f, err := os.Open(p)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, p, err
			}
			defer f.Close()
			idx, err := ReadIDX(f)
			return idx, p, err
		}
		return nil, filepath.Join(dir, name), fmt.Errorf("open %s: neither %s nor %s.gz exists", dir, name, name)
	}
	return load(read, names, opt)
}

// FromIDX builds a Set from decoded image and label IDX data: images of
// shape (N, rows, cols) and labels of shape (N) with values below classes.
func FromIDX(images, labels *IDX, classes int, opt Options) (*Set, error) {
	if len(images.Dims) != 3 {
		return nil, fmt.Errorf("%w: images have %d dimensions %v (want 3: count, rows, cols)", ErrFormat, len(images.Dims), images.Dims)
	}
	if len(labels.Dims) != 1 {
		return nil, fmt.Errorf("%w: labels have %d dimensions %v (want 1)", ErrFormat, len(labels.Dims), labels.Dims)
	}
	n, rows, cols := images.Dims[0], images.Dims[1], images.Dims[2]
	if labels.Dims[0] != n {
		return nil, fmt.Errorf("%w: %d images but %d labels", ErrFormat, n, labels.Dims[0])
	}
	ys := make([]int, n)
	for i, b := range labels.Data {
		if int(b) >= classes {
			return nil, fmt.Errorf("%w: label %d of image %d is not below %d", ErrFormat, b, i, classes)
		}
		ys[i] = int(b)
	}
	shape := []int{1, rows, cols}
	if opt.Flatten {
		shape = []int{rows * cols}
	}
	return NewSet(images.Data, shape, ys, classes, opt)
}

// load reads the images and labels files (names) with read, which returns
// a decoded file, where it came from, and an error.
func load(read func(string) (*IDX, string, error), names [2]string, opt Options) (*Set, error) {
	var idx [2]*IDX
	for i, name := range names {
		var where string
		var err error
		if idx[i], where, err = read(name); err != nil {
			if errors.Is(err, ErrFormat) {
				return nil, fmt.Errorf("read %s: %w", where, err)
			}
			return nil, err
		}
	}
	s, err := FromIDX(idx[0], idx[1], 10, opt)
	if err != nil {
		return nil, fmt.Errorf("%s and %s: %w", names[0], names[1], err)
	}
	return s, nil
}
