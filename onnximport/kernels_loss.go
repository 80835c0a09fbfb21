package onnximport

import (
	"fmt"
	"math"
	"slices"

	"github.com/tapenet/tapenet/graph"
)

// The loss operators: NegativeLogLikelihoodLoss and
// SoftmaxCrossEntropyLoss (its log_prob output too), with class weights,
// ignore_index and reductions none, sum and mean.

func init() {
	kernels["NegativeLogLikelihoodLoss"] = lossKernel(false)
	kernels["SoftmaxCrossEntropyLoss"] = lossKernel(true)
	genericAttrs["NegativeLogLikelihoodLoss"] = []string{"reduction", "ignore_index"}
	genericAttrs["SoftmaxCrossEntropyLoss"] = []string{"reduction", "ignore_index"}
	since["NegativeLogLikelihoodLoss"], since["SoftmaxCrossEntropyLoss"] = 12, 12
}

func lossKernel(softmax bool) kernel {
	reduction := func(l *Op) (string, error) {
		r := "mean"
		if v, ok := l.Strings["reduction"]; ok {
			r = v
		}
		if r != "none" && r != "sum" && r != "mean" {
			return "", fmt.Errorf("reduction %q", r)
		}
		return r, nil
	}
	return kernel{
		types: func(_ *Op, in []*meta) error {
			if err := wantTypes(in, 0, floatTypes...); err != nil {
				return err
			}
			if err := wantTypes(in, 1, graph.Int64, graph.Int32); err != nil {
				return err
			}
			if len(in) > 2 && in[2] != nil && in[2].dt != in[0].dt {
				return fmt.Errorf("weights of type %s for %s", in[2].dt, in[0].dt)
			}
			return nil
		},
		infer: func(l *Op, in []*meta) (meta, error) {
			x, t := in[0].shape, in[1].shape
			if len(x) < 2 || len(t) != len(x)-1 || t[0] != x[0] || !slices.Equal(t[1:], x[2:]) {
				return meta{}, fmt.Errorf("scores %v and labels %v (want (N, C, d...) and (N, d...))", x, t)
			}
			if len(in) > 2 && in[2] != nil && !slices.Equal(in[2].shape, []int{x[1]}) {
				return meta{}, fmt.Errorf("weights %v for %d classes", in[2].shape, x[1])
			}
			if l.Output == 1 {
				if !softmax {
					return meta{}, fmt.Errorf("one output")
				}
				return meta{dt: in[0].dt, shape: slices.Clone(x)}, nil
			}
			r, err := reduction(l)
			if err != nil {
				return meta{}, err
			}
			if r == "none" {
				return meta{dt: in[0].dt, shape: slices.Clone(t)}, nil
			}
			return meta{dt: in[0].dt, shape: []int{}}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			x, t := in[0], in[1]
			n, c, inner := x.shape[0], x.shape[1], shapeSize(x.shape[2:])
			lp := x.f
			if softmax { // log-softmax along the classes
				lp = make([]float64, len(x.f))
				for b := range n {
					for i := range inner {
						at := func(j int) int { return (b*c+j)*inner + i }
						mx := math.Inf(-1)
						for j := range c {
							mx = max(mx, x.f[at(j)])
						}
						s := 0.0
						for j := range c {
							s += math.Exp(x.f[at(j)] - mx)
						}
						for j := range c {
							lp[at(j)] = x.f[at(j)] - mx - math.Log(s)
						}
					}
				}
				if l.Output == 1 {
					y := newArr(out)
					copy(y.f, lp)
					return y, nil
				}
			}
			r, err := reduction(l)
			if err != nil {
				return nil, err
			}
			ignore, hasIgnore := int64(0), false
			if v, ok := l.Ints["ignore_index"]; ok && len(v) == 1 {
				ignore, hasIgnore = v[0], true
			}
			var w []float64
			if len(in) > 2 && in[2] != nil {
				w = in[2].f
			}
			loss := make([]float64, n*inner)
			wsum := 0.0
			for b := range n {
				for i := range inner {
					k := t.i[b*inner+i]
					if hasIgnore && k == ignore {
						continue
					}
					if k < 0 || k >= int64(c) {
						return nil, fmt.Errorf("label %d out of range for %d classes", k, c)
					}
					wk := 1.0
					if w != nil {
						wk = w[k]
					}
					loss[b*inner+i] = -lp[(b*c+int(k))*inner+i] * wk
					wsum += wk
				}
			}
			y := newArr(out)
			switch r {
			case "none":
				copy(y.f, loss)
			default:
				s := 0.0
				for _, v := range loss {
					s += v
				}
				if r == "mean" {
					s /= wsum
				}
				y.f[0] = s
			}
			return y, nil
		},
	}
}

