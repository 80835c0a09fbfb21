package onnximport

import (
	"fmt"
	"math"

	"github.com/tapenet/tapenet/graph"
)

// Resize in nearest mode (and Upsample, its form before opset 10), with
// scales or sizes constant, in the form PyTorch's nearest Upsample exports
// (coordinate_transformation_mode asymmetric, nearest_mode floor); other
// forms, linear and cubic modes are refused.

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
		mode := "nearest"
		if m, ok := l.Strings["mode"]; ok {
			mode = m
		}
		if mode != "nearest" {
			return unsupported("%s mode %q (nearest only)", l.Op, mode)
		}
		if l.Strings["coordinate_transformation_mode"] == "tf_crop_and_resize" {
			return unsupported("coordinate_transformation_mode tf_crop_and_resize")
		}
		if l.attrInt("exclude_outside", 0) != 0 {
			return unsupported("exclude_outside")
		}
		if ctm, nm := resizeModes(l); ctm != "asymmetric" || nm != "floor" {
			// Only the form PyTorch's nearest Upsample exports is checked
			// against a reference (testdata/torch): others are refused
			// rather than guessed.
			return unsupported("%s with coordinate_transformation_mode %q and nearest_mode %q (tapenet reads asymmetric and floor)", l.Op, ctm, nm)
		}
		return nil
	}
	return kernel{
		types: func(l *Op, in []*meta) error {
			if err := check(l); err != nil {
				return err
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
			ctm, nm := resizeModes(l)
			x := in[0]
			// The source index along each axis of every output index.
			src := make([][]int, len(out.shape))
			for d, n := range out.shape {
				src[d] = make([]int, n)
				for o := range n {
					var c float64
					switch ctm {
					case "asymmetric":
						c = float64(o) / sc[d]
					case "align_corners":
						if n > 1 {
							c = float64(o) * float64(x.shape[d]-1) / float64(n-1)
						}
					case "pytorch_half_pixel":
						if n > 1 {
							c = (float64(o)+0.5)/sc[d] - 0.5
						}
					case "tf_half_pixel_for_nearest":
						c = (float64(o) + 0.5) / sc[d]
					case "half_pixel":
						c = (float64(o)+0.5)/sc[d] - 0.5
					default:
						return nil, unsupported("coordinate_transformation_mode %q", ctm)
					}
					var i float64
					switch nm {
					case "floor":
						i = math.Floor(c)
					case "ceil":
						i = math.Ceil(c)
					case "round_prefer_ceil":
						i = math.Floor(c + 0.5)
					case "round_prefer_floor":
						i = math.Ceil(c - 0.5)
					default:
						return nil, unsupported("nearest_mode %q", nm)
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
