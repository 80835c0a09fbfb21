package onnximport

import (
	"fmt"
	"math"
	"slices"

	"github.com/tapenet/tapenet/graph"
)

// The kernels of Op, by operator: elementwise math, comparison and logic,
// reductions, softmax forms, shape operators, MatMul and Gemm. Floats are
// computed in float64 and rounded to float32 for float32 tensors (for +,
// -, *, / and sqrt that is float32's own result; elsewhere within an ulp).

var kernels = map[string]kernel{}

func init() {
	for name, f := range unaryFloat {
		kernels[name] = unaryKernel(f, name == "Abs" || name == "Neg" || name == "Sign")
	}
	for name, b := range binaryKernels {
		kernels[name] = binaryKernel(b)
	}
	for _, name := range []string{"Max", "Min", "Sum", "Mean"} {
		kernels[name] = variadicKernel(name)
	}
	for name := range reducers {
		kernels[name] = reduceKernel(name)
	}
	kernels["ArgMax"] = argKernel(true)
	kernels["ArgMin"] = argKernel(false)
	kernels["Not"] = kernel{elementwise: true, infer: sameAs(0, graph.Bool), run: func(_ *Op, in []*arr, out meta) (*arr, error) {
		y := newArr(out)
		for k, v := range in[0].b {
			y.b[k] = !v
		}
		return y, nil
	}}
	for _, name := range []string{"IsNaN", "IsInf"} {
		kernels[name] = isKernel(name)
	}
	kernels["Where"] = whereKernel()
	kernels["Clip"] = clipKernel()
	kernels["Softmax"] = softmaxKernel("Softmax")
	kernels["LogSoftmax"] = softmaxKernel("LogSoftmax")
	kernels["Hardmax"] = softmaxKernel("Hardmax")
	kernels["Cast"] = castKernel()
	kernels["Identity"] = kernel{elementwise: true, infer: sameAs(0, ""), run: func(_ *Op, in []*arr, out meta) (*arr, error) { return copyArr(in[0], out), nil }}
	kernels["Transpose"] = transposeKernel()
	kernels["Reshape"] = reshapeKernel("Reshape")
	kernels["Flatten"] = reshapeKernel("Flatten")
	kernels["Squeeze"] = reshapeKernel("Squeeze")
	kernels["Unsqueeze"] = reshapeKernel("Unsqueeze")
	kernels["Concat"] = concatKernel()
	kernels["Expand"] = expandKernel()
	kernels["Tile"] = tileKernel()
	kernels["Slice"] = sliceKernel()
	kernels["Gather"] = gatherKernel()
	kernels["MatMul"] = matmulKernel()
	kernels["Gemm"] = gemmKernel()
}

// attrInt returns an integer attribute of the layer, or def.
func (l *Op) attrInt(name string, def int64) int64 {
	if v, ok := l.Ints[name]; ok && len(v) == 1 {
		return v[0]
	}
	return def
}

func (l *Op) attrFloat(name string, def float64) float64 {
	if v, ok := l.Floats[name]; ok && len(v) == 1 {
		return v[0]
	}
	return def
}

// sameAs infers the shape of input k with type dt ("" = input k's).
func sameAs(k int, dt graph.DType) func(*Op, []*meta) (meta, error) {
	return func(_ *Op, in []*meta) (meta, error) {
		if k >= len(in) || in[k] == nil {
			return meta{}, fmt.Errorf("input %d is missing", k)
		}
		d := dt
		if d == "" {
			d = in[k].dt
		}
		return meta{dt: d, shape: slices.Clone(in[k].shape)}, nil
	}
}

func copyArr(a *arr, out meta) *arr {
	y := &arr{meta: meta{dt: a.dt, shape: slices.Clone(out.shape)}, f: slices.Clone(a.f), i: slices.Clone(a.i), b: slices.Clone(a.b)}
	return y
}

// wantTypes checks that input k's type is one of ds.
func wantTypes(in []*meta, k int, ds ...graph.DType) error {
	if k >= len(in) || in[k] == nil {
		return fmt.Errorf("input %d is missing", k)
	}
	if !slices.Contains(ds, in[k].dt) {
		return fmt.Errorf("input %d of type %s (want %v)", k, in[k].dt, ds)
	}
	return nil
}

var floatTypes = []graph.DType{graph.Float32, graph.Float64}
var numTypes = []graph.DType{graph.Float32, graph.Float64, graph.Int64, graph.Int32}

