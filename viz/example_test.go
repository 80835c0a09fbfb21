package viz_test

import (
	"fmt"
	"io"
	"strconv"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/viz"
)

// The book's img_show, for the first four test digits, in two rows of two
// with the label under each.
func ExampleGrid() {
	test, err := datasets.MNIST(datasets.Test, datasets.Options{})
	if err != nil {
		panic(err)
	}
	var cells []viz.Cell
	for i := range 4 {
		g, err := test.Gray(i)
		if err != nil {
			panic(err)
		}
		cells = append(cells, viz.Cell{Digit: g, Caption: strconv.Itoa(test.Labels[i])})
	}
	img, err := viz.Grid(cells, viz.GridOptions{Columns: 2, Scale: 3})
	if err != nil {
		panic(err)
	}
	if err := viz.WritePNG(io.Discard, img); err != nil { // a file, in real use
		panic(err)
	}
	l, _ := viz.GridLayout(cells, viz.GridOptions{Columns: 2, Scale: 3})
	fmt.Println("labels:", test.Labels[:4])
	fmt.Println("grid:", l.Columns, "x", l.Rows, "digits of", l.Digits[0].Size())
	// Output:
	// labels: [7 2 1 0]
	// grid: 2 x 2 digits of (84,84)
}

// Heat colors a confusion-matrix cell: white for none, darker for more.
func ExampleHeat() {
	for _, n := range []int{0, 1, 10, 100, 1000} {
		fmt.Printf("%4d: %v\n", n, viz.Heat(n, 1000))
	}
	// Output:
	//    0: {255 255 255 255}
	//    1: {227 238 248 255}
	//   10: {158 202 225 255}
	//  100: {50 130 190 255}
	// 1000: {8 48 107 255}
}
