package onnximport

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/tapenet/tapenet/graph"
)

// Kernels of indexing and sequence operators: Trilu, CumSum,
// GatherElements, ScatterElements, GatherND, EyeLike, Size, Range, OneHot,
// and the operators of several outputs (Split, TopK,
// LayerNormalization), one Op per output.

func init() {
	kernels["Trilu"] = triluKernel()
	kernels["CumSum"] = cumsumKernel()
	kernels["GatherElements"] = gatherElementsKernel()
	kernels["ScatterElements"] = scatterElementsKernel()
	kernels["EyeLike"] = eyeLikeKernel()
	kernels["Size"] = kernel{
		infer: func(_ *Op, in []*meta) (meta, error) { return meta{dt: graph.Int64, shape: []int{}}, nil },
		run: func(_ *Op, in []*arr, out meta) (*arr, error) {
			y := newArr(out)
			y.i = []int64{int64(in[0].size())}
			return y, nil
		},
	}
	kernels["Range"] = rangeKernel()
	kernels["Split"] = splitKernel()
	kernels["TopK"] = topKKernel()
	kernels["LayerNormalization"] = layerNormKernel()
	genericAttrs["Trilu"] = []string{"upper"}
	genericAttrs["CumSum"] = []string{"exclusive", "reverse"}
	genericAttrs["GatherElements"] = []string{"axis"}
	genericAttrs["ScatterElements"] = []string{"axis"}
	genericAttrs["EyeLike"] = []string{"k", "dtype"}
	genericAttrs["Split"] = []string{"axis", "split"}
	genericAttrs["TopK"] = []string{"axis", "largest", "sorted"}
	genericAttrs["LayerNormalization"] = []string{"axis", "epsilon", "stash_type"}
	constInputs["Range"] = []int{0, 1, 2}
	constInputs["Split"] = []int{1}
	constInputs["TopK"] = []int{1}
	attrsUntil["Split"] = map[string]int64{"split": 12}
	inputsFrom["Split"] = map[int]int64{1: 13}
	since["Trilu"], since["CumSum"], since["GatherElements"], since["ScatterElements"] = 14, 11, 11, 11
	since["EyeLike"], since["Range"], since["LayerNormalization"] = 9, 11, 17
}

// scalarInt reads input k, a one-element integer tensor, or def.
func scalarIntOf(in []*arr, k int, def int64) (int64, error) {
	if k >= len(in) || in[k] == nil {
		return def, nil
	}
	if in[k].i == nil || len(in[k].i) != 1 {
		return 0, fmt.Errorf("input %d: want one integer", k)
	}
	return in[k].i[0], nil
}

func triluKernel() kernel {
	return kernel{
		types: func(_ *Op, in []*meta) error {
			if len(in) > 1 && in[1] != nil {
				return wantTypes(in, 1, graph.Int64)
			}
			return nil
		},
		infer: func(l *Op, in []*meta) (meta, error) {
			if len(in[0].shape) < 2 {
				return meta{}, fmt.Errorf("input of rank %d (want at least 2)", len(in[0].shape))
			}
			return sameAs(0, "")(l, in)
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			k, err := scalarIntOf(in, 1, 0)
			if err != nil {
				return nil, err
			}
			upper := l.attrInt("upper", 1) != 0
			y := copyArr(in[0], out)
			r, c := out.shape[len(out.shape)-2], out.shape[len(out.shape)-1]
			for p := 0; p < out.size(); p++ {
				i, j := int64((p/c)%r), int64(p%c)
				keep := (upper && j-i >= k) || (!upper && j-i <= k)
				if !keep {
					switch {
					case y.f != nil:
						y.f[p] = 0
					case y.b != nil:
						y.b[p] = false
					default:
						y.i[p] = 0
					}
				}
			}
			return y, nil
		},
	}
}

