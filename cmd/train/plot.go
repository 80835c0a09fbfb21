package main

import (
	"fmt"
	"io"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/graph/train"
	"github.com/tapenet/tapenet/viz"
)

// curves redraws the --plot picture of the epochs so far (a resumed run's
// included) after each one, like the checkpoint.
type curves struct {
	path string // --plot ("": no picture)
}

// draw rewrites the picture from the history, with the validation
// accuracy when there is a validation split.
func (c *curves) draw(o *options, images int, h *train.History, validation bool) error {
	if c.path == "" {
		return nil
	}
	epochs := make([]viz.Epoch, len(h.Epochs))
	for i, e := range h.Epochs {
		epochs[i] = viz.Epoch{Epoch: e.Epoch, Loss: e.Loss, TrainAccuracy: e.Train.Accuracy, TestAccuracy: e.Test.Accuracy}
		if e.Validation != nil {
			epochs[i].ValidationAccuracy = e.Validation.Accuracy
		}
	}
	last := epochs[len(epochs)-1].Epoch
	title := fmt.Sprintf("%s, %s, batch %d, %d training images: epoch %d of %d", o.arch, o.optimizer, o.batch, images, last, o.epochs)
	return cli.WriteFile(c.path, func(w io.Writer) error {
		return viz.WriteCurves(w, epochs, viz.CurvesOptions{Title: title, Validation: validation})
	})
}
