// Command show draws MNIST digits to a PNG picture, each with its label
// under it (the book's img_show, many at once).
//
// Usage:
//
//	go run ./cmd/show [flags]
//
// Run with --help for the flags.
package main

import (
	"fmt"
	_ "github.com/tapenet/tapenet/blas" // tapenet's Sgemm as Gorgonia's BLAS
	"io"
	"strconv"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/viz"
)

const usage = `
show: draw MNIST digits to a PNG picture, with the label under each.

Usage:
  go run ./cmd/show [flags]

Digits are drawn dark on white, each image pixel a square of --scale
screen pixels, in rows of --columns.

Examples:
  go run ./cmd/show --out digits.png                       # the first 32 test digits
  go run ./cmd/show --split train --from 100 --count 60 --columns 12 --out d.png
  go run ./cmd/show --label 7 --count 20 --out sevens.png   # only sevens
  go run ./cmd/show --data ~/fashion-mnist --out fashion.png
`

type options struct {
	data, split, out, title     string
	from, count, columns, scale int
	label                       int
}

func main() { cli.Main("show", run) }

func run(args []string, stdout, stderr io.Writer) error {
	var o options
	fs := cli.NewFlags("show", usage, stdout)
	fs.StringVar(&o.out, "out", "digits.png", "PNG file to write")
	fs.StringVar(&o.data, "data", "", "folder of MNIST-format IDX files, .gz or not (default: the embedded MNIST)")
	fs.StringVar(&o.split, "split", "test", "which split to show: test or train")
	fs.IntVar(&o.from, "from", 0, "index of the first image to consider")
	fs.IntVar(&o.count, "count", 32, "number of digits to draw (at most 1000)")
	fs.IntVar(&o.label, "label", -1, "draw only digits of this label (-1: all)")
	fs.IntVar(&o.columns, "columns", 8, "digits per row")
	fs.IntVar(&o.scale, "scale", 3, "screen pixels per image pixel (1-16)")
	fs.StringVar(&o.title, "title", "", "a line of text above the digits (default: describes them)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	split, err := datasets.ParseSplit(o.split)
	switch {
	case err != nil:
		return cli.Usagef("--split: %v", err)
	case o.count < 1 || o.count > 1000:
		return cli.Usagef("--count must be between 1 and 1000, got %d", o.count)
	case o.from < 0:
		return cli.Usagef("--from must not be negative, got %d", o.from)
	case o.columns < 1:
		return cli.Usagef("--columns must be at least 1, got %d", o.columns)
	case o.scale < 1 || o.scale > 16:
		return cli.Usagef("--scale must be between 1 and 16, got %d", o.scale)
	case o.label < -1:
		return cli.Usagef("--label must be a class or -1 for all, got %d", o.label)
	case o.out == "":
		return cli.Usagef("--out must name a file")
	}
	if err := cli.CheckOutputs(cli.Output{Flag: "--out", Path: o.out}); err != nil {
		return err
	}
	opt := datasets.Options{Flatten: false}
	set, err := datasets.Load(o.data, split, opt)
	if err != nil {
		return err
	}
	if o.label >= set.Classes {
		return cli.Usagef("--label %d is not a class of the data (0-%d)", o.label, set.Classes-1)
	}
	if o.from >= set.Len() {
		return cli.Usagef("--from %d is past the last image (%d)", o.from, set.Len()-1)
	}
	var cells []viz.Cell
	last := o.from
	for i := o.from; i < set.Len() && len(cells) < o.count; i++ {
		if o.label >= 0 && set.Labels[i] != o.label {
			continue
		}
		g, err := set.Gray(i)
		if err != nil {
			return err
		}
		cells = append(cells, viz.Cell{Digit: g, Caption: strconv.Itoa(set.Labels[i])})
		last = i
	}
	if len(cells) == 0 {
		return fmt.Errorf("no image labelled %d from index %d of the %s split", o.label, o.from, split)
	}
	title := o.title
	if title == "" {
		what := "images"
		if o.label >= 0 {
			what = fmt.Sprintf("images labelled %d", o.label)
		}
		title = fmt.Sprintf("MNIST %s split: %s %d-%d, label under each", split, what, o.from, last)
	}
	img, err := viz.Grid(cells, viz.GridOptions{Columns: o.columns, Scale: o.scale, Title: title})
	if err != nil {
		return err
	}
	if err := cli.WriteFile(o.out, func(w io.Writer) error { return viz.WritePNG(w, img) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d digits)\n", o.out, len(cells))
	return nil
}