func cumsumKernel() kernel {
	return kernel{
		types: func(_ *Op, in []*meta) error {
			if err := wantTypes(in, 0, numTypes...); err != nil {
				return err
			}
			return wantTypes(in, 1, graph.Int64, graph.Int32)
		},
		infer: sameAs(0, ""),
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			a64, err := scalarIntOf(in, 1, 0)
			if err != nil {
				return nil, err
			}
			x := in[0]
			a, err := normAxis(a64, len(x.shape))
			if err != nil {
				return nil, err
			}
			excl, rev := l.attrInt("exclusive", 0) != 0, l.attrInt("reverse", 0) != 0
			outer, n, inner := shapeSize(x.shape[:a]), x.shape[a], shapeSize(x.shape[a+1:])
			y := newArr(out)
			for o := range outer {
				for i := range inner {
					var sf float64
					var si int64
					for s := range n {
						j := s
						if rev {
							j = n - 1 - s
						}
						p := (o*n+j)*inner + i
						if y.f != nil {
							if excl {
								y.f[p] = sf
								sf += x.f[p]
							} else {
								sf += x.f[p]
								y.f[p] = sf
							}
						} else {
							if excl {
								y.i[p] = si
								si += x.i[p]
							} else {
								si += x.i[p]
								y.i[p] = wrapDType(si, out.dt)
							}
						}
					}
				}
			}
			return y, nil
		},
	}
}

// elementsIndex returns, for GatherElements and ScatterElements, the
// element of data each element of indices (shape idx) addresses.
func elementsIndex(data []int, idx []int, ind []int64, a int) ([]int, error) {
	if len(idx) != len(data) {
		return nil, fmt.Errorf("indices of rank %d for data of rank %d", len(idx), len(data))
	}
	st := strides(data)
	out := make([]int, shapeSize(idx))
	coord := make([]int, len(idx))
	for k := range out {
		s := 0
		for d := range coord {
			c := coord[d]
			if d == a {
				v := ind[k]
				if v < 0 {
					v += int64(data[a])
				}
				if v < 0 || v >= int64(data[a]) {
					return nil, fmt.Errorf("index %d out of range for axis %d of size %d", ind[k], a, data[a])
				}
				c = int(v)
			} else if c >= data[d] {
				return nil, fmt.Errorf("indices of shape %v for data %v", idx, data)
			}
			s += c * st[d]
		}
		out[k] = s
		for d := len(coord) - 1; d >= 0; d-- {
			coord[d]++
			if coord[d] < idx[d] {
				break
			}
			coord[d] = 0
		}
	}
	return out, nil
}

func gatherElementsKernel() kernel {
	return kernel{
		types: func(_ *Op, in []*meta) error { return wantTypes(in, 1, graph.Int64, graph.Int32) },
		infer: func(l *Op, in []*meta) (meta, error) {
			if _, err := normAxis(l.attrInt("axis", 0), len(in[0].shape)); err != nil {
				return meta{}, err
			}
			if len(in[1].shape) != len(in[0].shape) {
				return meta{}, fmt.Errorf("indices of rank %d for data of rank %d", len(in[1].shape), len(in[0].shape))
			}
			return meta{dt: in[0].dt, shape: slices.Clone(in[1].shape)}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			a, _ := normAxis(l.attrInt("axis", 0), len(in[0].shape))
			src, err := elementsIndex(in[0].shape, in[1].shape, in[1].i, a)
			if err != nil {
				return nil, err
			}
			return gatherArr(in[0], out, src), nil
		},
	}
}

func scatterElementsKernel() kernel {
	return kernel{
		types: func(_ *Op, in []*meta) error {
			if err := wantTypes(in, 1, graph.Int64, graph.Int32); err != nil {
				return err
			}
			if len(in) != 3 || in[2] == nil || in[2].dt != in[0].dt {
				return fmt.Errorf("want data, indices and updates of the data's type")
			}
			return nil
		},
		infer: func(l *Op, in []*meta) (meta, error) {
			if _, err := normAxis(l.attrInt("axis", 0), len(in[0].shape)); err != nil {
				return meta{}, err
			}
			if !slices.Equal(in[1].shape, in[2].shape) {
				return meta{}, fmt.Errorf("indices %v and updates %v differ in shape", in[1].shape, in[2].shape)
			}
			return meta{dt: in[0].dt, shape: slices.Clone(in[0].shape)}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			a, _ := normAxis(l.attrInt("axis", 0), len(in[0].shape))
			dst, err := elementsIndex(in[0].shape, in[1].shape, in[1].i, a)
			if err != nil {
				return nil, err
			}
			y := copyArr(in[0], out)
			for k, d := range dst {
				setElem(y, d, in[2], k)
			}
			return y, nil
		},
	}
}

