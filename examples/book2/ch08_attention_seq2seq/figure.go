package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/examples/book2/internal/seqdata"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/viz"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
	"gorgonia.org/tensor"
)

// maps is the attention of some test questions: Weights[i] is (steps,
// question length) with the question's columns in reading order.
type maps struct {
	Rows    []int // test rows
	Weights [][]float32
}

// attentionMaps runs the model as ch08/visualize_attention.py does: five
// test questions picked by np.random.seed(1984); randint(0, len(x_val)),
// each forwarded with its answer as the decoder's input (model.forward(x,
// t)), the weights of every decoder step over the reversed question read
// back into the question's order.
func (s *session) attentionMaps(m *graph.Model, d, h int) (*maps, error) {
	probe, err := s.build(d, h, true)
	if err != nil {
		return nil, err
	}
	for _, name := range probe.ParamNames() {
		p := m.Param(name)
		if err := probe.SetParam(name, p.Shape(), p.Float32s()); err != nil {
			return nil, err
		}
	}
	k := s.hi - s.lo
	rows := seqdata.RandInts(k, 5, 1984)
	ql, st := s.d.QLen, s.steps
	q := make([]float32, 0, len(rows)*ql)
	dec := make([]float32, 0, len(rows)*st)
	for _, r := range rows {
		q = append(q, s.questions(s.lo+r, s.lo+r+1)...)
		for _, id := range s.d.A[(s.lo+r)*s.d.ALen : (s.lo+r+1)*s.d.ALen-1] {
			dec = append(dec, float32(id))
		}
	}
	out, err := graph.NewPredictor(probe).Predict(
		tensor.New(tensor.WithShape(len(rows), ql), tensor.WithBacking(q)),
		tensor.New(tensor.WithShape(len(rows), st), tensor.WithBacking(dec)))
	if err != nil {
		return nil, fmt.Errorf("attention map: %w", err)
	}
	a := out[0].Float32s()
	mp := &maps{}
	for i, r := range rows {
		w := make([]float32, st*ql)
		for j := 0; j < st; j++ {
			for c := 0; c < ql; c++ {
				w[j*ql+c] = a[(i*st+j)*ql+ql-1-c] // attention_map[:, ::-1]
			}
		}
		mp.Rows = append(mp.Rows, s.lo+r)
		mp.Weights = append(mp.Weights, w)
	}
	return mp, nil
}

func (s *session) drawAttention(m *graph.Model, d, h int, path string) error {
	mp, err := s.attentionMaps(m, d, h)
	if err != nil {
		return err
	}
	img := s.drawMaps(mp)
	if err := cli.WriteFile(path, func(w io.Writer) error { return viz.WritePNG(w, img) }); err != nil {
		return fmt.Errorf("--attention %w", err)
	}
	return nil
}

// drawMaps draws each map as the book's pcolor with Greys_r (weight 0
// black, 1 white), the question's characters along the bottom and the
// answer's (after '_') down the left, the maps side by side in two rows.
func (s *session) drawMaps(mp *maps) *image.RGBA {
	const cell, pad, left, bottom, top = 18, 24, 24, 22, 10
	ql, st := s.d.QLen, s.steps
	pw, ph := left+ql*cell, top+st*cell+bottom
	cols := min(3, len(mp.Rows))
	nrows := (len(mp.Rows) + cols - 1) / cols
	const head = 20 // the title line
	img := image.NewRGBA(image.Rect(0, 0, pad+cols*(pw+pad), head+pad+nrows*(ph+pad)))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	dr := &font.Drawer{Dst: img, Src: image.NewUniform(viz.Ink), Face: basicfont.Face7x13}
	label := func(x, y int, text string) {
		w := dr.MeasureString(text).Round()
		dr.Dot = fixed.P(x-w/2, y)
		dr.DrawString(text)
	}
	dr.Dot = fixed.P(pad, pad)
	dr.DrawString("AttentionSeq2seq: attention weights of each answer character (rows) over the question (columns); white = 1, black = 0")
	for i, r := range mp.Rows {
		x0 := pad + (i%cols)*(pw+pad) + left
		y0 := head + pad + (i/cols)*(ph+pad) + top
		w := mp.Weights[i]
		for j := 0; j < st; j++ {
			for c := 0; c < ql; c++ {
				g := uint8(255*min(max(w[j*ql+c], 0), 1) + 0.5)
				draw.Draw(img, image.Rect(x0+c*cell, y0+j*cell, x0+(c+1)*cell, y0+(j+1)*cell),
					image.NewUniform(color.Gray{Y: g}), image.Point{}, draw.Src)
			}
		}
		q := []rune(s.d.Decode(s.d.Q[r*ql : (r+1)*ql]))
		for c, ch := range q {
			label(x0+c*cell+cell/2, y0+st*cell+15, string(ch))
		}
		a := []rune(s.d.Decode(s.d.A[r*s.d.ALen+1 : (r+1)*s.d.ALen]))
		for j, ch := range a {
			label(x0-10, y0+j*cell+cell/2+5, string(ch))
		}
	}
	return img
}
