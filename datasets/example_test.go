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
