// Command ch06_overfit_weight_decay is the book's
// ch06/overfit_weight_decay.py (section 6.4.2, Figures 6-20 and 6-21): a
// seven-layer net 784-100×6-10 trained by SGD (learning rate 0.01) on
// mini-batches of 100 of only the first 300 MNIST training images for 201
// epochs, with weight decay λ = 0.1 against overfitting; the training and
// test accuracies of each epoch are printed and plotted.
//
//	go run ./examples/book/ch06_overfit_weight_decay                     # Figure 6-21: λ = 0.1
//	go run ./examples/book/ch06_overfit_weight_decay --weight-decay 0    # Figure 6-20: overfitting
//
// The decay is graph/train's coupled L2 decay (g ← g + λ·w), the gradient of
// the ½λ‖W‖² the book adds to its loss, on the weights only
// (train.BiasAndNormParams), as the book's MultiLayerNet does.
package main

import (
	"io"

	_ "github.com/tapenet/tapenet/blas"
	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/examples/book/internal/bookex"
)

const usage = `
ch06_overfit_weight_decay: the book's seven-layer net overfitting 300 MNIST
images, held back by weight decay (section 6.4.2), and the book's figure of
the training and test accuracy.

Usage:
  go run ./examples/book/ch06_overfit_weight_decay [flags]
`

func main() { cli.Main("ch06_overfit_weight_decay", run) }

func run(args []string, stdout, _ io.Writer) error {
	o := bookex.Overfit{Script: "ch06 overfit_weight_decay", Figure: "Figure 6-21", Limit: 300, Epochs: 201, Batch: 100,
		LR: 0.01, WeightDecay: 0.1, Break: true, Out: "docs/book/ch06_overfit_weight_decay.png"}
	fs := cli.NewFlags("ch06_overfit_weight_decay", usage, stdout)
	o.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return o.Run(stdout)
}
