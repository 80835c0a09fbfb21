package onnximport

import (
	"fmt"
	"math"
	"slices"

	"github.com/tapenet/tapenet/graph"
)

// Resize (and Upsample, its form before opset 10) in nearest, linear and
// cubic modes on any rank, with scales or sizes (constants, or read at run
// time in a model of fixed shapes), with the coordinate transformations
// half_pixel, pytorch_half_pixel, align_corners, asymmetric and (nearest)
// tf_half_pixel_for_nearest, every nearest_mode, cubic_coeff_a and
// exclude_outside; tf_crop_and_resize is refused.

func init() {
	kernels["Resize"] = resizeKernel()
	kernels["Upsample"] = resizeKernel()
	genericAttrs["Resize"] = []string{"mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a", "exclude_outside", "extrapolation_value"}
	genericAttrs["Upsample"] = []string{"mode", "scales"}
	constInputs["Resize"] = []int{1, 2, 3}
	constInputs["Upsample"] = []int{1}
	since["Resize"] = 10
}

// resizeScales returns the output shape and the scale per axis.
func (l *Op) resizeScales(in []*meta) ([]int, []float64, error) {
	x := in[0].shape
	c := l.constArrs(in)
	var scales []float64
	var sizes []int64
	switch {
	case l.Op == "Upsample" && l.Opset < 9:
		scales = l.Floats["scales"]
	case l.Op == "Upsample":
		if len(c) > 1 && c[1] != nil {
			scales = c[1].f
		}
	case l.Opset < 11: // Resize-10: X, scales
		if len(c) > 1 && c[1] != nil {
			scales = c[1].f
		}
	default: // X, roi, scales, sizes
		if len(c) > 2 && c[2] != nil && len(c[2].f) > 0 {
			scales = c[2].f
		}
		if len(c) > 3 && c[3] != nil && len(c[3].i) > 0 {
			sizes = c[3].i
		}
	}
	out := make([]int, len(x))
	sc := make([]float64, len(x))
	switch {
	case sizes != nil && scales == nil:
		if len(sizes) != len(x) {
			return nil, nil, fmt.Errorf("sizes %v for rank %d", sizes, len(x))
		}
		for k, s := range sizes {
			if s < 1 || s > graph.MaxElements {
				return nil, nil, fmt.Errorf("sizes %v", sizes)
			}
			out[k], sc[k] = int(s), float64(s)/float64(x[k])
		}
	case scales != nil && sizes == nil:
		if len(scales) != len(x) {
			return nil, nil, fmt.Errorf("scales %v for rank %d", scales, len(x))
		}
		for k, s := range scales {
			n := math.Floor(float64(x[k]) * s)
			if !(s > 0) || n < 1 || n > graph.MaxElements {
				return nil, nil, fmt.Errorf("scales %v", scales)
			}
			out[k], sc[k] = int(n), s
		}
	default:
		return nil, nil, unsupported("scales and sizes both given or neither")
	}
	if shapeSize(out) > graph.MaxElements {
		return nil, nil, fmt.Errorf("output %v too large", out)
	}
	return out, sc, nil
}

func resizeKernel() kernel {
	check := func(l *Op) error {
		switch mode := resizeMode(l); mode {
		case "nearest", "linear", "cubic":
		default:
			return unsupported("%s mode %q", l.Op, mode)
		}
		ctm, nm := resizeModes(l)
		switch ctm {
		case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric":
		case "tf_half_pixel_for_nearest":
			if resizeMode(l) != "nearest" {
				return unsupported("coordinate_transformation_mode %q in %s mode", ctm, resizeMode(l))
			}
		default:
			return unsupported("coordinate_transformation_mode %q", ctm)
		}
		switch nm {
		case "floor", "ceil", "round_prefer_ceil", "round_prefer_floor":
		default:
			return unsupported("nearest_mode %q", nm)
		}
		if l.attrInt("exclude_outside", 0) != 0 && resizeMode(l) != "cubic" {
			return unsupported("exclude_outside in %s mode", resizeMode(l))
		}
		return nil
	}
	return kernel{
		types: func(l *Op, in []*meta) error {
			if err := check(l); err != nil {
				return err
			}
			if resizeMode(l) != "nearest" {
				return wantTypes(in, 0, floatTypes...)
			}
			return wantTypes(in, 0, numTypes...)
		},
		infer: func(l *Op, in []*meta) (meta, error) {
			if err := check(l); err != nil {
				return meta{}, err
			}
			out, _, err := l.resizeScales(in)
			return meta{dt: in[0].dt, shape: out}, err
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			metas := make([]*meta, len(in))
			for k, a := range in {
				if a != nil {
					metas[k] = &a.meta
				}
			}
			_, sc, err := l.resizeScales(metas)
			if err != nil {
				return nil, err
			}
			if resizeMode(l) != "nearest" {
				return resizeInterp(l, in[0], out, sc), nil
			}
			ctm, nm := resizeModes(l)
			x := in[0]
			// The source index along each axis of every output index.
			src := make([][]int, len(out.shape))
			for d, n := range out.shape {
				src[d] = make([]int, n)
				for o := range n {
					c := resizeCoord(ctm, o, n, x.shape[d], sc[d])
					var i float64
					switch nm {
					case "floor":
						i = math.Floor(c)
					case "ceil":
						i = math.Ceil(c)
					case "round_prefer_ceil":
						i = math.Floor(c + 0.5)
					default: // round_prefer_floor
						i = math.Ceil(c - 0.5)
					}
					src[d][o] = int(min(max(i, 0), float64(x.shape[d]-1)))
				}
			}
			st := strides(x.shape)
			idx := make([]int, out.size())
			coord := make([]int, len(out.shape))
			for k := range idx {
				s := 0
				for d := range coord {
					s += src[d][coord[d]] * st[d]
				}
				idx[k] = s
				for d := len(coord) - 1; d >= 0; d-- {
					coord[d]++
					if coord[d] < out.shape[d] {
						break
					}
					coord[d] = 0
				}
			}
			return gatherArr(x, out, idx), nil
		},
	}
}

