package export_test

import (
	"fmt"
	"os"

	"github.com/tapenet/tapenet/export"
	"github.com/tapenet/tapenet/models"
)

// The summary of the book's chapter-3 network.
func ExampleWriteSummary() {
	m, err := models.BookNet()
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := export.WriteSummary(os.Stdout, m); err != nil {
		fmt.Println(err)
	}
	// Output:
	// Model: "sequential"
	// _________________________________________________________________
	// Layer (type)                Output Shape                  Param #
	// =================================================================
	// input (input)               (None, 784)                         0
	// _________________________________________________________________
	// fc1 (dense)                 (None, 50)                     39,250
	// _________________________________________________________________
	// sigmoid1 (sigmoid)          (None, 50)                          0
	// _________________________________________________________________
	// fc2 (dense)                 (None, 100)                     5,100
	// _________________________________________________________________
	// sigmoid2 (sigmoid)          (None, 100)                         0
	// _________________________________________________________________
	// fc3 (dense)                 (None, 10)                      1,010
	// _________________________________________________________________
	// softmax1 (softmax)          (None, 10)                          0
	// =================================================================
	// Total params: 45,360 (177.19 KB)
	// Trainable params: 45,360 (177.19 KB)
	// Non-trainable params: 0 (0.00 B)
	// _________________________________________________________________
}
