package numpyio_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/tapenet/tapenet/numpyio"
)

// Load reads the book's pickled weights (or an .npz) and returns row-major
// float32 arrays by name.
func ExampleLoad() {
	params, err := numpyio.Load("testdata/book_p3_fortran.pkl")
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"W1", "b1", "W2", "b2", "W3", "b3"} {
		fmt.Println(name, params[name].Shape)
	}
	// Output:
	// W1 [784 50]
	// b1 [50]
	// W2 [50 100]
	// b2 [100]
	// W3 [100 10]
	// b3 [10]
}

// WriteNPZ writes arrays in a given order; ReadNPZ reads them back.
func ExampleWriteNPZ() {
	arrays := map[string]numpyio.Array{
		"W": {Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		"b": {Shape: []int{3}, Data: []float32{0.5, -0.5, 0}},
	}
	var buf bytes.Buffer
	if err := numpyio.WriteNPZ(&buf, []string{"W", "b"}, arrays); err != nil {
		log.Fatal(err)
	}
	back, err := numpyio.ReadNPZ(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		log.Fatal(err)
	}
	W := back["W"]
	fmt.Println(W.Shape, "W[1][2] =", W.Data[1*W.Shape[1]+2], "b =", back["b"].Data)
	// Output:
	// [2 3] W[1][2] = 6 b = [0.5 -0.5 0]
}

// Refused globals are reported, never called.
func ExampleReadPickle_refused() {
	evil := []byte("\x80\x02cos\nsystem\nX\x04\x00\x00\x00echo\x85R.")
	_, err := numpyio.ReadPickle(bytes.NewReader(evil))
	fmt.Println(err)
	// Output:
	// numpyio: pickle: offset 2: refused global "os.system"
}

// WriteNPY keeps an int64 array's exact values (Ints); the reader gives
// them back with the type numpy stored.
func ExampleWriteNPY() {
	ids := numpyio.Array{Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}, DType: "int64", Ints: []int64{1 << 40, 2, 3, 4}}
	var buf bytes.Buffer
	if err := numpyio.WriteNPY(&buf, ids); err != nil {
		log.Fatal(err)
	}
	a, err := numpyio.ReadNPY(&buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.DType, a.Shape, a.Ints)
	// Output: int64 [2 2] [1099511627776 2 3 4]
}
