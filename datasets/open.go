package datasets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/numpyio"
)

// MaxClasses is the largest number of classes a data set's labels may
// give (the largest label is at most MaxClasses-1).
const MaxClasses = 1 << 16

// Open reads a data set from path: a folder of IDX files (see LoadDir; the
// test split is nil when the folder has no t10k files) or a numpy archive
// (.npz, as numpy.savez and savez_compressed write it; a pickled dict of
// arrays is read too) holding the arrays
//
//   - x: the training samples, shape (N, sample shape...), of any real
//     numpy type (uint8, float32, float64, int64, int32, ...); rank 1 (N,)
//     is N samples of one value;
//   - y: their labels or targets: an integer (or bool) y of shape (N,)
//     holds class labels, and the number of classes is the largest label
//     plus one (over both splits); a float y of shape (N,) or (N, k) holds
//     regression targets (Set.Targets, (N, 1) or (N, k));
//   - x_test and y_test, optional (both or neither): the test split, of
//     the same sample shape and kind of y.
//
// Samples stored as uint8 are pixels: opt.Normalize divides them by 255.
// Samples of other types keep their values (converted to float32).
// opt.Flatten gives (N, product of the sample shape); opt.SampleShape
// refuses other sample shapes from the file's headers, before any array
// is inflated or converted; opt.OneHot fills Set.OneHot of a
// classification set.
//
// Errors are one line naming the file and, where one is at fault, the
// array: no x, a y whose length differs from x, a type that is not real
// numbers (complex, object, strings), shapes that do not fit.
func Open(path string, opt Options) (train, test *Set, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("data set: %w", err)
	}
	if st.IsDir() {
		return openDir(path, opt)
	}
	return openArrays(path, opt)
}

// openDir reads the splits of an IDX folder; the test split is optional.
func openDir(dir string, opt Options) (train, test *Set, err error) {
	if train, err = LoadDir(dir, Train, opt); err != nil {
		return nil, nil, err
	}
	if hasSplit(dir, Test) {
		if test, err = LoadDir(dir, Test, opt); err != nil {
			return nil, nil, err
		}
	}
	sameClasses(train, test, opt)
	return train, test, nil
}

// hasSplit reports whether dir holds an images file of split.
func hasSplit(dir string, split Split) bool {
	name := files[split][0]
	for _, n := range []string{name, strings.Replace(name, "idx3", "idx4", 1)} {
		for _, cand := range []string{n, n + ".gz"} {
			if _, err := os.Lstat(filepath.Join(dir, cand)); !errors.Is(err, fs.ErrNotExist) {
				return true
			}
		}
	}
	return false
}

// sameClasses gives both splits of a classification set the larger
// number of classes, so that a test split that lacks the last class still
// has the training split's.
func sameClasses(train, test *Set, opt Options) {
	if test == nil || train.Regression() || train.Classes == test.Classes {
		return
	}
	n := max(train.Classes, test.Classes)
	for _, s := range []*Set{train, test} {
		if s.Classes != n {
			s.Classes = n
			if opt.OneHot {
				s.OneHot = OneHot(s.Labels, n)
			}
		}
	}
}

// arraysError is an error about a numpy data set's arrays found by the
// header check, reported without numpyio's wording around it.
type arraysError struct{ msg string }

func (e *arraysError) Error() string { return e.msg }

// openArrays reads a numpy data set (see Open).
func openArrays(path string, opt Options) (train, test *Set, err error) {
	fail := func(format string, args ...any) error {
		return &arraysError{fmt.Sprintf("data set %s: ", path) + fmt.Sprintf(format, args...)}
	}
	check := func(shapes map[string][]int) error {
		return checkArrays(shapes, opt, fail)
	}
	arrays, err := numpyio.Load(path, numpyio.Options{Check: check})
	if err != nil {
		if ae, ok := errors.AsType[*arraysError](err); ok {
			return nil, nil, ae
		}
		return nil, nil, fmt.Errorf("data set: %w", err) // names the file and entry
	}
	return fromArrays(arrays, opt, fail)
}

// checkArrays checks a numpy data set's arrays from their shapes.
func checkArrays(shapes map[string][]int, opt Options, fail func(string, ...any) error) error {
	x, ok := shapes["x"]
	if !ok {
		names := make([]string, 0, len(shapes))
		for k := range shapes {
			names = append(names, k)
		}
		sort.Strings(names)
		return fail("no array x (the samples; it has %s)", listOr(names, "no arrays"))
	}
	y, ok := shapes["y"]
	if !ok {
		return fail("no array y (the labels or targets of x)")
	}
	_, hasXT := shapes["x_test"]
	_, hasYT := shapes["y_test"]
	if hasXT != hasYT {
		return fail("x_test and y_test go together: only %s is present", map[bool]string{true: "x_test", false: "y_test"}[hasXT])
	}
	pairs := [][2]string{{"x", "y"}}
	if hasXT {
		pairs = append(pairs, [2]string{"x_test", "y_test"})
	}
	for _, p := range pairs {
		xs, ys := shapes[p[0]], shapes[p[1]]
		if len(xs) == 0 {
			return fail("array %s is a scalar; want samples of shape (N, ...)", p[0])
		}
		if xs[0] == 0 {
			return fail("array %s of shape %v has no samples", p[0], xs)
		}
		if len(ys) == 0 || len(ys) > 2 {
			return fail("array %s has shape %v; want (N,) labels or targets, or (N, k) targets", p[1], ys)
		}
		if ys[0] != xs[0] {
			return fail("array %s has %d rows but %s has %d", p[1], ys[0], p[0], xs[0])
		}
		if !slices.Equal(sampleOf(xs), sampleOf(x)) {
			return fail("array %s has samples of shape %v but x has %v", p[0], sampleOf(xs), sampleOf(x))
		}
		if len(ys) != len(y) || (len(y) == 2 && ys[1] != y[1]) {
			return fail("array %s has shape %v but y has %v: the columns differ", p[1], ys, y)
		}
	}
	if want := opt.SampleShape; want != nil {
		if got := shapeFor(sampleOf(x), opt); !slices.Equal(got, want) {
			return fail("array x has samples of shape %v; want %v", got, want)
		}
	}
	return nil
}

