package onnximport

import (
	"fmt"
	"math"
	"strconv"

	"github.com/tapenet/tapenet/graph"
)

// Conversions of convolution, pooling, batch normalisation and dropout.

// pair reads an INTS attribute of two positive values (height, width),
// def for both when absent.
func (nc *nodeCtx) pair(name string, def int) ([2]int, error) {
	v, ok, err := nc.attrInts(name)
	if err != nil || !ok {
		return [2]int{def, def}, err
	}
	if len(v) != 2 || v[0] < 1 || v[1] < 1 || v[0] > 1<<20 || v[1] > 1<<20 {
		return [2]int{}, fmt.Errorf("attribute %s %v: want two positive values (2-D)", name, v)
	}
	return [2]int{int(v[0]), int(v[1])}, nil
}

// pads reads pads or auto_pad for a 2-D window over an input of sides in:
// the padding must be symmetric on each axis.
func (nc *nodeCtx) pads(in []int, k, s, d [2]int) ([2]int, error) {
	auto, err := nc.attrString("auto_pad", "NOTSET")
	if err != nil {
		return [2]int{}, err
	}
	p, has, err := nc.attrInts("pads")
	if err != nil {
		return [2]int{}, err
	}
	switch auto {
	case "NOTSET":
		if !has {
			return [2]int{}, nil
		}
		if len(p) != 4 {
			return [2]int{}, fmt.Errorf("pads %v: want 4 values (2-D)", p)
		}
		for _, v := range p {
			if v < 0 || v > 1<<20 {
				return [2]int{}, fmt.Errorf("pads %v out of range", p)
			}
		}
		if p[0] != p[2] || p[1] != p[3] {
			return [2]int{}, unsupported("asymmetric padding %v", p)
		}
		return [2]int{int(p[0]), int(p[1])}, nil
	case "VALID":
		return [2]int{}, nil
	case "SAME_UPPER", "SAME_LOWER":
		var out [2]int
		for a := range 2 {
			o := (in[a] + s[a] - 1) / s[a]
			total := max(0, (o-1)*s[a]+(k[a]-1)*d[a]+1-in[a])
			if total%2 != 0 {
				return [2]int{}, unsupported("auto_pad %s where it pads one side more than the other", auto)
			}
			out[a] = total / 2
		}
		return out, nil
	}
	return [2]int{}, fmt.Errorf("auto_pad %q", auto)
}

func conv(nc *nodeCtx) error {
	if err := nc.allow("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"); err != nil {
		return err
	}
	if err := nc.inputs(2, 3); err != nil {
		return err
	}
	x, err := nc.tensorIn(0)
	if err != nil {
		return err
	}
	ps := x.Shape()
	if len(ps) != 3 {
		return unsupported("a %d-D convolution (only 2-D, over (batch, channels, height, width))", len(ps)-1)
	}
	w, err := nc.constIn(1, "W")
	if err != nil {
		return err
	}
	if len(w.shape) != 4 {
		return fmt.Errorf("input W has shape %v: want (filters, channels, height, width)", w.shape)
	}
	group, err := nc.attrInt("group", 1)
	if err != nil {
		return err
	}
	if group != 1 {
		return unsupported("group %d (grouped or depthwise convolution)", group)
	}
	if w.shape[1] != ps[0] {
		return fmt.Errorf("input W of shape %v for %d input channels", w.shape, ps[0])
	}
	k := [2]int{w.shape[2], w.shape[3]}
	if ks, ok, err := nc.attrInts("kernel_shape"); err != nil {
		return err
	} else if ok && (len(ks) != 2 || ks[0] != int64(k[0]) || ks[1] != int64(k[1])) {
		return fmt.Errorf("kernel_shape %v for W of shape %v", ks, w.shape)
	}
	if k[0] < 1 || k[1] < 1 {
		return fmt.Errorf("input W of shape %v", w.shape)
	}
	s, err := nc.pair("strides", 1)
	if err != nil {
		return err
	}
	d, err := nc.pair("dilations", 1)
	if err != nil {
		return err
	}
	p, err := nc.pads(ps[1:], k, s, d)
	if err != nil {
		return err
	}
	filters := w.shape[0]
	var b *constant
	if nc.input(2) != nil {
		if b, err = nc.constIn(2, "B"); err != nil {
			return err
		}
		if b.size() != filters || len(b.shape) != 1 {
			return fmt.Errorf("input B of shape %v for %d filters", b.shape, filters)
		}
	}
	wp, err := paramOf("weight", w, w.shape)
	if err != nil {
		return err
	}
	ps2 := []param{wp}
	if b != nil {
		bp, err := paramOf("bias", b, b.shape)
		if err != nil {
			return err
		}
		ps2 = append(ps2, bp)
	}
	var l graph.Layer
	if k[0] == k[1] && s[0] == s[1] && p[0] == p[1] && d == [2]int{1, 1} && b != nil {
		l = &graph.Conv2D{Filters: filters, Kernel: k[0], Stride: s[0], Padding: p[0]}
	} else {
		l = &Conv{Filters: filters, Kernel: k, Stride: s, Pad: p, Dilation: d, Bias: b != nil}
	}
	t, err := nc.apply(l, ps2, x)
	if err != nil {
		return err
	}
	return nc.outTensor(t)
}