// resizeMode returns the interpolation mode ("bilinear", an Upsample
// spelling before opset 9, is "linear").
func resizeMode(l *Op) string {
	m, ok := l.Strings["mode"]
	switch {
	case !ok:
		return "nearest"
	case m == "bilinear" && l.Op == "Upsample":
		return "linear"
	}
	return m
}

// resizeCoord maps output index o (along an axis of in input elements,
// scale s) to its coordinate in the input, as ONNX's
// coordinate_transformation_mode says. The output length in align_corners
// and pytorch_half_pixel is in·s, as in ONNX's reference (not rounded: a
// scale of 0.6 on 4 elements stretches over 2.4).
func resizeCoord(ctm string, o, _, in int, s float64) float64 {
	n := float64(in) * s
	switch ctm {
	case "asymmetric":
		return float64(o) / s
	case "align_corners":
		if n == 1 {
			return 0
		}
		return float64(o) * float64(in-1) / (n - 1)
	case "pytorch_half_pixel":
		if n == 1 {
			return -0.5
		}
		return (float64(o)+0.5)/s - 0.5
	case "tf_half_pixel_for_nearest":
		return (float64(o) + 0.5) / s
	default: // half_pixel
		return (float64(o)+0.5)/s - 0.5
	}
}

// resizeTaps gives, for every output index along one axis, the input
// indices it reads (clamped to the edge, as ONNX's reference pads with
// edge values) and their weights: 2 taps for linear, 4 for cubic (Keys'
// kernel with cubic_coeff_a; exclude_outside drops taps outside the input
// and renormalises).
func resizeTaps(l *Op, n, in int, s float64) (idx []int, w []float64, taps int) {
	ctm, _ := resizeModes(l)
	cubic := resizeMode(l) == "cubic"
	taps = 2
	if cubic {
		taps = 4
	}
	a := l.attrFloat("cubic_coeff_a", -0.75)
	exclude := l.attrInt("exclude_outside", 0) != 0
	idx, w = make([]int, n*taps), make([]float64, n*taps)
	for o := range n {
		c := resizeCoord(ctm, o, n, in, s)
		x0 := math.Floor(c)
		r := c - x0
		var ws []float64
		first := int(x0)
		if cubic {
			first--
			ws = []float64{
				((a*(r+1)-5*a)*(r+1)+8*a)*(r+1) - 4*a,
				((a+2)*r-(a+3))*r*r + 1,
				((a+2)*(1-r)-(a+3))*(1-r)*(1-r) + 1,
				((a*(2-r)-5*a)*(2-r)+8*a)*(2-r) - 4*a,
			}
		} else {
			ws = []float64{1 - r, r}
		}
		sum := 0.0
		for t := range taps {
			i := first + t
			if exclude && (i < 0 || i >= in) {
				ws[t] = 0
			}
			sum += ws[t]
			idx[o*taps+t] = min(max(i, 0), in-1)
		}
		for t := range taps {
			if exclude && sum != 0 {
				ws[t] /= sum
			}
			w[o*taps+t] = ws[t]
		}
	}
	return idx, w, taps
}

// resizeInterp resizes x to out in linear or cubic mode, one axis after
// the other (the interpolation is separable).
func resizeInterp(l *Op, x *arr, out meta, sc []float64) *arr {
	cur, shape := x.f, slices.Clone(x.shape)
	for d := range shape {
		n := out.shape[d]
		if n == shape[d] && sc[d] == 1 {
			continue // every mode maps an axis of scale 1 onto itself
		}
		idx, w, taps := resizeTaps(l, n, shape[d], sc[d])
		outer, inner := shapeSize(shape[:d]), shapeSize(shape[d+1:])
		next := make([]float64, outer*n*inner)
		for o := range outer {
			src := cur[o*shape[d]*inner:]
			dst := next[o*n*inner:]
			for j := range n {
				row := dst[j*inner : (j+1)*inner]
				for t := range taps {
					wt, from := w[j*taps+t], src[idx[j*taps+t]*inner:]
					if wt == 0 {
						continue
					}
					for e := range row {
						row[e] += wt * from[e]
					}
				}
			}
		}
		cur, shape[d] = next, n
	}
	y := &arr{meta: meta{dt: out.dt, shape: slices.Clone(out.shape)}, f: cur}
	if len(cur) > 0 && &cur[0] == &x.f[0] {
		y.f = slices.Clone(cur)
	}
	return y
}

// resizeModes returns the coordinate transformation and nearest modes,
// with each opset's defaults.
func resizeModes(l *Op) (ctm, nm string) {
	ctm, nm = "half_pixel", "round_prefer_floor"
	if l.Op == "Upsample" || l.Opset < 11 {
		ctm, nm = "asymmetric", "floor"
	}
	if m, ok := l.Strings["coordinate_transformation_mode"]; ok {
		ctm = m
	}
	if m, ok := l.Strings["nearest_mode"]; ok {
		nm = m
	}
	return ctm, nm
}