// sampleOf returns the per-sample shape of an array of samples: (N,) is
// samples of one value.
func sampleOf(shape []int) []int {
	if len(shape) == 1 {
		return []int{1}
	}
	return shape[1:]
}

// shapeFor is the sample shape opt gives samples of shape sample.
func shapeFor(sample []int, opt Options) []int {
	if opt.Flatten {
		n := 1
		for _, d := range sample {
			n *= d
		}
		return []int{n}
	}
	return slices.Clone(sample)
}

// listOr lists names, or says none if empty.
func listOr(names []string, none string) string {
	if len(names) == 0 {
		return none
	}
	return strings.Join(names, ", ")
}

// integral reports whether a numpy type holds integers (or bools): labels.
func integral(dtype string) bool {
	return dtype == "bool" || strings.HasPrefix(dtype, "int") || strings.HasPrefix(dtype, "uint")
}

// fromArrays builds the splits of a numpy data set whose shapes passed
// checkArrays.
func fromArrays(arrays map[string]numpyio.Array, opt Options, fail func(string, ...any) error) (train, test *Set, err error) {
	y := arrays["y"]
	if yt, ok := arrays["y_test"]; ok && integral(yt.DType) != integral(y.DType) {
		return nil, nil, fail("array y_test is %s but y is %s: both must be labels (integers) or both targets (floats)", yt.DType, y.DType)
	}
	classes := 0
	if integral(y.DType) {
		for _, name := range []string{"y", "y_test"} {
			a, ok := arrays[name]
			if !ok {
				continue
			}
			if len(a.Shape) != 1 {
				return nil, nil, fail("array %s of integers has shape %v; class labels have shape (N,) (float targets make a regression set)", name, a.Shape)
			}
			for i, v := range a.Data {
				if a.Ints != nil && (a.Ints[i] < 0 || a.Ints[i] >= MaxClasses) || v < 0 || v >= MaxClasses {
					return nil, nil, fail("array %s: label %v of sample %d is not in [0, %d)", name, labelValue(a, i), i, MaxClasses)
				}
				classes = max(classes, int(v)+1)
			}
		}
	}
	build := func(xn, yn string) (*Set, error) {
		s, err := makeSet(arrays[xn], arrays[yn], classes, opt)
		if err != nil {
			return nil, fail("array %s: %v", xn, err)
		}
		return s, nil
	}
	if train, err = build("x", "y"); err != nil {
		return nil, nil, err
	}
	if _, ok := arrays["x_test"]; ok {
		if test, err = build("x_test", "y_test"); err != nil {
			return nil, nil, err
		}
	}
	return train, test, nil
}

// labelValue is label i of a, exactly.
func labelValue(a numpyio.Array, i int) any {
	if a.Ints != nil {
		return a.Ints[i]
	}
	return a.Data[i]
}

// makeSet builds a Set of samples x and labels (classes > 0) or targets y.
func makeSet(x, y numpyio.Array, classes int, opt Options) (*Set, error) {
	if x.DType == "uint8" && opt.Normalize {
		// The book divides float32 pixels by 255 in float32, as NewSet.
		for i, v := range x.Data {
			x.Data[i] = v / 255
		}
	}
	for i, v := range x.Data {
		if v != v || v > 3.4e38 || v < -3.4e38 {
			return nil, fmt.Errorf("value %d is %v (not finite, or beyond float32)", i, v)
		}
	}
	n := 1
	if len(x.Shape) > 0 {
		n = x.Shape[0]
	}
	shape := append([]int{n}, shapeFor(sampleOf(x.Shape), opt)...)
	s := &Set{X: tensor.New(tensor.WithShape(shape...), tensor.WithBacking(x.Data))}
	if classes > 0 {
		s.Labels = make([]int, n)
		for i, v := range y.Data {
			s.Labels[i] = int(v)
		}
		s.Classes = classes
		if opt.OneHot {
			s.OneHot = OneHot(s.Labels, classes)
		}
		return s, nil
	}
	k := 1
	if len(y.Shape) == 2 {
		k = y.Shape[1]
	}
	s.Targets = tensor.New(tensor.WithShape(n, k), tensor.WithBacking(y.Data))
	return s, nil
}
