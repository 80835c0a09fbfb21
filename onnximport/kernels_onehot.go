package onnximport

import (
	"fmt"
	"math"

	"github.com/tapenet/tapenet/graph"
)

// OneHot (opsets 9 and 11): indices (any numeric type, floats truncated
// toward zero as ONNX says), depth (a constant: it sets the output's
// shape) and values [off, on], whose type the output takes. An index in
// [-depth, depth-1] (negative ones count from the end, opset 11) sets one
// on value along the new axis; an index outside it leaves all off.

func init() {
	kernels["OneHot"] = oneHotKernel()
	genericAttrs["OneHot"] = []string{"axis"}
	constInputs["OneHot"] = []int{1}
	since["OneHot"] = 9
}

// oneHotDepth reads depth, a one-element constant holding a positive
// whole number no larger than the element budget.
func oneHotDepth(d *arr) (int, error) {
	if d == nil || d.len() != 1 {
		return 0, fmt.Errorf("depth: want one value")
	}
	v := 0.0
	if d.f != nil {
		v = d.f[0]
	} else if d.i != nil {
		v = float64(d.i[0])
	} else {
		return 0, fmt.Errorf("depth: want a number")
	}
	v = math.Trunc(v)
	if !(v >= 1) || v > graph.MaxElements {
		return 0, fmt.Errorf("depth %v: want 1 to %d", v, graph.MaxElements)
	}
	return int(v), nil
}

// oneHotAxis is the new axis's position in an output of rank r+1.
func oneHotAxis(l *Op, r int) (int, error) {
	a := l.attrInt("axis", -1)
	if a < -int64(r)-1 || a > int64(r) {
		return 0, fmt.Errorf("axis %d outside [%d, %d] for indices of rank %d", a, -r-1, r, r)
	}
	if a < 0 {
		a += int64(r) + 1
	}
	return int(a), nil
}

func oneHotKernel() kernel {
	return kernel{
		types: func(_ *Op, in []*meta) error {
			if len(in) != 3 || in[0] == nil || in[2] == nil {
				return fmt.Errorf("want inputs indices, depth and values")
			}
			if in[0].dt == graph.Bool {
				return fmt.Errorf("indices of type bool")
			}
			return nil
		},
		infer: func(l *Op, in []*meta) (meta, error) {
			if in[2].size() != 2 {
				return meta{}, fmt.Errorf("values of shape %v: want two, [off, on]", in[2].shape)
			}
			depth, err := oneHotDepth(l.constArrs(in)[1])
			if err != nil {
				return meta{}, err
			}
			axis, err := oneHotAxis(l, len(in[0].shape))
			if err != nil {
				return meta{}, err
			}
			if n := in[0].size(); n > 0 && depth > graph.MaxElements/n {
				return meta{}, fmt.Errorf("%d indices of depth %d: over %d values", n, depth, graph.MaxElements)
			}
			shape := append(append(append([]int{}, in[0].shape[:axis]...), depth), in[0].shape[axis:]...)
			return meta{dt: in[2].dt, shape: shape}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			x, vals := in[0], in[2]
			axis, err := oneHotAxis(l, len(x.shape))
			if err != nil {
				return nil, err
			}
			depth := out.shape[axis]
			inner := shapeSize(x.shape[axis:])
			y := newArr(out)
			set := func(p, k int) {
				switch {
				case y.f != nil:
					y.f[p] = vals.f[k]
				case y.b != nil:
					y.b[p] = vals.b[k]
				default:
					y.i[p] = vals.i[k]
				}
			}
			for p := range y.len() {
				set(p, 0)
			}
			for p := range x.len() {
				var id int64
				if x.f != nil {
					v := math.Trunc(x.f[p])
					if math.IsNaN(v) || math.Abs(v) > float64(depth) {
						continue
					}
					id = int64(v)
				} else {
					id = x.i[p]
				}
				if id < -int64(depth) || id >= int64(depth) {
					continue
				}
				if id < 0 {
					id += int64(depth)
				}
				o, q := p/inner, p%inner
				set((o*depth+int(id))*inner+q, 1)
			}
			return y, nil
		},
	}
}
