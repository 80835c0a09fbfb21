package onnximport

import (
	"fmt"
	"math"

	"github.com/tapenet/tapenet/graph"
)

// MaxPool (its Indices output too) and AveragePool on whole tensors: any
// spatial rank, strides, dilations (MaxPool), asymmetric pads, auto_pad,
// ceil_mode, count_include_pad.

func init() {
	kernels["MaxPool"] = poolKernel(true)
	kernels["AveragePool"] = poolKernel(false)
	genericAttrs["MaxPool"] = []string{"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"}
	genericAttrs["AveragePool"] = []string{"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"}
}

func (l *Op) poolGeom(x []int) (*convGeom, error) {
	if len(x) < 3 {
		return nil, fmt.Errorf("input %v (want (N, C, spatial...))", x)
	}
	r := len(x) - 2
	ks, ok := l.Ints["kernel_shape"]
	if !ok || len(ks) != r {
		return nil, fmt.Errorf("kernel_shape %v for %d spatial axes", ks, r)
	}
	g := &convGeom{n: x[0], c: x[1], in: x[2:], k: make([]int, r)}
	for k, v := range ks {
		if v < 1 {
			return nil, fmt.Errorf("kernel_shape %v", ks)
		}
		g.k[k] = int(v)
	}
	read := func(name string, n int) ([]int, error) {
		out := make([]int, n)
		def := 1
		if name == "pads" {
			def = 0
		}
		for k := range out {
			out[k] = def
		}
		if v, ok := l.Ints[name]; ok {
			if len(v) != n {
				return nil, fmt.Errorf("%s %v for %d spatial axes", name, v, r)
			}
			for k, d := range v {
				if d < int64(def) {
					return nil, unsupported("%s %v", name, v)
				}
				out[k] = int(d)
			}
		}
		return out, nil
	}
	var err error
	if g.stride, err = read("strides", r); err != nil {
		return nil, err
	}
	if g.dil, err = read("dilations", r); err != nil {
		return nil, err
	}
	if g.pad, err = read("pads", 2*r); err != nil {
		return nil, err
	}
	ceil := l.attrInt("ceil_mode", 0) != 0
	auto := "NOTSET"
	if s, ok := l.Strings["auto_pad"]; ok {
		auto = s
	}
	g.out = make([]int, r)
	for k := range r {
		ek := (g.k[k]-1)*g.dil[k] + 1
		switch auto {
		case "NOTSET":
		case "VALID":
			g.pad[k], g.pad[r+k] = 0, 0
		case "SAME_UPPER", "SAME_LOWER":
			outK := (g.in[k] + g.stride[k] - 1) / g.stride[k]
			total := max(0, (outK-1)*g.stride[k]+ek-g.in[k])
			lo := total / 2
			if auto == "SAME_LOWER" {
				lo = total - total/2
			}
			g.pad[k], g.pad[r+k] = lo, total-lo
		default:
			return nil, fmt.Errorf("auto_pad %q", auto)
		}
		span := g.in[k] + g.pad[k] + g.pad[r+k] - ek
		if span < 0 {
			return nil, fmt.Errorf("kernel %v larger than the padded input %v", g.k, g.in)
		}
		g.out[k] = span/g.stride[k] + 1
		if ceil && span%g.stride[k] != 0 {
			if auto != "NOTSET" {
				return nil, unsupported("ceil_mode with auto_pad %s", auto)
			}
			g.out[k]++
		}
	}
	return g, nil
}

func poolKernel(isMax bool) kernel {
	return kernel{
		types: func(l *Op, in []*meta) error {
			if l.attrInt("storage_order", 0) != 0 {
				return unsupported("storage_order 1 (column-major indices)")
			}
			return wantTypes(in, 0, floatTypes...)
		},
		infer: func(l *Op, in []*meta) (meta, error) {
			g, err := l.poolGeom(in[0].shape)
			if err != nil {
				return meta{}, err
			}
			dt := in[0].dt
			if l.Output == 1 {
				dt = graph.Int64
			}
			return meta{dt: dt, shape: append([]int{g.n, g.c}, g.out...)}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			x := in[0]
			g, err := l.poolGeom(x.shape)
			if err != nil {
				return nil, err
			}
			r := len(g.in)
			inSize, kSize, outSize := shapeSize(g.in), shapeSize(g.k), shapeSize(g.out)
			inSt, kSt, outSt := strides(g.in), strides(g.k), strides(g.out)
			include := l.attrInt("count_include_pad", 0) != 0
			y := newArr(out)
			oc, kc := make([]int, r), make([]int, r)
			for p := range g.n * g.c {
				base := p * inSize
				for o := range outSize {
					rem := o
					for d := range r {
						oc[d] = rem / outSt[d]
						rem %= outSt[d]
					}
					best, at, sum, count := math.Inf(-1), -1, 0.0, 0
					for kk := range kSize {
						rem := kk
						off, inside, inPad := 0, true, true
						for d := range r {
							kc[d] = rem / kSt[d]
							rem %= kSt[d]
							q := oc[d]*g.stride[d] - g.pad[d] + kc[d]*g.dil[d]
							if q < 0 || q >= g.in[d] {
								inside = false
							}
							if q < -g.pad[d] || q >= g.in[d]+g.pad[r+d] {
								inPad = false
							}
							off += q * inSt[d]
						}
						if include && inPad {
							count++
						}
						if !inside {
							continue
						}
						v := x.f[base+off]
						if !include {
							count++
						}
						sum += v
						if v > best || at < 0 {
							best, at = v, base+off
						}
					}
					dst := p*outSize + o
					switch {
					case isMax && l.Output == 1:
						y.i[dst] = int64(at)
					case isMax:
						y.f[dst] = best
					case count == 0:
						y.f[dst] = math.NaN()
					default:
						y.f[dst] = sum / float64(count)
					}
				}
			}
			return y, nil
		},
	}
}
