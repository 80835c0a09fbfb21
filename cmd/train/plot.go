package main

import (
	"fmt"
	"io"

	"github.com/tapenet/tapenet/internal/cli"
	"github.com/tapenet/tapenet/viz"
)

// curves holds the epochs so far and redraws the --plot picture after
// each one, like the checkpoint.
type curves struct {
	path   string // --plot ("": no picture)
	epochs []viz.Epoch
}

// add records an epoch and rewrites the picture.
func (c *curves) add(o *options, images, epoch int, loss, trainAcc, testAcc float64) error {
	if c.path == "" {
		return nil
	}
	c.epochs = append(c.epochs, viz.Epoch{Epoch: epoch, Loss: loss, TrainAccuracy: trainAcc, TestAccuracy: testAcc})
	title := fmt.Sprintf("%s, %s, batch %d, %d training images: epoch %d of %d", o.arch, o.optimizer, o.batch, images, epoch, o.epochs)
	return cli.WriteFile(c.path, func(w io.Writer) error {
		return viz.WriteCurves(w, c.epochs, viz.CurvesOptions{Title: title})
	})
}