// Elementwise functions of one float, with the layer for attributes.
var unaryFloat = map[string]func(x float64, l *Op) float64{
	"Abs":        func(x float64, _ *Op) float64 { return math.Abs(x) },
	"Neg":        func(x float64, _ *Op) float64 { return -x },
	"Sign":       func(x float64, _ *Op) float64 { return sign(x) },
	"Exp":        func(x float64, _ *Op) float64 { return math.Exp(x) },
	"Log":        func(x float64, _ *Op) float64 { return math.Log(x) },
	"Sqrt":       func(x float64, _ *Op) float64 { return math.Sqrt(x) },
	"Reciprocal": func(x float64, _ *Op) float64 { return 1 / x },
	"Floor":      func(x float64, _ *Op) float64 { return math.Floor(x) },
	"Ceil":       func(x float64, _ *Op) float64 { return math.Ceil(x) },
	"Round":      func(x float64, _ *Op) float64 { return math.RoundToEven(x) },
	"Sin":        func(x float64, _ *Op) float64 { return math.Sin(x) },
	"Cos":        func(x float64, _ *Op) float64 { return math.Cos(x) },
	"Tan":        func(x float64, _ *Op) float64 { return math.Tan(x) },
	"Asin":       func(x float64, _ *Op) float64 { return math.Asin(x) },
	"Acos":       func(x float64, _ *Op) float64 { return math.Acos(x) },
	"Atan":       func(x float64, _ *Op) float64 { return math.Atan(x) },
	"Sinh":       func(x float64, _ *Op) float64 { return math.Sinh(x) },
	"Cosh":       func(x float64, _ *Op) float64 { return math.Cosh(x) },
	"Asinh":      func(x float64, _ *Op) float64 { return math.Asinh(x) },
	"Acosh":      func(x float64, _ *Op) float64 { return math.Acosh(x) },
	"Atanh":      func(x float64, _ *Op) float64 { return math.Atanh(x) },
	"Erf":        func(x float64, _ *Op) float64 { return math.Erf(x) },
	"Relu":       func(x float64, _ *Op) float64 { return max(x, 0) },
	"Sigmoid":    func(x float64, _ *Op) float64 { return 1 / (1 + math.Exp(-x)) },
	"Tanh":       func(x float64, _ *Op) float64 { return math.Tanh(x) },
	"Softplus":   func(x float64, _ *Op) float64 { return softplus(x) },
	"Softsign":   func(x float64, _ *Op) float64 { return x / (1 + math.Abs(x)) },
	"Mish":       func(x float64, _ *Op) float64 { return x * math.Tanh(softplus(x)) },
	"HardSwish":  func(x float64, _ *Op) float64 { return x * max(0, min(1, x/6+0.5)) },
	"Elu": func(x float64, l *Op) float64 {
		if x >= 0 {
			return x
		}
		return l.attrFloat("alpha", 1) * (math.Exp(x) - 1)
	},
	"Celu": func(x float64, l *Op) float64 {
		a := l.attrFloat("alpha", 1)
		return max(0, x) + min(0, a*(math.Exp(x/a)-1))
	},
	"Selu": func(x float64, l *Op) float64 {
		a, g := l.attrFloat("alpha", 1.67326319217681884765625), l.attrFloat("gamma", 1.05070102214813232421875)
		if x > 0 {
			return g * x
		}
		return g * a * (math.Exp(x) - 1)
	},
	"LeakyRelu": func(x float64, l *Op) float64 {
		if x >= 0 {
			return x
		}
		return l.attrFloat("alpha", 0.01) * x
	},
	"ThresholdedRelu": func(x float64, l *Op) float64 {
		if x > l.attrFloat("alpha", 1) {
			return x
		}
		return 0
	},
	"HardSigmoid": func(x float64, l *Op) float64 {
		return max(0, min(1, l.attrFloat("alpha", 0.2)*x+l.attrFloat("beta", 0.5)))
	},
}

// unaryAttrs lists the attributes each unary operator reads.
var unaryAttrs = map[string][]string{
	"Elu": {"alpha"}, "Celu": {"alpha"}, "Selu": {"alpha", "gamma"}, "LeakyRelu": {"alpha"},
	"ThresholdedRelu": {"alpha"}, "HardSigmoid": {"alpha", "beta"},
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return x // 0, -0 or NaN
}

func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

func unaryKernel(f func(float64, *Op) float64, ints bool) kernel {
	return kernel{
		elementwise: true,
		types: func(_ *Op, in []*meta) error {
			if ints {
				return wantTypes(in, 0, numTypes...)
			}
			return wantTypes(in, 0, floatTypes...)
		},
		infer: sameAs(0, ""),
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			y := newArr(out)
			if isIntType(out.dt) {
				for k, v := range in[0].i {
					y.i[k] = int64(f(float64(v), l))
				}
				return y, nil
			}
			for k, v := range in[0].f {
				y.f[k] = f(v, l)
			}
			return y, nil
		},
	}
}

// binaryForm is an operator of two broadcast operands.
type binaryForm struct {
	f      func(a, b float64) float64 // floats; nil: not for floats
	i      func(a, b int64) (int64, error)
	cmp    func(a, b float64) bool // comparisons (bool output)
	logic  func(a, b bool) bool    // And, Or, Xor
	fmodOf bool                    // Mod reads fmod
}

var binaryKernels = map[string]binaryForm{
	"Add": {f: func(a, b float64) float64 { return a + b }, i: func(a, b int64) (int64, error) { return a + b, nil }},
	"Sub": {f: func(a, b float64) float64 { return a - b }, i: func(a, b int64) (int64, error) { return a - b, nil }},
	"Mul": {f: func(a, b float64) float64 { return a * b }, i: func(a, b int64) (int64, error) { return a * b, nil }},
	"Div": {f: func(a, b float64) float64 { return a / b }, i: func(a, b int64) (int64, error) {
		if b == 0 {
			return 0, fmt.Errorf("integer division by zero")
		}
		return a / b, nil
	}},
	"Pow": {f: math.Pow},
	"PRelu": {f: func(x, s float64) float64 {
		if x < 0 {
			return s * x
		}
		return x
	}},
	"Mod":            {fmodOf: true},
	"Equal":          {cmp: func(a, b float64) bool { return a == b }},
	"Less":           {cmp: func(a, b float64) bool { return a < b }},
	"Greater":        {cmp: func(a, b float64) bool { return a > b }},
	"LessOrEqual":    {cmp: func(a, b float64) bool { return a <= b }},
	"GreaterOrEqual": {cmp: func(a, b float64) bool { return a >= b }},
	"And":            {logic: func(a, b bool) bool { return a && b }},
	"Or":             {logic: func(a, b bool) bool { return a || b }},
	"Xor":            {logic: func(a, b bool) bool { return a != b }},
}