func eyeLikeKernel() kernel {
	outType := func(l *Op, in []*meta) (graph.DType, error) {
		if v, ok := l.Ints["dtype"]; ok && len(v) == 1 {
			return onnxDType(int32(v[0]))
		}
		return in[0].dt, nil
	}
	return kernel{
		types: func(l *Op, in []*meta) error {
			_, err := outType(l, in)
			return err
		},
		infer: func(l *Op, in []*meta) (meta, error) {
			if len(in[0].shape) != 2 {
				return meta{}, fmt.Errorf("input of rank %d (want 2)", len(in[0].shape))
			}
			dt, err := outType(l, in)
			return meta{dt: dt, shape: slices.Clone(in[0].shape)}, err
		},
		run: func(l *Op, _ []*arr, out meta) (*arr, error) {
			y := newArr(out)
			k := l.attrInt("k", 0)
			r, c := out.shape[0], out.shape[1]
			for i := range r {
				j := int64(i) + k
				if j < 0 || j >= int64(c) {
					continue
				}
				p := i*c + int(j)
				switch {
				case y.f != nil:
					y.f[p] = 1
				case y.b != nil:
					y.b[p] = true
				default:
					y.i[p] = 1
				}
			}
			return y, nil
		},
	}
}

func rangeKernel() kernel {
	count := func(in []*arr) (int, error) {
		v := func(k int) float64 {
			if in[k].f != nil {
				return in[k].f[0]
			}
			return float64(in[k].i[0])
		}
		start, limit, delta := v(0), v(1), v(2)
		if delta == 0 {
			return 0, fmt.Errorf("delta 0")
		}
		n := math.Ceil((limit - start) / delta)
		if n < 0 || math.IsNaN(n) {
			n = 0
		}
		if n > graph.MaxElements {
			return 0, fmt.Errorf("%v values", n)
		}
		return int(n), nil
	}
	return kernel{
		types: func(_ *Op, in []*meta) error {
			for k := range 3 {
				if k >= len(in) || in[k] == nil || in[k].dt != in[0].dt || in[k].size() != 1 {
					return fmt.Errorf("want three scalars of one type")
				}
			}
			return nil
		},
		infer: func(l *Op, in []*meta) (meta, error) {
			n, err := count(l.constArrs(in))
			return meta{dt: in[0].dt, shape: []int{n}}, err
		},
		run: func(_ *Op, in []*arr, out meta) (*arr, error) {
			y := newArr(out)
			for k := range out.shape[0] {
				if y.f != nil {
					y.f[k] = in[0].f[0] + float64(k)*in[2].f[0]
					if out.dt == graph.Float32 { // numpy's float32 arange: start + k*delta in float32
						y.f[k] = float64(float32(in[0].f[0]) + float32(k)*float32(in[2].f[0]))
					}
				} else {
					y.i[k] = wrapDType(in[0].i[0]+int64(k)*in[2].i[0], out.dt)
				}
			}
			return y, nil
		},
	}
}