func pool(isMax bool) handler {
	return func(nc *nodeCtx) error {
		allowed := []string{"auto_pad", "ceil_mode", "kernel_shape", "pads", "strides"}
		if isMax {
			allowed = append(allowed, "dilations", "storage_order")
		} else {
			allowed = append(allowed, "count_include_pad")
		}
		if err := nc.allow(allowed...); err != nil {
			return err
		}
		if err := nc.inputs(1, 1); err != nil {
			return err
		}
		if err := nc.onlyFirstOutput(); err != nil {
			return err
		}
		x, err := nc.tensorIn(0)
		if err != nil {
			return err
		}
		ps := x.Shape()
		if len(ps) != 3 {
			return unsupported("%d-D pooling (only 2-D, over (batch, channels, height, width))", len(ps)-1)
		}
		if _, ok, _ := nc.attrInts("kernel_shape"); !ok {
			return fmt.Errorf("attribute kernel_shape is missing")
		}
		k, err := nc.pair("kernel_shape", 0)
		if err != nil {
			return err
		}
		s, err := nc.pair("strides", 1)
		if err != nil {
			return err
		}
		if isMax {
			d, err := nc.pair("dilations", 1)
			if err != nil {
				return err
			}
			if d != [2]int{1, 1} {
				return unsupported("dilations %v", d)
			}
		}
		p, err := nc.pads(ps[1:], k, s, [2]int{1, 1})
		if err != nil {
			return err
		}
		for a := range 2 {
			if p[a] >= k[a] {
				return unsupported("padding %v not smaller than the kernel %v", p, k)
			}
			if ps[a+1]+2*p[a] < k[a] {
				return fmt.Errorf("kernel %v larger than the padded input %v", k, ps)
			}
		}
		ceil, err := nc.attrInt("ceil_mode", 0)
		if err != nil {
			return err
		}
		if ceil != 0 {
			for a := range 2 {
				if (ps[a+1]+2*p[a]-k[a])%s[a] != 0 {
					return unsupported("ceil_mode=1 where it makes the output larger than floor mode")
				}
			}
		}
		square := k[0] == k[1] && s[0] == s[1] && p[0] == p[1]
		win := window{Kernel: k, Stride: s, Pad: p}
		var l graph.Layer
		if isMax {
			l = &MaxPool{win}
			if square {
				l = &graph.MaxPool2D{Kernel: k[0], Stride: s[0], Padding: p[0]}
			}
		} else {
			cip, err := nc.attrInt("count_include_pad", 0)
			if err != nil {
				return err
			}
			exclude := cip == 0 && p != [2]int{}
			l = &AvgPool{window: win, ExcludePad: exclude}
			if square && !exclude {
				l = &graph.AvgPool2D{Kernel: k[0], Stride: s[0], Padding: p[0]}
			}
		}
		t, err := nc.apply(l, nil, x)
		if err != nil {
			return err
		}
		return nc.outTensor(t)
	}
}

func globalAvgPool(nc *nodeCtx) error {
	if err := nc.allow(); err != nil {
		return err
	}
	if err := nc.inputs(1, 1); err != nil {
		return err
	}
	x, err := nc.tensorIn(0)
	if err != nil {
		return err
	}
	ps := x.Shape()
	if len(ps) != 3 {
		return unsupported("GlobalAveragePool over %d-D inputs (only 2-D, (batch, channels, height, width))", len(ps)-1)
	}
	t, err := nc.apply(graph.GlobalAvgPool2D{}, nil, x)
	if err != nil {
		return err
	}
	if t, err = nc.apply(&graph.Reshape{Shape: []int{ps[0], 1, 1}}, nil, t); err != nil {
		return err
	}
	return nc.outTensor(t)
}

