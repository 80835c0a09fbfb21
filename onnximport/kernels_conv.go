package onnximport

import (
	"fmt"
	"slices"
)

// Conv on whole tensors: any number of spatial axes, groups (depthwise
// included), dilations, strides, asymmetric pads and auto_pad, computed
// directly (inference).

func init() {
	kernels["Conv"] = convKernel()
	genericAttrs["Conv"] = []string{"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}
}

// convGeom is a convolution's geometry.
type convGeom struct {
	n, c, m, group   int
	in, k, out       []int
	pad, stride, dil []int
}

func (l *Op) convGeom(x, w []int) (*convGeom, error) {
	if len(x) < 3 || len(w) != len(x) {
		return nil, fmt.Errorf("input %v and weights %v (want (N, C, spatial...) and (M, C/group, kernel...))", x, w)
	}
	r := len(x) - 2
	g := &convGeom{n: x[0], c: x[1], m: w[0], group: int(l.attrInt("group", 1)), in: x[2:], k: w[2:]}
	if g.group < 1 || g.c%g.group != 0 || g.m%g.group != 0 || w[1] != g.c/g.group {
		return nil, fmt.Errorf("group %d for %d input and %d output channels, weights %v", g.group, g.c, g.m, w)
	}
	if ks, ok := l.Ints["kernel_shape"]; ok && !slices.Equal(ks, int64s(g.k...)) {
		return nil, fmt.Errorf("kernel_shape %v for weights %v", ks, w)
	}
	ints := func(name string, def int) ([]int, error) {
		out := make([]int, r)
		for k := range out {
			out[k] = def
		}
		if v, ok := l.Ints[name]; ok {
			if len(v) != r {
				return nil, fmt.Errorf("%s %v for %d spatial axes", name, v, r)
			}
			for k, d := range v {
				if d < 1 {
					return nil, fmt.Errorf("%s %v", name, v)
				}
				out[k] = int(d)
			}
		}
		return out, nil
	}
	var err error
	if g.stride, err = ints("strides", 1); err != nil {
		return nil, err
	}
	if g.dil, err = ints("dilations", 1); err != nil {
		return nil, err
	}
	g.pad = make([]int, 2*r)
	auto := "NOTSET"
	if s, ok := l.Strings["auto_pad"]; ok {
		auto = s
	}
	switch auto {
	case "NOTSET":
		if v, ok := l.Ints["pads"]; ok {
			if len(v) != 2*r {
				return nil, fmt.Errorf("pads %v for %d spatial axes", v, r)
			}
			for k, p := range v {
				if p < 0 {
					return nil, unsupported("negative pads %v", v)
				}
				g.pad[k] = int(p)
			}
		}
	case "VALID":
	case "SAME_UPPER", "SAME_LOWER":
		for k := range r {
			ek := (g.k[k]-1)*g.dil[k] + 1
			outK := (g.in[k] + g.stride[k] - 1) / g.stride[k]
			total := max(0, (outK-1)*g.stride[k]+ek-g.in[k])
			lo := total / 2
			if auto == "SAME_LOWER" {
				lo = total - total/2
			}
			g.pad[k], g.pad[r+k] = lo, total-lo
		}
	default:
		return nil, fmt.Errorf("auto_pad %q", auto)
	}
	g.out = make([]int, r)
	for k := range r {
		ek := (g.k[k]-1)*g.dil[k] + 1
		span := g.in[k] + g.pad[k] + g.pad[r+k] - ek
		if span < 0 {
			return nil, fmt.Errorf("kernel %v larger than the padded input %v", g.k, g.in)
		}
		g.out[k] = span/g.stride[k] + 1
	}
	return g, nil
}

func convKernel() kernel {
	return kernel{
		types: func(_ *Op, in []*meta) error {
			for k := range in {
				if in[k] != nil && in[k].dt != in[0].dt {
					return fmt.Errorf("inputs of differing types")
				}
			}
			return wantTypes(in, 0, floatTypes...)
		},
		infer: func(l *Op, in []*meta) (meta, error) {
			if len(in) < 2 || in[1] == nil {
				return meta{}, fmt.Errorf("want input and weights")
			}
			g, err := l.convGeom(in[0].shape, in[1].shape)
			if err != nil {
				return meta{}, err
			}
			if len(in) > 2 && in[2] != nil && !slices.Equal(in[2].shape, []int{g.m}) {
				return meta{}, fmt.Errorf("bias %v for %d output channels", in[2].shape, g.m)
			}
			return meta{dt: in[0].dt, shape: append([]int{g.n, g.m}, g.out...)}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			x, w := in[0], in[1]
			g, err := l.convGeom(x.shape, w.shape)
			if err != nil {
				return nil, err
			}
			r := len(g.in)
			inSize, kSize, outSize := shapeSize(g.in), shapeSize(g.k), shapeSize(g.out)
			cg, mg := g.c/g.group, g.m/g.group
			inSt, kSt, outSt := strides(g.in), strides(g.k), strides(g.out)
			y := newArr(out)
			oc := make([]int, r)
			kc := make([]int, r)
			for b := range g.n {
				for m := range g.m {
					grp := m / mg
					bias := 0.0
					if len(in) > 2 && in[2] != nil {
						bias = in[2].f[m]
					}
					for o := range outSize {
						rem := o
						for d := range r {
							oc[d] = rem / outSt[d]
							rem %= outSt[d]
						}
						s := bias
						for ci := range cg {
							c := grp*cg + ci
							xb := (b*g.c + c) * inSize
							wb := (m*cg + ci) * kSize
							for kk := range kSize {
								rem := kk
								off, inside := 0, true
								for d := range r {
									kc[d] = rem / kSt[d]
									rem %= kSt[d]
									p := oc[d]*g.stride[d] - g.pad[d] + kc[d]*g.dil[d]
									if p < 0 || p >= g.in[d] {
										inside = false
										break
									}
									off += p * inSt[d]
								}
								if inside {
									s += x.f[xb+off] * w.f[wb+kk]
								}
							}
						}
						y.f[(b*g.m+m)*outSize+o] = s
					}
				}
			}
			return y, nil
		},
	}
}