// broadcastAll returns the numpy broadcast of the shapes.
func broadcastAll(shapes ...[]int) ([]int, error) {
	out := []int{}
	for _, s := range shapes {
		var err error
		if out, err = broadcastShapes(out, s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// bcastIndex returns, for every element of out, the element of a tensor of
// shape in (broadcast to out) it reads.
func bcastIndex(in, out []int) []int {
	idx := make([]int, shapeSize(out))
	broadcastPairs(in, in, out, func(k, ia, _ int) error {
		idx[k] = ia
		return nil
	})
	return idx
}

func binaryKernel(b binaryForm) kernel {
	return kernel{
		types: func(l *Op, in []*meta) error {
			if len(in) != 2 || in[0] == nil || in[1] == nil {
				return fmt.Errorf("want 2 inputs")
			}
			a, c := in[0].dt, in[1].dt
			switch {
			case b.logic != nil:
				if a != graph.Bool || c != graph.Bool {
					return fmt.Errorf("inputs of types %s and %s, want bool", a, c)
				}
				return nil
			case l.Op == "Pow":
				if !slices.Contains(numTypes, a) || !slices.Contains(numTypes, c) {
					return fmt.Errorf("pow of %s by %s", a, c)
				}
				return nil
			case a != c:
				return fmt.Errorf("inputs of types %s and %s (ONNX wants one type)", a, c)
			case a == graph.Bool && (b.cmp == nil || l.Op != "Equal"):
				return fmt.Errorf("inputs of type bool")
			case isIntType(a) && b.i == nil && b.cmp == nil && !b.fmodOf:
				return fmt.Errorf("inputs of type %s", a)
			case isFloatType(a) && b.f == nil && b.cmp == nil && !b.fmodOf:
				return fmt.Errorf("inputs of type %s", a)
			}
			return nil
		},
		infer: func(l *Op, in []*meta) (meta, error) {
			if len(in) != 2 || in[0] == nil || in[1] == nil {
				return meta{}, fmt.Errorf("want 2 inputs")
			}
			shape, err := broadcastShapes(in[0].shape, in[1].shape)
			if err != nil {
				return meta{}, err
			}
			if l.Op == "PRelu" && !slices.Equal(shape, in[0].shape) {
				return meta{}, fmt.Errorf("slope of shape %v does not broadcast to the input's %v", in[1].shape, in[0].shape)
			}
			dt := in[0].dt
			if b.cmp != nil {
				dt = graph.Bool
			}
			return meta{dt: dt, shape: shape}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			y := newArr(out)
			x, z := in[0], in[1]
			fmod := l.attrInt("fmod", 0) != 0
			var fail error
			err := broadcastPairs(x.shape, z.shape, out.shape, func(k, ia, ib int) error {
				switch {
				case b.logic != nil:
					y.b[k] = b.logic(x.b[ia], z.b[ib])
				case b.cmp != nil && x.dt == graph.Bool:
					y.b[k] = x.b[ia] == z.b[ib]
				case b.cmp != nil && isIntType(x.dt):
					p, q := x.i[ia], z.i[ib]
					switch l.Op {
					case "Equal":
						y.b[k] = p == q
					case "Less":
						y.b[k] = p < q
					case "Greater":
						y.b[k] = p > q
					case "LessOrEqual":
						y.b[k] = p <= q
					default:
						y.b[k] = p >= q
					}
				case b.cmp != nil:
					y.b[k] = b.cmp(x.f[ia], z.f[ib])
				case b.fmodOf && isIntType(x.dt):
					p, q := x.i[ia], z.i[ib]
					if q == 0 {
						return fmt.Errorf("integer modulo by zero")
					}
					r := p % q
					if !fmod && r != 0 && (r < 0) != (q < 0) {
						r += q
					}
					y.i[k] = wrapDType(r, out.dt)
				case b.fmodOf:
					p, q := x.f[ia], z.f[ib]
					r := math.Mod(p, q)
					if !fmod && r != 0 && (r < 0) != (q < 0) {
						r += q
					}
					y.f[k] = r
				case l.Op == "Pow" && isIntType(x.dt):
					e := 0.0
					if z.f != nil {
						e = z.f[ib]
					} else {
						e = float64(z.i[ib])
					}
					p := math.Pow(float64(x.i[ia]), e)
					if math.IsNaN(p) || math.IsInf(p, 0) || math.Abs(p) > 1<<62 {
						return fmt.Errorf("%d to the power %v is out of range", x.i[ia], e)
					}
					y.i[k] = wrapDType(int64(p), out.dt)
				case isIntType(x.dt):
					v, err := b.i(x.i[ia], z.i[ib])
					if err != nil {
						return err
					}
					y.i[k] = wrapDType(v, out.dt)
				case l.Op == "Pow" && isIntType(z.dt):
					y.f[k] = math.Pow(x.f[ia], float64(z.i[ib]))
				default:
					p, q := x.f[ia], z.f[ib]
					if x.dt == graph.Float32 && l.Op == "Pow" {
						y.f[k] = float64(float32(math.Pow(p, q)))
						return nil
					}
					y.f[k] = b.f(p, q)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			return y, fail
		},
	}
}

// wrapDType gives v the range of an integer type.
func wrapDType(v int64, dt graph.DType) int64 {
	if dt == graph.Int32 {
		return int64(int32(v))
	}
	return v
}

func variadicKernel(name string) kernel {
	return kernel{
		types: func(_ *Op, in []*meta) error {
			if len(in) == 0 {
				return fmt.Errorf("no inputs")
			}
			for k := range in {
				if err := wantTypes(in, k, numTypes...); err != nil {
					return err
				}
				if (name == "Sum" || name == "Mean") && isIntType(in[k].dt) {
					return fmt.Errorf("%s of %s", name, in[k].dt)
				}
				if in[k].dt != in[0].dt {
					return fmt.Errorf("inputs of types %s and %s", in[0].dt, in[k].dt)
				}
			}
			return nil
		},
		infer: func(_ *Op, in []*meta) (meta, error) {
			shapes := make([][]int, len(in))
			for k, m := range in {
				if m == nil {
					return meta{}, fmt.Errorf("input %d is missing", k)
				}
				shapes[k] = m.shape
			}
			shape, err := broadcastAll(shapes...)
			return meta{dt: in[0].dt, shape: shape}, err
		},
		run: func(_ *Op, in []*arr, out meta) (*arr, error) {
			y := newArr(out)
			if isIntType(out.dt) { // Max and Min
				for j, x := range in {
					for k, s := range bcastIndex(x.shape, out.shape) {
						v := x.i[s]
						if j == 0 || (name == "Max" && v > y.i[k]) || (name == "Min" && v < y.i[k]) {
							y.i[k] = v
						}
					}
				}
				return y, nil
			}
			for j, x := range in {
				idx := bcastIndex(x.shape, out.shape)
				for k, s := range idx {
					v := x.f[s]
					switch {
					case j == 0:
						y.f[k] = v
					case name == "Max":
						if v > y.f[k] || math.IsNaN(v) {
							y.f[k] = v
						}
					case name == "Min":
						if v < y.f[k] || math.IsNaN(v) {
							y.f[k] = v
						}
					default:
						y.f[k] += v
					}
				}
			}
			if name == "Mean" {
				for k := range y.f {
					y.f[k] /= float64(len(in))
				}
			}
			return y, nil
		},
	}
}

func isKernel(name string) kernel {
	return kernel{
		elementwise: true,
		types:       func(_ *Op, in []*meta) error { return wantTypes(in, 0, floatTypes...) },
		infer:       sameAs(0, graph.Bool),
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			y := newArr(out)
			pos, neg := l.attrInt("detect_positive", 1) != 0, l.attrInt("detect_negative", 1) != 0
			for k, v := range in[0].f {
				if name == "IsNaN" {
					y.b[k] = math.IsNaN(v)
				} else {
					y.b[k] = (pos && math.IsInf(v, 1)) || (neg && math.IsInf(v, -1))
				}
			}
			return y, nil
		},
	}
}

func whereKernel() kernel {
	return kernel{
		types: func(_ *Op, in []*meta) error {
			if err := wantTypes(in, 0, graph.Bool); err != nil {
				return err
			}
			if len(in) != 3 || in[1] == nil || in[2] == nil || in[1].dt != in[2].dt {
				return fmt.Errorf("want a condition and two inputs of one type")
			}
			return nil
		},
		infer: func(_ *Op, in []*meta) (meta, error) {
			shape, err := broadcastAll(in[0].shape, in[1].shape, in[2].shape)
			return meta{dt: in[1].dt, shape: shape}, err
		},
		run: func(_ *Op, in []*arr, out meta) (*arr, error) {
			y := newArr(out)
			ic, ia, ib := bcastIndex(in[0].shape, out.shape), bcastIndex(in[1].shape, out.shape), bcastIndex(in[2].shape, out.shape)
			for k := range ic {
				src, s := in[2], ib[k]
				if in[0].b[ic[k]] {
					src, s = in[1], ia[k]
				}
				setElem(y, k, src, s)
			}
			return y, nil
		},
	}
}

// setElem sets element k of y to element s of x (one type).
func setElem(y *arr, k int, x *arr, s int) {
	switch {
	case y.f != nil:
		y.f[k] = x.f[s]
	case y.b != nil:
		y.b[k] = x.b[s]
	default:
		y.i[k] = x.i[s]
	}
}

func clipKernel() kernel {
	return kernel{
		elementwise: true,
		types: func(_ *Op, in []*meta) error {
			if err := wantTypes(in, 0, numTypes...); err != nil {
				return err
			}
			for k := 1; k < len(in); k++ {
				if in[k] != nil && (in[k].dt != in[0].dt || in[k].size() != 1) {
					return fmt.Errorf("bound %d: want one value of type %s", k, in[0].dt)
				}
			}
			return nil
		},
		infer: sameAs(0, ""),
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			y := copyArr(in[0], out)
			lo, hi := math.Inf(-1), math.Inf(1)
			if l.Opset < 11 {
				lo, hi = l.attrFloat("min", -math.MaxFloat32), l.attrFloat("max", math.MaxFloat32)
			}
			bound := func(k int, def float64) float64 {
				if k < len(in) && in[k] != nil {
					if in[k].f != nil {
						return in[k].f[0]
					}
					return float64(in[k].i[0])
				}
				return def
			}
			lo, hi = bound(1, lo), bound(2, hi)
			for k, v := range y.f {
				if v < lo {
					v = lo
				}
				if v > hi {
					v = hi
				}
				y.f[k] = v
			}
			for k, v := range y.i {
				y.i[k] = int64(math.Min(math.Max(float64(v), lo), hi))
			}
			return y, nil
		},
	}
}

func castKernel() kernel {
	return kernel{
		elementwise: true,
		types: func(l *Op, in []*meta) error {
			if in[0] == nil {
				return fmt.Errorf("input is missing")
			}
			_, err := onnxDType(int32(l.attrInt("to", 0)))
			return err
		},
		infer: func(l *Op, in []*meta) (meta, error) {
			dt, err := onnxDType(int32(l.attrInt("to", 0)))
			return meta{dt: dt, shape: slices.Clone(in[0].shape)}, err
		},
		run: func(_ *Op, in []*arr, out meta) (*arr, error) {
			x := in[0]
			y := newArr(out)
			for k := range x.size() {
				var f float64
				var b bool
				switch {
				case x.f != nil:
					f, b = x.f[k], x.f[k] != 0
				case x.b != nil:
					b = x.b[k]
					if b {
						f = 1
					}
				default:
					f, b = float64(x.i[k]), x.i[k] != 0
				}
				switch {
				case y.b != nil:
					y.b[k] = b
				case y.f != nil:
					if x.i != nil {
						y.f[k] = float64(x.i[k])
						if out.dt == graph.Float32 {
							y.f[k] = float64(float32(x.i[k]))
						}
					} else {
						y.f[k] = f
					}
				case x.i != nil:
					y.i[k] = wrapDType(x.i[k], out.dt)
				default:
					if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<62 {
						return nil, fmt.Errorf("cast of %v to %s is out of range", f, out.dt)
					}
					y.i[k] = wrapDType(int64(f), out.dt)
				}
			}
			return y, nil
		},
	}
}

// onnxDType is the graph.DType of an ONNX element type.
func onnxDType(dt int32) (graph.DType, error) {
	switch dt {
	case tFloat:
		return graph.Float32, nil
	case tDouble:
		return graph.Float64, nil
	case tInt64:
		return graph.Int64, nil
	case tInt32:
		return graph.Int32, nil
	case tBool:
		return graph.Bool, nil
	}
	return "", unsupported("element type %s (tapenet's tensors are float32, float64, int64, int32 or bool)", typeName(dt))
}

// onnxType is the ONNX element type of a graph.DType.
func onnxType(d graph.DType) int32 {
	switch d.Or() {
	case graph.Float64:
		return tDouble
	case graph.Int64:
		return tInt64
	case graph.Int32:
		return tInt32
	case graph.Bool:
		return tBool
	}
	return tFloat
}

// axesOf returns the sorted, normalised axes an operator works along:
// from input k (a constant) or the "axes" attribute; nil when neither.
func (l *Op) axesOf(in []*arr, k int, rank int) ([]int, bool, error) {
	var raw []int64
	given := false
	if k < len(in) && in[k] != nil {
		raw, given = in[k].i, true
	} else if v, ok := l.Ints["axes"]; ok {
		raw, given = v, true
	}
	if !given {
		return nil, false, nil
	}
	out := make([]int, 0, len(raw))
	for _, a := range raw {
		n, err := normAxis(a, rank)
		if err != nil {
			return nil, false, err
		}
		if slices.Contains(out, n) {
			return nil, false, fmt.Errorf("axis %d given twice", a)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out, true, nil
}

// constArrs returns the constant inputs as arrays (shapes only needed
// for infer: the values of constants are in the layer).
func (l *Op) constArrs(in []*meta) []*arr {
	out := make([]*arr, len(in))
	c := 0
	for k, s := range l.Inputs {
		if s == "const" {
			kc := l.Consts[c]
			out[k] = &arr{meta: meta{dt: kc.DType.Or(), shape: kc.Shape}, f: kc.F, i: kc.I}
			c++
		}
	}
	return out
}

var reducers = map[string]bool{
	"ReduceSum": true, "ReduceMean": true, "ReduceMax": true, "ReduceMin": true, "ReduceProd": true,
	"ReduceL1": true, "ReduceL2": true, "ReduceLogSum": true, "ReduceLogSumExp": true, "ReduceSumSquare": true,
}

// reduceAxes returns the axes reduced and whether nothing is.
func (l *Op) reduceAxes(in []*meta) ([]int, bool, error) {
	rank := len(in[0].shape)
	axes, given, err := l.axesOf(l.constArrs(in), 1, rank)
	if err != nil {
		return nil, false, err
	}
	if !given || len(axes) == 0 {
		if l.attrInt("noop_with_empty_axes", 0) != 0 {
			return nil, true, nil
		}
		axes = make([]int, rank)
		for k := range axes {
			axes[k] = k
		}
	}
	return axes, false, nil
}

func reduceKernel(name string) kernel {
	return kernel{
		types: func(_ *Op, in []*meta) error { return wantTypes(in, 0, numTypes...) },
		infer: func(l *Op, in []*meta) (meta, error) {
			axes, noop, err := l.reduceAxes(in)
			if err != nil || noop {
				return meta{dt: in[0].dt, shape: slices.Clone(in[0].shape)}, err
			}
			keep := l.attrInt("keepdims", 1) != 0
			var shape []int
			for d, n := range in[0].shape {
				switch {
				case !slices.Contains(axes, d):
					shape = append(shape, n)
				case keep:
					shape = append(shape, 1)
				}
			}
			return meta{dt: in[0].dt, shape: shape}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			metas := []*meta{&in[0].meta}
			if len(in) > 1 && in[1] != nil {
				metas = append(metas, &in[1].meta)
			}
			axes, noop, err := l.reduceAxes(metas)
			if err != nil {
				return nil, err
			}
			x := in[0]
			vals := x.f
			if vals == nil {
				vals = make([]float64, len(x.i))
				for k, v := range x.i {
					vals[k] = float64(v)
				}
			}
			if noop {
				return copyArr(x, out), nil
			}
			// The output element each input element adds to.
			kept := make([]int, len(x.shape))
			for d, n := range x.shape {
				kept[d] = n
				if slices.Contains(axes, d) {
					kept[d] = 1
				}
			}
			n := shapeSize(x.shape) / max(1, shapeSize(kept))
			acc := make([]float64, shapeSize(kept))
			init := 0.0
			switch name {
			case "ReduceMax":
				init = math.Inf(-1)
			case "ReduceMin":
				init = math.Inf(1)
			case "ReduceProd":
				init = 1
			}
			for k := range acc {
				acc[k] = init
			}
			var mx []float64
			if name == "ReduceLogSumExp" {
				mx = make([]float64, len(acc))
				for k := range mx {
					mx[k] = math.Inf(-1)
				}
				broadcastPairs(x.shape, kept, x.shape, func(k, _, o int) error {
					mx[o] = max(mx[o], vals[k])
					return nil
				})
			}
			broadcastPairs(x.shape, kept, x.shape, func(k, _, o int) error {
				v := vals[k]
				switch name {
				case "ReduceMax":
					if v > acc[o] || math.IsNaN(v) {
						acc[o] = v
					}
				case "ReduceMin":
					if v < acc[o] || math.IsNaN(v) {
						acc[o] = v
					}
				case "ReduceProd":
					acc[o] *= v
				case "ReduceL1":
					acc[o] += math.Abs(v)
				case "ReduceL2", "ReduceSumSquare":
					acc[o] += v * v
				case "ReduceLogSumExp":
					acc[o] += math.Exp(v - mx[o])
				default:
					acc[o] += v
				}
				return nil
			})
			for k := range acc {
				switch name {
				case "ReduceMean":
					acc[k] /= float64(n)
				case "ReduceL2":
					acc[k] = math.Sqrt(acc[k])
				case "ReduceLogSum":
					acc[k] = math.Log(acc[k])
				case "ReduceLogSumExp":
					acc[k] = math.Log(acc[k]) + mx[k]
				}
			}
			y := newArr(out)
			if y.f != nil {
				copy(y.f, acc)
			} else {
				if name == "ReduceMean" || name == "ReduceL2" || name == "ReduceLogSum" || name == "ReduceLogSumExp" {
					return nil, fmt.Errorf("%s of integers", name)
				}
				for k, v := range acc {
					y.i[k] = wrapDType(int64(v), out.dt)
				}
			}
			return y, nil
		},
	}
}

func argKernel(isMax bool) kernel {
	return kernel{
		types: func(_ *Op, in []*meta) error { return wantTypes(in, 0, numTypes...) },
		infer: func(l *Op, in []*meta) (meta, error) {
			a, err := normAxis(l.attrInt("axis", 0), len(in[0].shape))
			if err != nil {
				return meta{}, err
			}
			shape := slices.Clone(in[0].shape)
			if l.attrInt("keepdims", 1) != 0 {
				shape[a] = 1
			} else {
				shape = slices.Delete(shape, a, a+1)
			}
			return meta{dt: graph.Int64, shape: shape}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			x := in[0]
			a, _ := normAxis(l.attrInt("axis", 0), len(x.shape))
			last := l.attrInt("select_last_index", 0) != 0
			outer, n, inner := shapeSize(x.shape[:a]), x.shape[a], shapeSize(x.shape[a+1:])
			y := newArr(out)
			val := func(k int) float64 {
				if x.f != nil {
					return x.f[k]
				}
				return float64(x.i[k])
			}
			for o := range outer {
				for i := range inner {
					best, at := 0.0, 0
					for j := range n {
						v := val((o*n+j)*inner + i)
						better := j == 0 || (isMax && v > best) || (!isMax && v < best) || (last && v == best)
						if better {
							best, at = v, j
						}
					}
					y.i[o*inner+i] = int64(at)
				}
			}
			return y, nil
		},
	}
}

func softmaxKernel(name string) kernel {
	return kernel{
		types: func(_ *Op, in []*meta) error { return wantTypes(in, 0, floatTypes...) },
		infer: func(l *Op, in []*meta) (meta, error) {
			def := int64(-1)
			if l.Opset < 13 {
				def = 1
			}
			if _, err := normAxis(l.attrInt("axis", def), len(in[0].shape)); err != nil {
				return meta{}, err
			}
			return meta{dt: in[0].dt, shape: slices.Clone(in[0].shape)}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			x := in[0]
			def := int64(-1)
			if l.Opset < 13 {
				def = 1
			}
			a, _ := normAxis(l.attrInt("axis", def), len(x.shape))
			outer, n, inner := shapeSize(x.shape[:a]), x.shape[a], shapeSize(x.shape[a+1:])
			if l.Opset < 13 { // the input as a matrix (before a, from a)
				outer, n, inner = shapeSize(x.shape[:a]), shapeSize(x.shape[a:]), 1
			}
			y := newArr(out)
			for o := range outer {
				for i := range inner {
					at := func(j int) int { return (o*n+j)*inner + i }
					mx, arg := math.Inf(-1), 0
					for j := range n {
						if v := x.f[at(j)]; v > mx {
							mx, arg = v, j
						}
					}
					if name == "Hardmax" {
						y.f[at(arg)] = 1
						continue
					}
					sum := 0.0
					for j := range n {
						sum += math.Exp(x.f[at(j)] - mx)
					}
					for j := range n {
						if name == "LogSoftmax" {
							y.f[at(j)] = x.f[at(j)] - mx - math.Log(sum)
						} else {
							y.f[at(j)] = math.Exp(x.f[at(j)]-mx) / sum
						}
					}
				}
			}
			return y, nil
		},
	}
}

// gatherArr makes the tensor of shape out whose element k is element
// src[k] of x.
func gatherArr(x *arr, out meta, src []int) *arr {
	y := newArr(out)
	for k, s := range src {
		setElem(y, k, x, s)
	}
	return y
}

func transposeKernel() kernel {
	perm := func(l *Op, rank int) ([]int, error) {
		p, ok := l.Ints["perm"]
		if !ok {
			for k := rank - 1; k >= 0; k-- {
				p = append(p, int64(k))
			}
		}
		return checkPerm(p, rank)
	}
	return kernel{
		infer: func(l *Op, in []*meta) (meta, error) {
			p, err := perm(l, len(in[0].shape))
			if err != nil {
				return meta{}, err
			}
			shape := make([]int, len(p))
			for k, d := range p {
				shape[k] = in[0].shape[d]
			}
			return meta{dt: in[0].dt, shape: shape}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			p, err := perm(l, len(in[0].shape))
			if err != nil {
				return nil, err
			}
			_, idx := transposeIndex(in[0].shape, p)
			return gatherArr(in[0], out, idx), nil
		},
	}
}

// reshapeKernel: Reshape, Flatten, Squeeze and Unsqueeze keep the values
// in order and change the shape.
func reshapeKernel(name string) kernel {
	shapeOf := func(l *Op, in []*meta) ([]int, error) {
		x := in[0].shape
		consts := l.constArrs(in)
		switch name {
		case "Flatten":
			a := l.attrInt("axis", 1)
			if a < 0 {
				a += int64(len(x))
			}
			if a < 0 || a > int64(len(x)) {
				return nil, fmt.Errorf("axis %d for rank %d", l.attrInt("axis", 1), len(x))
			}
			return []int{shapeSize(x[:a]), shapeSize(x[a:])}, nil
		case "Squeeze":
			axes, given, err := l.axesOf(consts, 1, len(x))
			if err != nil {
				return nil, err
			}
			var out []int
			for d, n := range x {
				drop := (given && slices.Contains(axes, d)) || (!given && n == 1)
				if drop && n != 1 {
					return nil, fmt.Errorf("axis %d of size %d cannot be squeezed", d, n)
				}
				if !drop {
					out = append(out, n)
				}
			}
			return out, nil
		case "Unsqueeze":
			raw := l.Ints["axes"]
			if len(consts) > 1 && consts[1] != nil {
				raw = consts[1].i
			}
			r := len(x) + len(raw)
			axes := make([]int, 0, len(raw))
			for _, a := range raw {
				n, err := normAxis(a, r)
				if err != nil || slices.Contains(axes, n) {
					return nil, fmt.Errorf("axes %v for rank %d", raw, len(x))
				}
				axes = append(axes, n)
			}
			out := make([]int, 0, r)
			src := 0
			for d := range r {
				if slices.Contains(axes, d) {
					out = append(out, 1)
				} else {
					out = append(out, x[src])
					src++
				}
			}
			return out, nil
		}
		// Reshape.
		if len(consts) < 2 || consts[1] == nil {
			return nil, unsupported("a shape computed at run time")
		}
		want := consts[1].i
		out := make([]int, len(want))
		infer, known := -1, 1
		allowzero := l.attrInt("allowzero", 0) != 0
		for k, d := range want {
			switch {
			case d == -1 && infer < 0:
				infer = k
				continue
			case d == 0 && !allowzero:
				if k >= len(x) {
					return nil, fmt.Errorf("shape %v copies dimension %d of %v", want, k, x)
				}
				out[k] = x[k]
			case d < 0:
				return nil, fmt.Errorf("shape %v", want)
			default:
				out[k] = int(d)
			}
			known *= out[k]
		}
		if infer >= 0 {
			if known == 0 || shapeSize(x)%known != 0 {
				return nil, fmt.Errorf("shape %v for %v", want, x)
			}
			out[infer] = shapeSize(x) / known
		}
		if shapeSize(out) != shapeSize(x) {
			return nil, fmt.Errorf("shape %v for %v", want, x)
		}
		return out, nil
	}
	return kernel{
		infer: func(l *Op, in []*meta) (meta, error) {
			shape, err := shapeOf(l, in)
			return meta{dt: in[0].dt, shape: shape}, err
		},
		run: func(_ *Op, in []*arr, out meta) (*arr, error) { return copyArr(in[0], out), nil },
	}
}

func concatKernel() kernel {
	return kernel{
		types: func(_ *Op, in []*meta) error {
			for k := range in {
				if in[k] == nil || in[k].dt != in[0].dt {
					return fmt.Errorf("inputs of differing types")
				}
			}
			return nil
		},
		infer: func(l *Op, in []*meta) (meta, error) {
			a, err := normAxis(l.attrInt("axis", 0), len(in[0].shape))
			if err != nil {
				return meta{}, err
			}
			shape := slices.Clone(in[0].shape)
			shape[a] = 0
			for _, m := range in {
				if len(m.shape) != len(shape) {
					return meta{}, fmt.Errorf("inputs of ranks %d and %d", len(shape), len(m.shape))
				}
				for d := range shape {
					if d != a && m.shape[d] != shape[d] {
						return meta{}, fmt.Errorf("inputs %v and %v cannot join along axis %d", in[0].shape, m.shape, a)
					}
				}
				shape[a] += m.shape[a]
			}
			return meta{dt: in[0].dt, shape: shape}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			a, _ := normAxis(l.attrInt("axis", 0), len(out.shape))
			y := newArr(out)
			outer := shapeSize(out.shape[:a])
			at := 0
			for o := range outer {
				for _, x := range in {
					chunk := shapeSize(x.shape[a:])
					for j := range chunk {
						setElem(y, at, x, o*chunk+j)
						at++
					}
				}
			}
			return y, nil
		},
	}
}

func expandKernel() kernel {
	return kernel{
		infer: func(l *Op, in []*meta) (meta, error) {
			c := l.constArrs(in)
			if len(c) < 2 || c[1] == nil {
				return meta{}, unsupported("a shape computed at run time")
			}
			want := make([]int, len(c[1].i))
			for k, d := range c[1].i {
				if d < 0 || d > graph.MaxElements {
					return meta{}, fmt.Errorf("shape %v", c[1].i)
				}
				want[k] = int(d)
			}
			shape, err := broadcastShapes(in[0].shape, want)
			if err == nil && shapeSize(shape) > graph.MaxElements {
				err = fmt.Errorf("shape %v too large", shape)
			}
			return meta{dt: in[0].dt, shape: shape}, err
		},
		run: func(_ *Op, in []*arr, out meta) (*arr, error) {
			return gatherArr(in[0], out, bcastIndex(in[0].shape, out.shape)), nil
		},
	}
}

func tileKernel() kernel {
	return kernel{
		infer: func(l *Op, in []*meta) (meta, error) {
			c := l.constArrs(in)
			if len(c) < 2 || c[1] == nil || len(c[1].i) != len(in[0].shape) {
				return meta{}, unsupported("repeats computed at run time or of the wrong length")
			}
			shape := slices.Clone(in[0].shape)
			for k, r := range c[1].i {
				if r < 0 || r > graph.MaxElements {
					return meta{}, fmt.Errorf("repeats %v", c[1].i)
				}
				shape[k] *= int(r)
			}
			if shapeSize(shape) > graph.MaxElements {
				return meta{}, fmt.Errorf("shape %v too large", shape)
			}
			return meta{dt: in[0].dt, shape: shape}, nil
		},
		run: func(_ *Op, in []*arr, out meta) (*arr, error) {
			x := in[0]
			st := strides(x.shape)
			src := make([]int, out.size())
			coord := make([]int, len(out.shape))
			for k := range src {
				s := 0
				for d := range coord {
					s += (coord[d] % x.shape[d]) * st[d]
				}
				src[k] = s
				for d := len(coord) - 1; d >= 0; d-- {
					coord[d]++
					if coord[d] < out.shape[d] {
						break
					}
					coord[d] = 0
				}
			}
			return gatherArr(x, out, src), nil
		},
	}
}

func sliceKernel() kernel {
	ranges := func(l *Op, in []*meta) (begin, step, size []int, err error) {
		c := l.constArrs(in)
		for k := 1; k <= 2; k++ {
			if len(c) <= k || c[k] == nil {
				return nil, nil, nil, unsupported("starts and ends computed at run time")
			}
		}
		x := in[0].shape
		starts, ends := c[1].i, c[2].i
		axes := make([]int64, len(starts))
		for k := range axes {
			axes[k] = int64(k)
		}
		if len(c) > 3 && c[3] != nil {
			axes = c[3].i
		} else if len(in) > 3 && in[3] != nil {
			return nil, nil, nil, unsupported("axes computed at run time")
		}
		steps := make([]int64, len(starts))
		for k := range steps {
			steps[k] = 1
		}
		if len(c) > 4 && c[4] != nil {
			steps = c[4].i
		} else if len(in) > 4 && in[4] != nil {
			return nil, nil, nil, unsupported("steps computed at run time")
		}
		if len(ends) != len(starts) || len(axes) != len(starts) || len(steps) != len(starts) {
			return nil, nil, nil, fmt.Errorf("starts %v, ends %v, axes %v, steps %v", starts, ends, axes, steps)
		}
		begin, step, size = make([]int, len(x)), make([]int, len(x)), slices.Clone(x)
		for k := range step {
			step[k] = 1
		}
		for k, a64 := range axes {
			a, err := normAxis(a64, len(x))
			if err != nil {
				return nil, nil, nil, err
			}
			b, st, n, err := sliceRange(starts[k], ends[k], steps[k], x[a])
			if err != nil {
				return nil, nil, nil, err
			}
			begin[a], step[a], size[a] = b, st, n
		}
		return begin, step, size, nil
	}
	return kernel{
		infer: func(l *Op, in []*meta) (meta, error) {
			_, _, size, err := ranges(l, in)
			return meta{dt: in[0].dt, shape: size}, err
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			metas := make([]*meta, len(in))
			for k, a := range in {
				if a != nil {
					metas[k] = &a.meta
				}
			}
			begin, step, size, err := ranges(l, metas)
			if err != nil {
				return nil, err
			}
			st := strides(in[0].shape)
			src := make([]int, shapeSize(size))
			coord := make([]int, len(size))
			for k := range src {
				s := 0
				for d := range coord {
					s += (begin[d] + coord[d]*step[d]) * st[d]
				}
				src[k] = s
				for d := len(coord) - 1; d >= 0; d-- {
					coord[d]++
					if coord[d] < size[d] {
						break
					}
					coord[d] = 0
				}
			}
			return gatherArr(in[0], out, src), nil
		},
	}
}

func gatherKernel() kernel {
	return kernel{
		types: func(_ *Op, in []*meta) error { return wantTypes(in, 1, graph.Int64, graph.Int32) },
		infer: func(l *Op, in []*meta) (meta, error) {
			a, err := normAxis(l.attrInt("axis", 0), len(in[0].shape))
			if err != nil {
				return meta{}, err
			}
			x := in[0].shape
			shape := append(append(slices.Clone(x[:a]), in[1].shape...), x[a+1:]...)
			return meta{dt: in[0].dt, shape: shape}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			x, idx := in[0], in[1]
			a, _ := normAxis(l.attrInt("axis", 0), len(x.shape))
			outer, n, inner := shapeSize(x.shape[:a]), x.shape[a], shapeSize(x.shape[a+1:])
			src := make([]int, 0, out.size())
			for o := range outer {
				for _, i := range idx.i {
					if i < 0 {
						i += int64(n)
					}
					if i < 0 || i >= int64(n) {
						return nil, fmt.Errorf("index %d out of range for axis %d of size %d", i, a, n)
					}
					for j := range inner {
						src = append(src, (o*n+int(i))*inner+j)
					}
				}
			}
			return gatherArr(x, out, src), nil
		},
	}
}

// matmulShapes returns the broadcast batch shape and the matrix sizes of
// numpy's matmul of a and b.
func matmulShapes(a, b []int) (batch []int, m, k, n int, outShape []int, err error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, 0, 0, 0, nil, fmt.Errorf("matmul of a scalar")
	}
	as, bs := slices.Clone(a), slices.Clone(b)
	if len(as) == 1 {
		as = []int{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int{bs[0], 1}
	}
	m, k = as[len(as)-2], as[len(as)-1]
	if bs[len(bs)-2] != k {
		return nil, 0, 0, 0, nil, fmt.Errorf("matmul of %v and %v", a, b)
	}
	n = bs[len(bs)-1]
	batch, err = broadcastShapes(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, 0, 0, 0, nil, err
	}
	outShape = slices.Clone(batch)
	if len(a) > 1 {
		outShape = append(outShape, m)
	}
	if len(b) > 1 {
		outShape = append(outShape, n)
	}
	return batch, m, k, n, outShape, nil
}

func matmulKernel() kernel {
	return kernel{
		types: func(_ *Op, in []*meta) error {
			if err := wantTypes(in, 0, numTypes...); err != nil {
				return err
			}
			if len(in) != 2 || in[1] == nil || in[1].dt != in[0].dt {
				return fmt.Errorf("want two inputs of one type")
			}
			return nil
		},
		infer: func(_ *Op, in []*meta) (meta, error) {
			_, _, _, _, shape, err := matmulShapes(in[0].shape, in[1].shape)
			return meta{dt: in[0].dt, shape: shape}, err
		},
		run: func(_ *Op, in []*arr, out meta) (*arr, error) {
			batch, m, k, n, _, err := matmulShapes(in[0].shape, in[1].shape)
			if err != nil {
				return nil, err
			}
			a, b := in[0], in[1]
			ab := append(slices.Clone(a.shape[:max(0, len(a.shape)-2)]), 1, 1)
			bb := append(slices.Clone(b.shape[:max(0, len(b.shape)-2)]), 1, 1)
			ia, ib := bcastIndex(ab[:len(ab)-2], batch), bcastIndex(bb[:len(bb)-2], batch)
			y := newArr(out)
			for p := range shapeSize(batch) {
				offA, offB, offY := ia[p]*m*k, ib[p]*k*n, p*m*n
				for i := range m {
					for j := range n {
						if y.f != nil {
							s := 0.0
							for q := range k {
								s += a.f[offA+i*k+q] * b.f[offB+q*n+j]
							}
							y.f[offY+i*n+j] = s
						} else {
							var s int64
							for q := range k {
								s += a.i[offA+i*k+q] * b.i[offB+q*n+j]
							}
							y.i[offY+i*n+j] = wrapDType(s, out.dt)
						}
					}
				}
			}
			return y, nil
		},
	}
}

func gemmKernel() kernel {
	dims := func(l *Op, in []*meta) (m, k, n int, err error) {
		a, b := in[0].shape, in[1].shape
		if len(a) != 2 || len(b) != 2 {
			return 0, 0, 0, fmt.Errorf("gemm of %v and %v (want matrices)", a, b)
		}
		m, k = a[0], a[1]
		if l.attrInt("transA", 0) != 0 {
			m, k = a[1], a[0]
		}
		kb, n := b[0], b[1]
		if l.attrInt("transB", 0) != 0 {
			kb, n = b[1], b[0]
		}
		if kb != k {
			return 0, 0, 0, fmt.Errorf("gemm of %v and %v", a, b)
		}
		if len(in) > 2 && in[2] != nil {
			if s, err := broadcastShapes(in[2].shape, []int{m, n}); err != nil || !slices.Equal(s, []int{m, n}) {
				return 0, 0, 0, fmt.Errorf("input C of shape %v for (%d, %d)", in[2].shape, m, n)
			}
		}
		return m, k, n, nil
	}
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
			m, _, n, err := dims(l, in)
			return meta{dt: in[0].dt, shape: []int{m, n}}, err
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			metas := []*meta{&in[0].meta, &in[1].meta}
			if len(in) > 2 && in[2] != nil {
				metas = append(metas, &in[2].meta)
			}
			m, k, n, err := dims(l, metas)
			if err != nil {
				return nil, err
			}
			ta, tb := l.attrInt("transA", 0) != 0, l.attrInt("transB", 0) != 0
			alpha, beta := l.attrFloat("alpha", 1), l.attrFloat("beta", 1)
			a, b := in[0].f, in[1].f
			y := newArr(out)
			var ic []int
			if len(in) > 2 && in[2] != nil {
				ic = bcastIndex(in[2].shape, []int{m, n})
			}
			for i := range m {
				for j := range n {
					s := 0.0
					for q := range k {
						av, bv := a[i*k+q], b[q*n+j]
						if ta {
							av = a[q*m+i]
						}
						if tb {
							bv = b[j*k+q]
						}
						s += av * bv
					}
					s *= alpha
					if ic != nil {
						s += beta * in[2].f[ic[i*n+j]]
					}
					y.f[i*n+j] = s
				}
			}
			return y, nil
		},
	}
}