// round6 rounds a float32 attribute to its shortest decimal form, so 1e-5
// stays 1e-5 in the layer's JSON configuration.
func round6(v float32) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(v), 'g', -1, 32), 64)
	return f
}

func batchNorm(nc *nodeCtx) error {
	if err := nc.allow("epsilon", "momentum", "training_mode"); err != nil {
		return err
	}
	if err := nc.inputs(5, 5); err != nil {
		return err
	}
	if err := nc.onlyFirstOutput(); err != nil {
		return err
	}
	if tm, err := nc.attrInt("training_mode", 0); err != nil {
		return err
	} else if tm != 0 {
		return unsupported("training_mode=1 (export the model in eval mode)")
	}
	x, err := nc.tensorIn(0)
	if err != nil {
		return err
	}
	ps := x.Shape()
	if len(ps) != 1 && len(ps) != 3 {
		return unsupported("batch normalization of inputs of sample shape %v (only (features) or (channels, height, width))", ps)
	}
	eps, err := nc.attrFloat("epsilon", 1e-5)
	if err != nil {
		return err
	}
	mom, err := nc.attrFloat("momentum", 0.9)
	if err != nil {
		return err
	}
	if !(eps > 0) || math.IsInf(float64(eps), 0) {
		return unsupported("epsilon %v (it must be positive)", eps)
	}
	// ONNX's momentum weighs the running statistics, PyTorch's (and
	// graph.BatchNorm's) the batch.
	m, _ := strconv.ParseFloat(strconv.FormatFloat(1-float64(mom), 'g', 6, 64), 64)
	if !(m > 0 && m <= 1) {
		return unsupported("momentum %v (it must be in [0, 1))", mom)
	}
	c := ps[0]
	var params []param
	for k, name := range []string{"weight", "bias", "running_mean", "running_var"} {
		v, err := nc.constIn(k+1, name)
		if err != nil {
			return err
		}
		if v.size() != c || len(v.shape) != 1 {
			return fmt.Errorf("%s of shape %v for %d channels", name, v.shape, c)
		}
		p, err := paramOf(name, v, []int{c})
		if err != nil {
			return err
		}
		params = append(params, p)
	}
	t, err := nc.apply(&graph.BatchNorm{Momentum: m, Epsilon: round6(eps)}, params, x)
	if err != nil {
		return err
	}
	return nc.outTensor(t)
}

func dropout(nc *nodeCtx) error {
	ratio := float32(0.5)
	if nc.opset < 12 {
		if err := nc.allow("ratio", "seed"); err != nil {
			return err
		}
		if err := nc.inputs(1, 1); err != nil {
			return err
		}
		r, err := nc.attrFloat("ratio", 0.5)
		if err != nil {
			return err
		}
		ratio = r
	} else {
		if err := nc.allow("seed"); err != nil {
			return err
		}
		if err := nc.inputs(1, 3); err != nil {
			return err
		}
		if nc.input(1) != nil {
			r, err := nc.constIn(1, "ratio")
			if err != nil {
				return err
			}
			f, err := r.floats32()
			if err != nil || len(f) != 1 {
				return fmt.Errorf("ratio %v: want one float", r)
			}
			ratio = f[0]
		}
		if nc.input(2) != nil {
			tm, err := nc.constIn(2, "training_mode")
			if err != nil {
				return err
			}
			if v, err := tm.scalarInt(); err != nil || v != 0 {
				return unsupported("training_mode other than false")
			}
		}
	}
	if err := nc.onlyFirstOutput(); err != nil {
		return err
	}
	if !(ratio >= 0 && ratio < 1) {
		return unsupported("ratio %v (it must be in [0, 1))", ratio)
	}
	v := nc.input(0)
	if v.c != nil || ratio == 0 {
		return nc.out(0, v) // inference: the input passes through
	}
	t, err := nc.apply(&graph.Dropout{Rate: round6(ratio)}, nil, v.t)
	if err != nil {
		return err
	}
	return nc.outTensor(t)
}
