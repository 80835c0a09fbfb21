package datasets_test

import (
	"fmt"

	"github.com/tapenet/tapenet/datasets"
)

// The book's load_mnist(normalize=True, flatten=True, one_hot_label=True).
func ExampleMNIST() {
	test, err := datasets.MNIST(datasets.Test, datasets.Options{Normalize: true, Flatten: true, OneHot: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(test.X.Shape(), test.OneHot.Shape(), test.Labels[:5])
	n := 0
	for range test.Batches(128) {
		n++
	}
	fmt.Println(n, "batches of up to 128")
	// Output:
	// (10000, 784) (10000, 10) [7 2 1 0 4]
	// 79 batches of up to 128
}

// A data set saved from Python with numpy.savez(path, x=x, y=y,
// x_test=x_test, y_test=y_test): float targets make a regression set.
func ExampleOpen() {
	train, test, err := datasets.Open("testdata/reg.npz", datasets.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(train.X.Shape(), train.Targets.Shape(), train.Regression(), test.Len())
	cls, _, err := datasets.Open("testdata/cls.npz", datasets.Options{Normalize: true, Flatten: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cls.X.Shape(), cls.Classes, cls.Labels[:5])
	// Output:
	// (30, 3) (30, 2) true 10
	// (20, 16) 4 [0 1 2 3 0]
}
