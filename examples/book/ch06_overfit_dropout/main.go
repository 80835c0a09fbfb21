// Command ch06_overfit_dropout is the book's ch06/overfit_dropout.py
// (section 6.4.3, Figure 6-23): a seven-layer net 784-100×6-10 with the
// book's dropout (ratio 0.2) after each hidden layer, trained by the
// book's Trainer (SGD, learning rate 0.01, mini-batches of 100) on only
// the first 300 MNIST training images for 301 epochs; the training and
// test accuracies of each epoch are printed and plotted.
//
//	go run ./examples/book/ch06_overfit_dropout
//	go run ./examples/book/ch06_overfit_dropout --dropout 0   # without dropout
//
// Dropout is models.BookDropout, the book's own: a 0/1 mask without
// rescaling in training, a factor 1 − ratio at test time.
package main

import (
	"io"

	_ "github.com/tapenet/tapenet/blas"
	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/examples/book/internal/bookex"
)

const usage = `
ch06_overfit_dropout: the book's seven-layer net overfitting 300 MNIST
images, held back by dropout (section 6.4.3), and the book's figure of the
training and test accuracy.

Usage:
  go run ./examples/book/ch06_overfit_dropout [flags]
`

func main() { cli.Main("ch06_overfit_dropout", run) }

func run(args []string, stdout, _ io.Writer) error {
	o := bookex.Overfit{Script: "ch06 overfit_dropout", Figure: "Figure 6-23", Limit: 300, Epochs: 301, Batch: 100,
		LR: 0.01, Dropout: 0.2, Out: "docs/book/ch06_overfit_dropout.png"}
	fs := cli.NewFlags("ch06_overfit_dropout", usage, stdout)
	o.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return o.Run(stdout)
}
