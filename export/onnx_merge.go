package export

import (
	"fmt"
	"slices"

	"github.com/tapenet/tapenet/graph"
)

// ONNX forms of graph's layers for models that are not a plain stack:
// merges (add, multiply, concat) and reshape (see builtinONNX).

// foldONNX emits one binary op (Add, Mul) per input after the first, in
// input order, as graph's Add and Multiply fold them: ((x0 op x1) op x2)...
// A single input passes through.
func foldONNX(op string) ONNXFunc {
	return func(b *ONNXBuilder, x string) (string, error) {
		ins, shapes := b.Inputs(), b.InputShapes()
		for i, s := range shapes[1:] {
			if !slices.Equal(s, shapes[0]) {
				return "", fmt.Errorf("input %d has per-sample shape %v, input 0 %v: %s needs equal shapes", i+1, s, shapes[0], op)
			}
		}
		y := x
		for _, in := range ins[1:] {
			y = b.Node(op, []string{y, in})
		}
		return y, nil
	}
}

// concatONNX emits Concat along the per-sample axis plus one (the batch is
// ONNX's axis 0). A single input passes through.
func concatONNX(b *ONNXBuilder, x string) (string, error) {
	c, ok := b.Layer().Layer.(*graph.Concat)
	if !ok {
		return "", fmt.Errorf("concat layer is %T", b.Layer().Layer)
	}
	axis, err := c.SampleAxis(len(b.InputShape()))
	if err != nil {
		return "", err
	}
	ins := b.Inputs()
	if len(ins) == 1 {
		return x, nil
	}
	return b.Node("Concat", ins, AttrInt("axis", int64(axis+1))), nil
}

// reshapeONNX emits Reshape to (0, per-sample shape...) with any -1
// resolved: 0 copies the input's batch dimension (opset 13 has no
// allowzero), so the model keeps its dynamic batch.
func reshapeONNX(b *ONNXBuilder, x string) (string, error) {
	r, ok := b.Layer().Layer.(*graph.Reshape)
	if !ok {
		return "", fmt.Errorf("reshape layer is %T", b.Layer().Layer)
	}
	target, err := r.Target(b.InputShape())
	if err != nil {
		return "", err
	}
	shape, err := b.ConstantInt64("shape", []int{len(target) + 1}, append([]int64{0}, ints64(target...)...))
	if err != nil {
		return "", err
	}
	return b.Node("Reshape", []string{x, shape}), nil
}
