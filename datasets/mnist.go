package datasets

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tapenet/tapenet/internal/osfile"
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

// LoadDir loads a split from a folder of IDX files named as MNIST's
// (train-images-idx3-ubyte, t10k-labels-idx1-ubyte, ...), each with or
// without a .gz suffix. The images file holds unsigned bytes of rank 3
// (N, rows, cols: one channel, as MNIST and Fashion-MNIST) or rank 4
// (N, channels, rows, cols: colour images, e.g. CIFAR-10 converted to
// IDX), and may be named ...-images-idx3-ubyte or ...-images-idx4-ubyte.
// The labels file is ...-labels-idx1-ubyte. The number of classes is
// told by the labels: the largest label plus one. Errors name the file.
//
// Only regular files are read (a named pipe is refused, not waited on),
// and the images file's header is checked before its pixels are read or
// inflated: its length against the file's, its sample shape against
// opt.SampleShape, its image count against the labels file's.
func LoadDir(dir string, split Split, opt Options) (*Set, error) {
	names, ok := files[split]
	if !ok {
		return nil, fmt.Errorf("mnist: unknown split %q", split)
	}
	open := func(cands ...string) (*idxStream, string, error) {
		for _, name := range cands {
			for _, cand := range []string{name, name + ".gz"} {
				p := filepath.Join(dir, cand)
				f, size, err := osfile.Open(p)
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				if err != nil {
					return nil, p, err
				}
				s, err := openIDX(f, size)
				if err != nil {
					f.Close()
					return nil, p, fmt.Errorf("read %s: %w", p, err)
				}
				s.file = f
				return s, p, nil
			}
		}
		var want []string
		for _, name := range cands {
			want = append(want, name, name+".gz")
		}
		return nil, filepath.Join(dir, cands[0]), fmt.Errorf("open %s: none of %s exists", dir, strings.Join(want, ", "))
	}
	images, ipath, err := open(names[0], strings.Replace(names[0], "idx3", "idx4", 1))
	if err != nil {
		return nil, err
	}
	defer images.close()
	if err := checkImages(images.dims, opt); err != nil {
		return nil, fmt.Errorf("read %s: %w", ipath, err)
	}
	labels, lpath, err := open(names[1])
	if err != nil {
		return nil, err
	}
	defer labels.close()
	if len(labels.dims) == 1 && labels.dims[0] != images.dims[0] {
		return nil, fmt.Errorf("%s: %s and %s: %w: %d images but %d labels", dir, filepath.Base(ipath), filepath.Base(lpath), ErrFormat, images.dims[0], labels.dims[0])
	}
	var idx [2]*IDX
	for i, s := range []*idxStream{images, labels} {
		if idx[i], err = s.read(); err != nil {
			return nil, fmt.Errorf("read %s: %w", []string{ipath, lpath}[i], err)
		}
	}
	s, err := FromIDX(idx[0], idx[1], 0, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %s and %s: %w", dir, filepath.Base(ipath), filepath.Base(lpath), err)
	}
	return s, nil
}

// sampleShape returns the per-sample shape of images of IDX dimensions
// dims (rank 3 or 4, count first) as opt gives them: (C, rows, cols), one
// channel for rank 3, or (C*rows*cols) flattened.
func sampleShape(dims []int, opt Options) []int {
	shape := append([]int{1}, dims[1:]...)
	if len(dims) == 4 {
		shape = slices.Clone(dims[1:])
	}
	if opt.Flatten {
		return []int{shape[0] * shape[1] * shape[2]}
	}
	return shape
}

// checkImages checks the dimensions of an images file: (count, rows,
// cols) or (count, channels, rows, cols), and the per-sample shape opt
// asks for, if any.
func checkImages(dims []int, opt Options) error {
	if len(dims) != 3 && len(dims) != 4 {
		return fmt.Errorf("%w: images have %d dimensions %v (want 3: count, rows, cols; or 4: count, channels, rows, cols)", ErrFormat, len(dims), dims)
	}
	if opt.SampleShape == nil {
		return nil
	}
	if shape := sampleShape(dims, opt); !slices.Equal(shape, opt.SampleShape) {
		return fmt.Errorf("images are %s, samples of shape %v; want %v", describe(dims), shape, opt.SampleShape)
	}
	return nil
}

// describe words the size of images of IDX dimensions dims: 28x28, or
// 3x32x32 with channels.
func describe(dims []int) string {
	parts := make([]string, len(dims)-1)
	for i, d := range dims[1:] {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, "x")
}

// FromIDX builds a Set from decoded image and label IDX data: images of
// shape (N, rows, cols) or (N, channels, rows, cols) and labels of shape
// (N). classes > 0 is the number of classes, and every label must be
// below it; classes <= 0 takes it from the labels (the largest plus one).
func FromIDX(images, labels *IDX, classes int, opt Options) (*Set, error) {
	if len(labels.Dims) != 1 {
		return nil, fmt.Errorf("%w: labels have %d dimensions %v (want 1)", ErrFormat, len(labels.Dims), labels.Dims)
	}
	if err := checkImages(images.Dims, opt); err != nil {
		return nil, err
	}
	n := images.Dims[0]
	if labels.Dims[0] != n {
		return nil, fmt.Errorf("%w: %d images but %d labels", ErrFormat, n, labels.Dims[0])
	}
	ys := make([]int, n)
	top := 0
	for i, b := range labels.Data {
		if classes > 0 && int(b) >= classes {
			return nil, fmt.Errorf("%w: label %d of image %d is not below %d", ErrFormat, b, i, classes)
		}
		ys[i] = int(b)
		top = max(top, int(b)+1)
	}
	if classes <= 0 {
		classes = top
	}
	return NewSet(images.Data, sampleShape(images.Dims, opt), ys, classes, opt)
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