// splitSizes returns the sizes of Split's outputs along the axis.
func (l *Op) splitSizes(in []*meta) (int, []int, error) {
	a, err := normAxis(l.attrInt("axis", 0), len(in[0].shape))
	if err != nil {
		return 0, nil, err
	}
	dim := in[0].shape[a]
	var sizes []int64
	if v, ok := l.Ints["split"]; ok {
		sizes = v
	}
	if c := l.constArrs(in); len(c) > 1 && c[1] != nil {
		sizes = c[1].i
	}
	out := make([]int, l.Outputs)
	if sizes == nil {
		if l.Outputs < 1 || dim%l.Outputs != 0 {
			return 0, nil, unsupported("Split of %d into %d unequal parts without sizes", dim, l.Outputs)
		}
		for k := range out {
			out[k] = dim / l.Outputs
		}
		return a, out, nil
	}
	if len(sizes) != l.Outputs {
		return 0, nil, fmt.Errorf("split %v for %d outputs", sizes, l.Outputs)
	}
	total := 0
	for k, s := range sizes {
		if s < 0 {
			return 0, nil, fmt.Errorf("split %v", sizes)
		}
		out[k] = int(s)
		total += int(s)
	}
	if total != dim {
		return 0, nil, fmt.Errorf("split %v of a dimension of %d", sizes, dim)
	}
	return a, out, nil
}

func splitKernel() kernel {
	return kernel{
		infer: func(l *Op, in []*meta) (meta, error) {
			a, sizes, err := l.splitSizes(in)
			if err != nil {
				return meta{}, err
			}
			shape := slices.Clone(in[0].shape)
			shape[a] = sizes[l.Output]
			return meta{dt: in[0].dt, shape: shape}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			metas := []*meta{&in[0].meta}
			if len(in) > 1 && in[1] != nil {
				metas = append(metas, &in[1].meta)
			}
			a, sizes, err := l.splitSizes(metas)
			if err != nil {
				return nil, err
			}
			from := 0
			for k := range l.Output {
				from += sizes[k]
			}
			x := in[0]
			outer, n, inner := shapeSize(x.shape[:a]), x.shape[a], shapeSize(x.shape[a+1:])
			src := make([]int, 0, out.size())
			for o := range outer {
				for j := from; j < from+sizes[l.Output]; j++ {
					for i := range inner {
						src = append(src, (o*n+j)*inner+i)
					}
				}
			}
			return gatherArr(x, out, src), nil
		},
	}
}

func topKKernel() kernel {
	kOf := func(l *Op, in []*meta) (int, int, error) {
		a, err := normAxis(l.attrInt("axis", -1), len(in[0].shape))
		if err != nil {
			return 0, 0, err
		}
		c := l.constArrs(in)
		if len(c) < 2 || c[1] == nil || len(c[1].i) != 1 {
			return 0, 0, unsupported("K computed at run time")
		}
		k := c[1].i[0]
		if k < 0 || k > int64(in[0].shape[a]) {
			return 0, 0, fmt.Errorf("k %d for an axis of %d", k, in[0].shape[a])
		}
		return a, int(k), nil
	}
	return kernel{
		types: func(_ *Op, in []*meta) error { return wantTypes(in, 0, numTypes...) },
		infer: func(l *Op, in []*meta) (meta, error) {
			a, k, err := kOf(l, in)
			if err != nil {
				return meta{}, err
			}
			shape := slices.Clone(in[0].shape)
			shape[a] = k
			dt := in[0].dt
			if l.Output == 1 {
				dt = graph.Int64
			}
			return meta{dt: dt, shape: shape}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			a, k, err := kOf(l, []*meta{&in[0].meta, &in[1].meta})
			if err != nil {
				return nil, err
			}
			if l.attrInt("sorted", 1) == 0 {
				return nil, unsupported("TopK with sorted=0 (the order is unspecified)")
			}
			largest := l.attrInt("largest", 1) != 0
			x := in[0]
			val := func(p int) float64 {
				if x.f != nil {
					return x.f[p]
				}
				return float64(x.i[p])
			}
			outer, n, inner := shapeSize(x.shape[:a]), x.shape[a], shapeSize(x.shape[a+1:])
			y := newArr(out)
			order := make([]int, n)
			for o := range outer {
				for i := range inner {
					at := func(j int) int { return (o*n+j)*inner + i }
					for j := range order {
						order[j] = j
					}
					sort.SliceStable(order, func(p, q int) bool {
						vp, vq := val(at(order[p])), val(at(order[q]))
						if largest {
							return vp > vq
						}
						return vp < vq
					})
					for j := range k {
						dst := (o*k+j)*inner + i
						if l.Output == 1 {
							y.i[dst] = int64(order[j])
						} else {
							setElem(y, dst, x, at(order[j]))
						}
					}
				}
			}
			return y, nil
		},
	}
}

