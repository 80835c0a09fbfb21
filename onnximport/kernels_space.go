package onnximport

import (
	"fmt"
	"slices"

	"github.com/tapenet/tapenet/graph"
)

// GatherND (batch_dims), DepthToSpace (DCR and CRD) and SpaceToDepth:
// operators that only move values, so their gradients come from
// selectGrad.

func init() {
	kernels["GatherND"] = kernel{
		types: func(_ *Op, in []*meta) error {
			if err := wantTypes(in, 0, append(numTypes, graph.Bool)...); err != nil {
				return err
			}
			return wantTypes(in, 1, graph.Int64)
		},
		infer: func(l *Op, in []*meta) (meta, error) {
			out, _, err := l.gatherND(in[0].shape, in[1].shape)
			return meta{dt: in[0].dt, shape: out}, err
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			_, src, err := l.gatherNDIndex(in[0].shape, in[1])
			if err != nil {
				return nil, err
			}
			return gatherArr(in[0], out, src), nil
		},
	}
	genericAttrs["GatherND"] = []string{"batch_dims"}
	since["GatherND"] = 11
	grads["GatherND"] = gradForm{diff: []int{0}, f: selectGrad(nil)}
	for _, name := range []string{"DepthToSpace", "SpaceToDepth"} {
		kernels[name] = kernel{
			types: func(_ *Op, in []*meta) error { return wantTypes(in, 0, append(numTypes, graph.Bool)...) },
			infer: func(l *Op, in []*meta) (meta, error) {
				out, err := l.spaceDepth(in[0].shape, nil)
				return meta{dt: in[0].dt, shape: out}, err
			},
			run: func(l *Op, in []*arr, out meta) (*arr, error) {
				src := make([]int, out.size())
				if _, err := l.spaceDepth(in[0].shape, src); err != nil {
					return nil, err
				}
				return gatherArr(in[0], out, src), nil
			},
		}
		grads[name] = gradForm{diff: []int{0}, f: selectGrad(nil)}
		perSample[name] = func(_ *Op, _ []*meta, tensors []int) bool { return slices.Equal(tensors, []int{0}) }
	}
	genericAttrs["DepthToSpace"] = []string{"blocksize", "mode"}
	genericAttrs["SpaceToDepth"] = []string{"blocksize"}
}

// gatherND returns GatherND's output shape and the index depth k.
func (l *Op) gatherND(data, idx []int) ([]int, int, error) {
	b := int(l.attrInt("batch_dims", 0))
	q := len(idx)
	if q < 1 || b < 0 || b >= q || b >= len(data) {
		return nil, 0, fmt.Errorf("batch_dims %d for data %v and indices %v", b, data, idx)
	}
	k := idx[q-1]
	if k < 1 || b+k > len(data) || !slices.Equal(data[:b], idx[:b]) {
		return nil, 0, fmt.Errorf("indices %v (batch_dims %d) for data %v", idx, b, data)
	}
	return append(slices.Clone(idx[:q-1]), data[b+k:]...), k, nil
}

// gatherNDIndex returns, for every output element, the data element it
// takes.
func (l *Op) gatherNDIndex(data []int, idx *arr) ([]int, []int, error) {
	out, k, err := l.gatherND(data, idx.shape)
	if err != nil {
		return nil, nil, err
	}
	b := int(l.attrInt("batch_dims", 0))
	q := len(idx.shape)
	rows := shapeSize(idx.shape[:q-1])
	perBatch := shapeSize(idx.shape[b : q-1])
	inner, block := shapeSize(data[b+k:]), shapeSize(data[b:])
	st := strides(data[b:])
	src := make([]int, 0, shapeSize(out))
	for g := range rows {
		off := (g / max(perBatch, 1)) * block
		for j := range k {
			i, dim := idx.i[g*k+j], int64(data[b+j])
			if i < 0 {
				i += dim
			}
			if i < 0 || i >= dim {
				return nil, nil, fmt.Errorf("index %d out of range for axis %d of %v", idx.i[g*k+j], b+j, data)
			}
			off += int(i) * st[j]
		}
		for e := range inner {
			src = append(src, off+e)
		}
	}
	return out, src, nil
}

// spaceDepth returns DepthToSpace's or SpaceToDepth's output shape and,
// when src is not nil, fills it with the input element of each output
// element.
func (l *Op) spaceDepth(x []int, src []int) ([]int, error) {
	bs := int(l.attrInt("blocksize", 0))
	if len(x) != 4 || bs < 1 {
		return nil, fmt.Errorf("blocksize %d for input %v (want N, C, H, W)", bs, x)
	}
	n, c, h, w := x[0], x[1], x[2], x[3]
	crd := false
	if l.Op == "DepthToSpace" {
		switch m := l.Strings["mode"]; m {
		case "", "DCR":
		case "CRD":
			crd = true
		default:
			return nil, fmt.Errorf("mode %q", m)
		}
		if c%(bs*bs) != 0 {
			return nil, fmt.Errorf("%d channels for blocksize %d", c, bs)
		}
		oc := c / (bs * bs)
		out := []int{n, oc, h * bs, w * bs}
		if src != nil {
			k := 0
			for b := range n {
				for co := range oc {
					for y := range h * bs {
						for xo := range w * bs {
							i, j := y%bs, xo%bs
							ci := (i*bs+j)*oc + co
							if crd {
								ci = co*bs*bs + i*bs + j
							}
							src[k] = ((b*c+ci)*h+y/bs)*w + xo/bs
							k++
						}
					}
				}
			}
		}
		return out, nil
	}
	if h%bs != 0 || w%bs != 0 {
		return nil, fmt.Errorf("input %v for blocksize %d", x, bs)
	}
	out := []int{n, c * bs * bs, h / bs, w / bs}
	if src != nil {
		k := 0
		for b := range n {
			for co := range c * bs * bs {
				blk, ci := co/c, co%c
				i, j := blk/bs, blk%bs
				for y := range h / bs {
					for xo := range w / bs {
						src[k] = ((b*c+ci)*h+y*bs+i)*w + xo*bs + j
						k++
					}
				}
			}
		}
	}
	return out, nil
}
