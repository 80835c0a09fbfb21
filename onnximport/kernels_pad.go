package onnximport

import (
	"fmt"
	"slices"

	"github.com/tapenet/tapenet/graph"
)

// Pad as an onnx-op: modes constant, edge and reflect, negative pads
// (cropping), the axes input of opset 18, pads and constant_value
// constants or read at run time. Padding that multiplies the tensor's size
// beyond MaxPadElements and 4 times the input's is an error, as for the
// Pad layer.

func init() {
	kernels["Pad"] = padKernel()
	genericAttrs["Pad"] = []string{"mode"}
	constInputs["Pad"] = []int{1, 2, 3}
	inputsFrom["Pad"] = map[int]int64{3: 18}
	grads["Pad"] = gradForm{diff: []int{0}, f: selectGrad([]int{2})}
	perSample["Pad"] = func(l *Op, in []*meta, tensors []int) bool {
		begin, _, err := l.padWidths(in)
		return slices.Equal(tensors, []int{0}) && err == nil && begin[0] == 0 && l.padEnd(in)[0] == 0
	}
}

// padWidths returns the pads before and after each axis.
func (l *Op) padWidths(in []*meta) (begin, end []int, err error) {
	r := len(in[0].shape)
	c := l.constArrs(in)
	if len(c) < 2 || c[1] == nil || c[1].i == nil {
		return nil, nil, fmt.Errorf("pads: want a constant vector of integers")
	}
	pads := c[1].i
	axes := make([]int, r)
	for k := range axes {
		axes[k] = k
	}
	if len(c) > 3 && c[3] != nil {
		axes = axes[:0]
		for _, a := range c[3].i {
			n, err := normAxis(a, r)
			if err != nil || slices.Contains(axes, n) {
				return nil, nil, fmt.Errorf("axes %v for rank %d", c[3].i, r)
			}
			axes = append(axes, n)
		}
	}
	if len(pads) != 2*len(axes) {
		return nil, nil, fmt.Errorf("pads %v for %d axes", pads, len(axes))
	}
	begin, end = make([]int, r), make([]int, r)
	for k, a := range axes {
		b, e := pads[k], pads[len(axes)+k]
		if b < -(1<<30) || b > 1<<30 || e < -(1<<30) || e > 1<<30 {
			return nil, nil, fmt.Errorf("pads %v out of range", pads)
		}
		begin[a], end[a] = int(b), int(e)
		if n := in[0].shape[a] + begin[a] + end[a]; n < 0 {
			return nil, nil, fmt.Errorf("pads %v crop axis %d of %d below nothing", pads, a, in[0].shape[a])
		}
	}
	return begin, end, nil
}

func (l *Op) padEnd(in []*meta) []int {
	_, end, _ := l.padWidths(in)
	return end
}

func padKernel() kernel {
	return kernel{
		types: func(l *Op, in []*meta) error {
			if err := wantTypes(in, 0, append(numTypes, graph.Bool)...); err != nil {
				return err
			}
			if len(in) > 2 && in[2] != nil && (in[2].dt != in[0].dt || in[2].size() != 1) {
				return fmt.Errorf("constant_value: want one value of type %s", in[0].dt)
			}
			switch m := l.Strings["mode"]; m {
			case "", "constant", "edge", "reflect":
			default:
				return unsupported("Pad mode %q", m)
			}
			return nil
		},
		infer: func(l *Op, in []*meta) (meta, error) {
			begin, end, err := l.padWidths(in)
			if err != nil {
				return meta{}, err
			}
			shape := slices.Clone(in[0].shape)
			total := 1
			for d := range shape {
				shape[d] += begin[d] + end[d]
				total *= max(shape[d], 1)
				if total > graph.MaxElements {
					return meta{}, fmt.Errorf("pads make a tensor of more than %d values", graph.MaxElements)
				}
			}
			if n := shapeSize(shape); n > MaxPadElements && n > 4*in[0].size() {
				return meta{}, fmt.Errorf("pads make %v (%d values) %v: at most %d values, or 4 times the input's", in[0].shape, in[0].size(), shape, MaxPadElements)
			}
			mode := l.Strings["mode"]
			for d, n := range in[0].shape {
				if (mode == "edge" || mode == "reflect") && n == 0 && shape[d] > 0 {
					return meta{}, fmt.Errorf("Pad mode %s of an empty axis", mode)
				}
			}
			return meta{dt: in[0].dt, shape: shape}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			x := in[0]
			metas := []*meta{&x.meta}
			for _, a := range in[1:] {
				if a != nil {
					metas = append(metas, &a.meta)
				} else {
					metas = append(metas, nil)
				}
			}
			begin, _, err := l.padWidths(metas)
			if err != nil {
				return nil, err
			}
			mode := l.Strings["mode"]
			r := len(x.shape)
			// src[d][o]: the input index along axis d of output index o
			// (-1: the constant).
			src := make([][]int, r)
			for d := range r {
				n := x.shape[d]
				src[d] = make([]int, out.shape[d])
				for o := range src[d] {
					i := o - begin[d]
					switch {
					case i >= 0 && i < n:
					case mode == "edge":
						i = min(max(i, 0), n-1)
					case mode == "reflect" && n == 1:
						i = 0
					case mode == "reflect":
						p := 2 * (n - 1)
						i = ((i % p) + p) % p
						if i >= n {
							i = p - i
						}
					default:
						i = -1
					}
					src[d][o] = i
				}
			}
			y := newArr(out)
			fill := newArr(meta{dt: x.dt, shape: []int{1}})
			if len(in) > 2 && in[2] != nil {
				fill = in[2]
			}
			st := strides(x.shape)
			coord := make([]int, r)
			for k := range out.size() {
				s := 0
				for d := range r {
					if i := src[d][coord[d]]; i >= 0 && s >= 0 {
						s += i * st[d]
					} else {
						s = -1
					}
				}
				from, at := x, s
				if s < 0 {
					from, at = fill, 0
				}
				switch {
				case y.f != nil:
					y.f[k] = from.f[at]
				case y.b != nil:
					y.b[k] = from.b[at]
				default:
					y.i[k] = from.i[at]
				}
				for d := r - 1; d >= 0; d-- {
					coord[d]++
					if coord[d] < out.shape[d] {
						break
					}
					coord[d] = 0
				}
			}
			return y, nil
		},
	}
}
