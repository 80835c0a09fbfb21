package models_test

import (
	"fmt"
	"log"

	"github.com/tapenet/tapenet/models"
)

// ForData builds an architecture for the data's shape and task: a convnet
// over 3x32x32 colour images of 5 classes, an mlp regression head of 2
// targets over 3 values.
func ExampleForData() {
	conv, err := models.ForData("convnet", []int{3, 32, 32}, 5, 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(conv.Input(), conv.OutputShape(0), conv.OutputMeaning(0), conv.ParamCount())
	reg, err := models.ForData("mlp", []int{3}, 0, 2, models.ArchOptions{Hidden: []int{16}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(reg.Input(), reg.OutputShape(0), reg.OutputMeaning(0), reg.ParamCount())
	// Output:
	// [3 32 32] [5] probabilities 590885
	// [3] [2] values 98
}
