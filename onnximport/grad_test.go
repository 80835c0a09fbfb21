package onnximport

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tapenet/tapenet/graph"
)

// gradCase is an Op, its inputs (nil for an absent one; float64 inputs
// are tensors, float32 and integer ones constants) and the inputs whose
// gradient is checked.
type gradCase struct {
	name string
	op   *Op
	in   []*arr
	wrt  []int
}

func randArr(rng *rand.Rand, lo, hi float64, signed bool, shape ...int) *arr {
	a := newArr(meta{dt: graph.Float64, shape: shape})
	for k := range a.f {
		a.f[k] = lo + (hi-lo)*rng.Float64()
		if signed && rng.IntN(2) == 0 {
			a.f[k] = -a.f[k]
		}
	}
	return a
}

func intArr(v ...int64) *arr { return &arr{meta: meta{dt: graph.Int64, shape: []int{len(v)}}, i: v} }

// build sets the Op's Inputs and Consts: float64 inputs tensors, others
// constants.
func (c *gradCase) build() {
	c.op.Inputs, c.op.Consts = nil, nil
	if c.op.Opset == 0 {
		c.op.Opset = 13
	}
	for _, a := range c.in {
		switch {
		case a == nil:
			c.op.Inputs = append(c.op.Inputs, "absent")
		case a.dt == graph.Float64:
			c.op.Inputs = append(c.op.Inputs, "")
		default:
			c.op.Inputs = append(c.op.Inputs, "const")
			c.op.Consts = append(c.op.Consts, OpConst{DType: a.dt, Shape: a.shape, I: a.i, F: a.f})
		}
	}
}