func layerNormKernel() kernel {
	return kernel{
		types: func(_ *Op, in []*meta) error {
			if err := wantTypes(in, 0, floatTypes...); err != nil {
				return err
			}
			if len(in) < 2 || in[1] == nil {
				return fmt.Errorf("the Scale input is missing")
			}
			for k := 1; k < len(in); k++ {
				if in[k] != nil && in[k].dt != in[0].dt {
					return fmt.Errorf("scale or bias of type %s for %s", in[k].dt, in[0].dt)
				}
			}
			return nil
		},
		infer: func(l *Op, in []*meta) (meta, error) {
			a, err := normAxis(l.attrInt("axis", -1), len(in[0].shape))
			if err != nil {
				return meta{}, err
			}
			if l.attrInt("stash_type", 1) != 1 {
				return meta{}, unsupported("stash_type %d", l.attrInt("stash_type", 1))
			}
			norm := in[0].shape[a:]
			for k := 1; k < min(len(in), 3); k++ {
				if in[k] == nil {
					continue
				}
				if b, err := broadcastShapes(in[k].shape, norm); err != nil || len(in[k].shape) > len(norm) || !slices.Equal(b, norm) {
					return meta{}, fmt.Errorf("scale or bias of shape %v for normalised axes %v", in[k].shape, norm)
				}
			}
			if l.Output == 0 {
				return meta{dt: in[0].dt, shape: slices.Clone(in[0].shape)}, nil
			}
			shape := slices.Clone(in[0].shape)
			for d := a; d < len(shape); d++ {
				shape[d] = 1
			}
			return meta{dt: graph.Float32, shape: shape}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			x := in[0]
			a, _ := normAxis(l.attrInt("axis", -1), len(x.shape))
			eps := l.attrFloat("epsilon", 1e-5)
			rows, n := shapeSize(x.shape[:a]), shapeSize(x.shape[a:])
			norm := x.shape[a:]
			var is, ib []int
			if in[1] != nil {
				is = bcastIndex(in[1].shape, norm)
			}
			if len(in) > 2 && in[2] != nil {
				ib = bcastIndex(in[2].shape, norm)
			}
			y := newArr(out)
			for r := range rows {
				row := x.f[r*n : (r+1)*n]
				if x.dt == graph.Float32 { // computed in float32, as stash_type 1 says
					var mean, vr float32
					for _, v := range row {
						mean += float32(v)
					}
					mean /= float32(n)
					for _, v := range row {
						d := float32(v) - mean
						vr += d * d
					}
					vr /= float32(n)
					inv := 1 / float32(math.Sqrt(float64(vr+float32(eps))))
					switch l.Output {
					case 1:
						y.f[r] = float64(mean)
					case 2:
						y.f[r] = float64(inv)
					default:
						for j, v := range row {
							o := (float32(v) - mean) * inv
							if is != nil {
								o *= float32(in[1].f[is[j]])
							}
							if ib != nil {
								o += float32(in[2].f[ib[j]])
							}
							y.f[r*n+j] = float64(o)
						}
					}
					continue
				}
				mean, vr := 0.0, 0.0
				for _, v := range row {
					mean += v
				}
				mean /= float64(n)
				for _, v := range row {
					vr += (v - mean) * (v - mean)
				}
				vr /= float64(n)
				inv := 1 / math.Sqrt(vr+eps)
				switch l.Output {
				case 1:
					y.f[r] = mean
				case 2:
					y.f[r] = inv
				default:
					for j, v := range row {
						o := (v - mean) * inv
						if is != nil {
							o *= in[1].f[is[j]]
						}
						if ib != nil {
							o += in[2].f[ib[j]]
						}
						y.f[r*n+j] = o
					}
				}
			}
			return y, nil
		},
	}
}