// Kernels of normalisation, pooling over whole planes and inference-mode
// Dropout.
func init() {
	kernels["InstanceNormalization"] = instanceNormKernel()
	kernels["GlobalMaxPool"] = globalPoolKernel(true)
	kernels["GlobalAveragePool"] = globalPoolKernel(false)
	kernels["Dropout"] = dropoutKernel()
	genericAttrs["InstanceNormalization"] = []string{"epsilon"}
	genericAttrs["Dropout"] = []string{"ratio", "seed"}
}

func instanceNormKernel() kernel {
	return kernel{
		types: func(_ *Op, in []*meta) error {
			for k := range 3 {
				if err := wantTypes(in, k, floatTypes...); err != nil {
					return err
				}
			}
			return nil
		},
		infer: func(_ *Op, in []*meta) (meta, error) {
			x := in[0].shape
			if len(x) < 3 || !slices.Equal(in[1].shape, []int{x[1]}) || !slices.Equal(in[2].shape, []int{x[1]}) {
				return meta{}, fmt.Errorf("input %v, scale %v, bias %v", x, in[1].shape, in[2].shape)
			}
			return meta{dt: in[0].dt, shape: slices.Clone(x)}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			x := in[0]
			eps := l.attrFloat("epsilon", 1e-5)
			n, c, inner := x.shape[0], x.shape[1], shapeSize(x.shape[2:])
			y := newArr(out)
			for b := range n {
				for ch := range c {
					row := x.f[(b*c+ch)*inner : (b*c+ch+1)*inner]
					mean, vr := 0.0, 0.0
					for _, v := range row {
						mean += v
					}
					mean /= float64(inner)
					for _, v := range row {
						vr += (v - mean) * (v - mean)
					}
					vr /= float64(inner)
					inv := 1 / math.Sqrt(vr+eps)
					for j, v := range row {
						y.f[(b*c+ch)*inner+j] = (v-mean)*inv*in[1].f[ch] + in[2].f[ch]
					}
				}
			}
			return y, nil
		},
	}
}

func globalPoolKernel(isMax bool) kernel {
	return kernel{
		types: func(_ *Op, in []*meta) error { return wantTypes(in, 0, floatTypes...) },
		infer: func(_ *Op, in []*meta) (meta, error) {
			x := in[0].shape
			if len(x) < 3 {
				return meta{}, fmt.Errorf("input %v (want (N, C, spatial...))", x)
			}
			shape := slices.Clone(x)
			for d := 2; d < len(shape); d++ {
				shape[d] = 1
			}
			return meta{dt: in[0].dt, shape: shape}, nil
		},
		run: func(_ *Op, in []*arr, out meta) (*arr, error) {
			x := in[0]
			inner := shapeSize(x.shape[2:])
			y := newArr(out)
			for p := range out.size() {
				row := x.f[p*inner : (p+1)*inner]
				acc := 0.0
				if isMax {
					acc = math.Inf(-1)
				}
				for _, v := range row {
					if isMax {
						if v > acc || math.IsNaN(v) {
							acc = v
						}
					} else {
						acc += v
					}
				}
				if !isMax {
					acc /= float64(inner)
				}
				y.f[p] = acc
			}
			return y, nil
		},
	}
}

// dropoutKernel is Dropout at inference (no training_mode, or false, or a
// ratio of 0): the input, and a mask of all true.
func dropoutKernel() kernel {
	return kernel{
		types: func(l *Op, in []*meta) error {
			if err := wantTypes(in, 0, floatTypes...); err != nil {
				return err
			}
			if l.Opset < 7 {
				return unsupported("Dropout before opset 7 (is_test)")
			}
			return nil
		},
		infer: func(l *Op, in []*meta) (meta, error) {
			if l.Output == 1 {
				return meta{dt: graph.Bool, shape: slices.Clone(in[0].shape)}, nil
			}
			return meta{dt: in[0].dt, shape: slices.Clone(in[0].shape)}, nil
		},
		run: func(l *Op, in []*arr, out meta) (*arr, error) {
			if len(in) > 2 && in[2] != nil && in[2].b != nil && in[2].b[0] {
				ratio := l.attrFloat("ratio", 0.5)
				if in[1] != nil && in[1].f != nil {
					ratio = in[1].f[0]
				} else if l.Opset >= 12 {
					ratio = 0.5
				}
				if ratio != 0 {
					return nil, unsupported("Dropout in training mode (random; tapenet imports inference graphs)")
				}
			}
			if l.Output == 1 {
				y := newArr(out)
				for k := range y.b {
					y.b[k] = true
				}
				return y, nil
			}
			return copyArr(in[0], out), nil
		},
	}
}
