package ops

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// channelsOp moves the channel axis of a 4-D tensor: (N, H, W, C) to
// (N, C, H, W) when toFirst, else back. Gorgonia's generic Transpose walks
// an n-d iterator per element and took a quarter of a convnet's training
// step; these loops are plain copies. Each direction is the other's
// gradient.
type channelsOp struct {
	base
	toFirst bool
}

func newChannels(toFirst bool) channelsOp {
	name := "NCHW→NHWC"
	if toFirst {
		name = "NHWC→NCHW"
	}
	return channelsOp{base: base{label: name, id: name}, toFirst: toFirst}
}

// ChannelsLast moves the channel axis of a 4-D x last: (N, C, H, W) to
// (N, H, W, C), with plain copies (Gorgonia's generic Transpose walks an
// iterator per element). Its gradient is ChannelsFirst.
func ChannelsLast(x *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(newChannels(false), x)
}

// ChannelsFirst moves the channel axis of a 4-D x from last to second:
// (N, H, W, C) to (N, C, H, W). Its gradient is ChannelsLast.
func ChannelsFirst(x *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(newChannels(true), x)
}

func (op channelsOp) Arity() int { return 1 }

func (op channelsOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}

func (op channelsOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%v: want 1 input, got %d", op, len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if !ok || len(s) != 4 {
		return nil, fmt.Errorf("%v: want a 4-d shape, got %v", op, in[0])
	}
	if op.toFirst {
		return tensor.Shape{s[0], s[3], s[1], s[2]}, nil
	}
	return tensor.Shape{s[0], s[2], s[3], s[1]}, nil
}

func (op channelsOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != 1 {
		return nil, fmt.Errorf("%v: want 1 input, got %d", op, len(vals))
	}
	in, ok := vals[0].(*tensor.Dense)
	if !ok || in.Dims() != 4 {
		return nil, fmt.Errorf("%v: want a 4-d dense tensor, got %T", op, vals[0])
	}
	if in.RequiresIterator() {
		in = in.Materialize().(*tensor.Dense)
	}
	shape, err := op.InferShape(in.Shape())
	if err != nil {
		return nil, err
	}
	s := in.Shape()
	n, a, b, c := s[0], s[1], s[2], s[3] // input axes
	out := tensor.New(tensor.Of(in.Dtype()), tensor.WithShape(shape...))
	switch src := in.Data().(type) {
	case []float32:
		moveAxis(src, out.Data().([]float32), n, a, b, c, op.toFirst)
	case []float64:
		moveAxis(src, out.Data().([]float64), n, a, b, c, op.toFirst)
	default:
		return nil, fmt.Errorf("%v: unsupported dtype %v", op, in.Dtype())
	}
	return out, nil
}

// moveAxis copies src (n, a, b, c) into dst as (n, c, a, b) when toFirst,
// else as (n, b, c, a).
func moveAxis[T float32 | float64](src, dst []T, n, a, b, c int, toFirst bool) {
	per := a * b * c
	for i := 0; i < n; i++ {
		s, d := src[i*per:(i+1)*per], dst[i*per:(i+1)*per]
		if toFirst { // (h, w, ch) -> (ch, h, w)
			hw := a * b
			for p := 0; p < hw; p++ {
				row := s[p*c : (p+1)*c]
				for k, v := range row {
					d[k*hw+p] = v
				}
			}
		} else { // (ch, h, w) -> (h, w, ch)
			hw := b * c
			for k := 0; k < a; k++ {
				plane := s[k*hw : (k+1)*hw]
				for p, v := range plane {
					d[p*a+k] = v
				}
			}
		}
	}
}

func (op channelsOp) DiffWRT(int) []bool { return []bool{true} }

func (op channelsOp) SymDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g, err := gorgonia.ApplyOp(newChannels(!op.toFirst), grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}