// eval runs the Op on the inputs.
func (c *gradCase) eval(t *testing.T) *arr {
	t.Helper()
	var xs []*arr
	for _, a := range c.in {
		if a != nil && a.dt == graph.Float64 {
			xs = append(xs, &arr{meta: meta{dt: a.dt, shape: slices.Clone(a.shape)}, f: a.f})
		}
	}
	ins, err := c.op.arrays(xs)
	if err != nil {
		t.Fatal(err)
	}
	metas := make([]*meta, len(ins))
	for k, a := range ins {
		if a != nil {
			metas[k] = &a.meta
		}
	}
	k := kernels[c.op.Op]
	out, err := k.infer(c.op, metas)
	if err != nil {
		t.Fatal(err)
	}
	y, err := k.run(c.op, ins, out)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// Every onnx-op gradient equals the central finite difference (float64,
// h = 1e-6) of Σ r ⊙ y, r random, for each input it differentiates.
func TestOpGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	r := func(shape ...int) *arr { return randArr(rng, 0.1, 0.9, true, shape...) }
	pos := func(shape ...int) *arr { return randArr(rng, 0.5, 1.5, false, shape...) }
	var cases []gradCase
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range unaryDeriv {
			if !yield(n) {
				return
			}
		}
	}) {
		x := r(2, 3)
		switch name {
		case "Log", "Sqrt":
			x = pos(2, 3)
		case "Acosh":
			x = randArr(rng, 1.5, 2.5, false, 2, 3)
		}
		cases = append(cases, gradCase{name: name, op: &Op{Op: name}, in: []*arr{x}, wrt: []int{0}})
	}
	for _, name := range []string{"Add", "Sub", "Mul", "Div", "Pow", "PRelu"} {
		a, b := r(2, 3), r(3)
		if name == "Pow" || name == "Div" {
			a, b = pos(2, 3), pos(3)
		}
		cases = append(cases, gradCase{name: name + " broadcast", op: &Op{Op: name}, in: []*arr{a, b}, wrt: []int{0, 1}})
	}
	cases = append(cases,
		gradCase{name: "Clip", op: &Op{Op: "Clip", Opset: 6, Floats: map[string][]float64{"min": {-0.5}, "max": {0.5}}}, in: []*arr{r(2, 4)}, wrt: []int{0}},
		gradCase{name: "Conv grouped strided padded", op: &Op{Op: "Conv", Ints: map[string][]int64{"group": {2}, "strides": {2, 1}, "pads": {1, 0, 1, 1}}},
			in: []*arr{r(2, 4, 5, 5), r(4, 2, 3, 3), r(4)}, wrt: []int{0, 1, 2}},
		gradCase{name: "Conv 1-D dilated", op: &Op{Op: "Conv", Ints: map[string][]int64{"dilations": {2}}}, in: []*arr{r(1, 2, 7), r(3, 2, 2)}, wrt: []int{0, 1}},
		gradCase{name: "ConvTranspose strided", op: &Op{Op: "ConvTranspose", Ints: map[string][]int64{"strides": {2, 2}, "pads": {1, 1, 1, 1}}},
			in: []*arr{r(1, 2, 3, 3), r(2, 3, 3, 3), r(3)}, wrt: []int{0, 1, 2}},
		gradCase{name: "LayerNormalization last axis", op: &Op{Op: "LayerNormalization", Opset: 17}, in: []*arr{r(2, 3, 4), r(4), r(4)}, wrt: []int{0, 1, 2}},
		gradCase{name: "LayerNormalization axis 1", op: &Op{Op: "LayerNormalization", Opset: 17, Ints: map[string][]int64{"axis": {1}}}, in: []*arr{r(2, 3, 4), r(3, 4), r(4)}, wrt: []int{0, 1, 2}},
		gradCase{name: "Softmax axis 1", op: &Op{Op: "Softmax", Ints: map[string][]int64{"axis": {1}}}, in: []*arr{r(2, 3, 4)}, wrt: []int{0}},
		gradCase{name: "LogSoftmax opset 11 (2-D form)", op: &Op{Op: "LogSoftmax", Opset: 11, Ints: map[string][]int64{"axis": {1}}}, in: []*arr{r(2, 3, 4)}, wrt: []int{0}},
		gradCase{name: "GlobalAveragePool", op: &Op{Op: "GlobalAveragePool"}, in: []*arr{r(2, 3, 2, 2)}, wrt: []int{0}},
		gradCase{name: "ReduceMean axis 1", op: &Op{Op: "ReduceMean", Ints: map[string][]int64{"axes": {1}, "keepdims": {0}}}, in: []*arr{r(2, 3, 4)}, wrt: []int{0}},
		gradCase{name: "ReduceSum axes input", op: &Op{Op: "ReduceSum"}, in: []*arr{r(2, 3, 4), intArr(-1)}, wrt: []int{0}},
		gradCase{name: "MatMul 3-D by a matrix", op: &Op{Op: "MatMul"}, in: []*arr{r(2, 3, 4), r(4, 5)}, wrt: []int{0, 1}},
		gradCase{name: "Reshape", op: &Op{Op: "Reshape"}, in: []*arr{r(2, 6), intArr(3, 4)}, wrt: []int{0}},
		gradCase{name: "Transpose", op: &Op{Op: "Transpose", Ints: map[string][]int64{"perm": {2, 0, 1}}}, in: []*arr{r(2, 3, 4)}, wrt: []int{0}},
		gradCase{name: "Slice with a step", op: &Op{Op: "Slice"}, in: []*arr{r(3, 5), intArr(0, 4), intArr(2, 0), intArr(0, 1), intArr(1, -2)}, wrt: []int{0}},
		gradCase{name: "Gather repeated indices", op: &Op{Op: "Gather", Ints: map[string][]int64{"axis": {1}}}, in: []*arr{r(2, 4), intArr(3, 0, 3)}, wrt: []int{0}},
		gradCase{name: "Concat", op: &Op{Op: "Concat", Ints: map[string][]int64{"axis": {1}}}, in: []*arr{r(2, 3), r(2, 2)}, wrt: []int{0, 1}},
		gradCase{name: "Expand", op: &Op{Op: "Expand"}, in: []*arr{r(3, 1), intArr(2, 3, 4)}, wrt: []int{0}},
		gradCase{name: "Tile", op: &Op{Op: "Tile"}, in: []*arr{r(2, 3), intArr(2, 2)}, wrt: []int{0}},
		gradCase{name: "Pad reflect, cropping", op: &Op{Op: "Pad", Strings: map[string]string{"mode": "reflect"}}, in: []*arr{r(2, 3, 4), intArr(0, 2, 3, 0, -1, 2)}, wrt: []int{0}},
		gradCase{name: "Pad edge", op: &Op{Op: "Pad", Strings: map[string]string{"mode": "edge"}}, in: []*arr{r(2, 3), intArr(1, 2, 0, 3)}, wrt: []int{0}},
		gradCase{name: "Pad constant", op: &Op{Op: "Pad"}, in: []*arr{r(2, 3), intArr(0, 2, 1, 1)}, wrt: []int{0}},
		gradCase{name: "GatherND batch_dims 1", op: &Op{Op: "GatherND", Ints: map[string][]int64{"batch_dims": {1}}}, in: []*arr{r(2, 3, 2), {meta: meta{dt: graph.Int64, shape: []int{2, 2, 1}}, i: []int64{2, 2, 0, 1}}}, wrt: []int{0}},
		gradCase{name: "DepthToSpace CRD", op: &Op{Op: "DepthToSpace", Ints: map[string][]int64{"blocksize": {2}}, Strings: map[string]string{"mode": "CRD"}}, in: []*arr{r(1, 8, 2, 3)}, wrt: []int{0}},
		gradCase{name: "SpaceToDepth", op: &Op{Op: "SpaceToDepth", Ints: map[string][]int64{"blocksize": {2}}}, in: []*arr{r(1, 2, 4, 2)}, wrt: []int{0}},
		gradCase{name: "Resize nearest", op: &Op{Op: "Resize", Strings: map[string]string{"mode": "nearest"}}, in: []*arr{r(1, 2, 3, 3), nil, {meta: meta{dt: graph.Float32, shape: []int{4}}, f: []float64{1, 1, 2, 1.5}}}, wrt: []int{0}},
		gradCase{name: "Resize linear half_pixel", op: &Op{Op: "Resize", Strings: map[string]string{"mode": "linear"}}, in: []*arr{r(1, 2, 3, 4), nil, {meta: meta{dt: graph.Float32, shape: []int{4}}, f: []float64{1, 1, 2, 0.75}}}, wrt: []int{0}},
		gradCase{name: "Resize cubic align_corners", op: &Op{Op: "Resize", Strings: map[string]string{"mode": "cubic", "coordinate_transformation_mode": "align_corners"}}, in: []*arr{r(1, 1, 4, 4), nil, {meta: meta{dt: graph.Float32, shape: []int{4}}, f: []float64{1, 1, 1.5, 2}}}, wrt: []int{0}},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.build()
			y := c.eval(t)
			dy := randArr(rng, 0.1, 1, true, y.shape...)
			loss := func() float64 {
				v := c.eval(t)
				s := 0.0
				for k := range v.f {
					s += v.f[k] * dy.f[k]
				}
				return s
			}
			var xs []*arr
			for _, a := range c.in {
				if a != nil && a.dt == graph.Float64 {
					xs = append(xs, a)
				}
			}
			ins, err := c.op.arrays(xs)
			if err != nil {
				t.Fatal(err)
			}
			g, ok := grads[c.op.Op]
			if !ok {
				t.Fatalf("no gradient for %s", c.op.Op)
			}
			for _, j := range c.wrt {
				if !slices.Contains(g.diff, j) {
					t.Fatalf("input %d not differentiated", j)
				}
				got, err := g.f(c.op, ins, y, dy, j)
				if err != nil {
					t.Fatal(err)
				}
				x := c.in[j]
				if len(got) != len(x.f) {
					t.Fatalf("input %d: %d gradient values for %d", j, len(got), len(x.f))
				}
				worst := 0.0
				for e := range x.f {
					const h = 1e-6
					keep := x.f[e]
					x.f[e] = keep + h
					up := loss()
					x.f[e] = keep - h
					down := loss()
					x.f[e] = keep
					num := (up - down) / (2 * h)
					worst = max(worst, math.Abs(num-got[e])/max(1, math.Abs(num)))
				}
				if worst > 1e-6 {
					t.Errorf("input %d: gradient differs from the finite difference by %.3g (relative)", j, worst)
				}
			}
		})
	}
}
