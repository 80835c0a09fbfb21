package export

import (
	"fmt"

	"github.com/tapenet/tapenet/graph"
)

// ONNX forms of graph's convolutional-network layers (see builtinONNX).

func ints64(v ...int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// conv2dONNX emits Conv: weight (out, in, kh, kw) and bias are ONNX's own
// layout.
func conv2dONNX(b *ONNXBuilder, x string) (string, error) {
	c, ok := b.Layer().Layer.(*graph.Conv2D)
	if !ok {
		return "", fmt.Errorf("conv2d layer is %T", b.Layer().Layer)
	}
	w, err := b.Param("weight")
	if err != nil {
		return "", err
	}
	bias, err := b.Param("bias")
	if err != nil {
		return "", err
	}
	k, s, p := c.Window()
	return b.Node("Conv", []string{x, w, bias},
		AttrInts("kernel_shape", ints64(k, k)...), AttrInts("strides", ints64(s, s)...),
		AttrInts("pads", ints64(p, p, p, p)...), AttrInts("dilations", 1, 1), AttrInt("group", 1)), nil
}

func maxPool2dONNX(b *ONNXBuilder, x string) (string, error) {
	mp, ok := b.Layer().Layer.(*graph.MaxPool2D)
	if !ok {
		return "", fmt.Errorf("maxpool2d layer is %T", b.Layer().Layer)
	}
	k, s, p := mp.Window()
	return b.Node("MaxPool", []string{x},
		AttrInts("kernel_shape", ints64(k, k)...), AttrInts("strides", ints64(s, s)...),
		AttrInts("pads", ints64(p, p, p, p)...)), nil
}

func flattenONNX(b *ONNXBuilder, x string) (string, error) {
	if len(b.InputShape()) == 1 {
		return x, nil
	}
	return b.Node("Flatten", []string{x}, AttrInt("axis", 1)), nil
}

// batchNormONNX emits BatchNormalization in inference mode (running
// statistics), for (N, C) and (N, C, H, W) inputs alike.
func batchNormONNX(b *ONNXBuilder, x string) (string, error) {
	bn, ok := b.Layer().Layer.(*graph.BatchNorm)
	if !ok {
		return "", fmt.Errorf("batchnorm layer is %T", b.Layer().Layer)
	}
	var in []string
	for _, name := range []string{"weight", "bias", "running_mean", "running_var"} {
		t, err := b.Param(name)
		if err != nil {
			return "", err
		}
		in = append(in, t)
	}
	return b.Node("BatchNormalization", append([]string{x}, in...), AttrFloat("epsilon", float32(bn.Eps()))), nil
}

// globalAvgPool2dONNX emits GlobalAveragePool, (N, C, H, W) to
// (N, C, 1, 1), then Flatten to graph's (N, C).
func globalAvgPool2dONNX(b *ONNXBuilder, x string) (string, error) {
	if len(b.InputShape()) != 3 {
		return "", fmt.Errorf("globalavgpool2d needs (batch, channels, height, width) input, got per-sample shape %v", b.InputShape())
	}
	pooled := b.Node("GlobalAveragePool", []string{x})
	return b.Node("Flatten", []string{pooled}, AttrInt("axis", 1)), nil
}

// avgPool2dONNX emits AveragePool with count_include_pad=1: graph's
// AvgPool2D counts the zero padding in each window's average.
func avgPool2dONNX(b *ONNXBuilder, x string) (string, error) {
	ap, ok := b.Layer().Layer.(*graph.AvgPool2D)
	if !ok {
		return "", fmt.Errorf("avgpool2d layer is %T", b.Layer().Layer)
	}
	k, s, p := ap.Window()
	return b.Node("AveragePool", []string{x},
		AttrInts("kernel_shape", ints64(k, k)...), AttrInts("strides", ints64(s, s)...),
		AttrInts("pads", ints64(p, p, p, p)...), AttrInt("count_include_pad", 1)), nil
}
