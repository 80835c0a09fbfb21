package main

import (
	"fmt"
	"io"

	"github.com/tapenet/tapenet/internal/cli"
	"github.com/tapenet/tapenet/viz"
)

// curves holds the epochs so far (a resumed run's included) and redraws
// the --plot picture after each one, like the checkpoint.
type curves struct {
	path   string // --plot ("": no picture)
	epochs []viz.Epoch
}

// add records an epoch and rewrites the picture, with the validation
// accuracy when there is a validation split.
func (c *curves) add(o *options, images int, e viz.Epoch, validation bool) error {
	c.epochs = append(c.epochs, e)
	if c.path == "" {
		return nil
	}
	title := fmt.Sprintf("%s, %s, batch %d, %d training images: epoch %d of %d", o.arch, o.optimizer, o.batch, images, e.Epoch, o.epochs)
	return cli.WriteFile(c.path, func(w io.Writer) error {
		return viz.WriteCurves(w, c.epochs, viz.CurvesOptions{Title: title, Validation: validation})
	})
}
