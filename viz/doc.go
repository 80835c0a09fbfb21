// Package viz draws tapenet's pictures as PNG images: grids of digits with
// a caption under each (the book's img_show, many at once), confusion
// matrices as heat maps with the counts in the cells, and learning curves
// (loss and accuracy per epoch, with gonum.org/v1/plot).
//
// Everything is drawn in Go with fonts compiled into the binary (the Go
// fonts of golang.org/x/image, Liberation in gonum/plot): nothing is
// downloaded and no external program runs. Pictures have a white
// background; digits are drawn as dark ink on white paper, upscaled with
// square pixels so that the data is shown as it is.
package viz
