package onnximport_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/onnximport"
	"gorgonia.org/tensor"
)

// Cases a hostile-input run found: a silent wrong result, models that
// loaded and then failed every run, a data race, and memory and time that
// did not follow the file's bytes.

// doubles is a DOUBLE tensor in raw_data.
func doubles(name string, shape []int, v ...float64) *onnx.TensorProto {
	raw := make([]byte, 0, 8*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(x))
	}
	return &onnx.TensorProto{Name: name, Dims: dims64(shape), DataType: int32(onnx.TensorProto_DOUBLE), RawData: raw}
}

func castTo(in, out string, dt onnx.TensorProto_DataType) *onnx.NodeProto {
	return node("Cast", []string{in}, []string{out}, aInt("to", int64(dt)))
}

func constNode(out string, t *onnx.TensorProto) *onnx.NodeProto {
	return node("Constant", nil, []string{out}, aTensor("value", t))
}

func forward(t *testing.T, m *graph.Model, shape []int, x []float32) []float32 {
	t.Helper()
	out, err := graph.NewPredictor(m).Forward(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(slices.Clone(x))))
	if err != nil {
		t.Fatal(err)
	}
	return out.Data().([]float32)
}

// DOUBLE constants fold in float64, as ONNX Runtime computes them: the
// values below differ from their float32 roundings.
func TestDoubleFolding(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes []*onnx.NodeProto
		add   float32 // what the folded constant adds to x
	}{
		{"Cast(16777217 double) to int64 - 16777216", []*onnx.NodeProto{
			constNode("d", doubles("", []int{1}, 16777217)),
			castTo("d", "i", onnx.TensorProto_INT64),
			constNode("c", int64s("", []int{1}, 16777216)),
			node("Sub", []string{"i", "c"}, []string{"k"}),
			castTo("k", "kf", onnx.TensorProto_FLOAT),
		}, 1},
		{"(1e16 + 1) - 1e16 in double", []*onnx.NodeProto{
			constNode("a", doubles("", []int{1}, 1e16)),
			constNode("b", doubles("", []int{1}, 2)),
			node("Add", []string{"a", "b"}, []string{"s"}),
			node("Sub", []string{"s", "a"}, []string{"k"}),
			castTo("k", "kf", onnx.TensorProto_FLOAT),
		}, 2},
		{"double Div then Mul", []*onnx.NodeProto{
			constNode("a", doubles("", []int{1}, 1)),
			constNode("b", doubles("", []int{1}, 3)),
			node("Div", []string{"a", "b"}, []string{"q"}),
			node("Mul", []string{"q", "b"}, []string{"p"}),
			node("Sub", []string{"p", "a"}, []string{"z"}), // exactly 0 in float64
			constNode("big", doubles("", []int{1}, 1e20)),
			node("Mul", []string{"z", "big"}, []string{"k"}),
			castTo("k", "kf", onnx.TensorProto_FLOAT),
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes := append(tc.nodes, n1("Add", []string{"x", "kf"}))
			m, err := onnximport.Decode(marshal(t, modelProto(13, []int{1}, nodes)))
			if err != nil {
				t.Fatal(err)
			}
			y := forward(t, m, []int{2, 1}, []float32{0.5, -3})
			if want := []float32{0.5 + tc.add, -3 + tc.add}; !slices.Equal(y, want) {
				t.Errorf("y = %v, want %v (as ONNX Runtime)", y, want)
			}
		})
	}
}

// A FLOAT and a DOUBLE operand are a type error in ONNX (ONNX Runtime
// refuses the model): refused, never computed in float32.
func TestFloatDoubleMix(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes []*onnx.NodeProto
	}{
		{"tensor + double constant", []*onnx.NodeProto{constNode("d", doubles("", []int{1}, 1)), n1("Add", []string{"x", "d"})}},
		{"float constant + double constant", []*onnx.NodeProto{
			constNode("d", doubles("", []int{1}, 1)),
			constNode("f", floats("", []int{1}, 1)),
			node("Add", []string{"f", "d"}, []string{"s"}),
			n1("Add", []string{"x", "s"}),
		}},
		{"double initializer as a Gemm weight", []*onnx.NodeProto{n1("Gemm", []string{"x", "w"})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mp := modelProto(13, []int{1}, tc.nodes, doubles("w", []int{1, 1}, 2))
			_, err := onnximport.Decode(marshal(t, mp))
			var ne *onnximport.NodeError
			if !errors.As(err, &ne) || !strings.Contains(err.Error(), "DOUBLE") {
				t.Fatalf("err = %v, want a NodeError naming DOUBLE", err)
			}
		})
	}
}

// Large Pad blocks (which Gorgonia's constants once merged when they
// printed alike) run, and give ONNX's values: by hand, and ONNX Runtime's
// on the same models and inputs.
func TestPadBlocks(t *testing.T) {
	var jobs []ortJob
	var names []string
	var outs [][]float32
	for _, tc := range []struct {
		name string
		pads []int64 // N C H W begins, then ends
	}{
		{"9 per side on H and W", []int64{0, 0, 9, 9, 0, 0, 9, 9}},
		{"30/40 asymmetric", []int64{0, 0, 30, 40, 0, 0, 40, 30}},
		{"channels and width", []int64{0, 2, 0, 12, 0, 1, 0, 12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const c, h, w = 2, 3, 4
			for _, value := range []float32{0, 0.5} {
				nodes := []*onnx.NodeProto{n1("Pad", []string{"x", "p", "v"})}
				mp := modelProto(13, []int{c, h, w}, nodes, int64s("p", []int{8}, tc.pads...), floats("v", nil, value))
				m, err := onnximport.Decode(marshal(t, mp))
				if err != nil {
					t.Fatal(err)
				}
				x := make([]float32, 2*c*h*w)
				for k := range x {
					x[k] = float32(k + 1)
				}
				y := forward(t, m, []int{2, c, h, w}, x)
				p := tc.pads
				oc, oh, ow := c+int(p[1]+p[5]), h+int(p[2]+p[6]), w+int(p[3]+p[7])
				want := make([]float32, 2*oc*oh*ow)
				for k := range want {
					want[k] = value
				}
				for n := range 2 {
					for ci := range c {
						for i := range h {
							for j := range w {
								want[((n*oc+ci+int(p[1]))*oh+i+int(p[2]))*ow+j+int(p[3])] = x[((n*c+ci)*h+i)*w+j]
							}
						}
					}
				}
				if !slices.Equal(y, want) {
					t.Errorf("value %g: padded output differs from ONNX's", value)
				}
				jobs = append(jobs, ortJob{Model: marshal(t, mp), Batch: 2, Inputs: []ortInput{{Name: "x", Data: x, Dims: []int{2, c, h, w}}}})
				names = append(names, fmt.Sprintf("%s, value %g", tc.name, value))
				outs = append(outs, y)
			}
		})
	}
	t.Run("ONNX Runtime", func(t *testing.T) {
		res, version := runORT(t, jobs)
		for k, r := range res {
			if r.Err != "" || len(r.Outputs) == 0 {
				t.Errorf("%s: ORT: %q", names[k], r.Err)
				continue
			}
			if d := maxAbsDiff(outs[k], r.Outputs[0].Data); d != 0 {
				t.Errorf("%s: differs from ONNX Runtime %s by %g", names[k], version, d)
			}
		}
		t.Logf("%d Pad models equal ONNX Runtime %s exactly", len(res), version)
	})
}

// Predictors of one model with a non-square MaxPool (onnx-maxpool) build
// and run on two goroutines at once (go test -race: Gorgonia's node-group
// counter is taken under graph/ops' lock).
func TestMaxPoolConcurrent(t *testing.T) {
	nodes := []*onnx.NodeProto{n1("MaxPool", []string{"x"}, aInts("kernel_shape", 2, 3), aInts("strides", 1, 2))}
	m, err := onnximport.Decode(marshal(t, modelProto(13, []int{1, 3, 7}, nodes)))
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 4*21)
	for k := range x {
		x[k] = float32((k * 37) % 23)
	}
	// By hand: (3-2)+1 = 2 rows, (7-3)/2+1 = 3 columns.
	want := make([]float32, 0, 4*6)
	for n := range 4 {
		for i := range 2 {
			for j := range 3 {
				best := float32(math.Inf(-1))
				for di := range 2 {
					for dj := range 3 {
						best = max(best, x[n*21+(i+di)*7+2*j+dj])
					}
				}
				want = append(want, best)
			}
		}
	}
	var wg sync.WaitGroup
	got := make([][]float32, 2)
	errs := make([]error, 2)
	start := make(chan struct{})
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range 10 { // new graphs each time, built as the other goroutine builds
				pr := graph.NewPredictor(m)
				out, err := pr.Forward(tensor.New(tensor.WithShape(4, 1, 3, 7), tensor.WithBacking(slices.Clone(x))))
				if err != nil {
					errs[g] = err
					return
				}
				got[g] = out.Data().([]float32)
			}
		}()
	}
	close(start)
	wg.Wait()
	for g := range 2 {
		if errs[g] != nil {
			t.Fatal(errs[g])
		}
		if !slices.Equal(got[g], want) {
			t.Errorf("goroutine %d: %v, want %v", g, got[g], want)
		}
	}
}

// bounded decodes a model expecting an error containing want, within a
// second and 200 MB of allocation.
func bounded(t *testing.T, mp *onnx.ModelProto, want string) {
	t.Helper()
	b := marshal(t, mp)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := onnximport.Decode(b)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d-byte model: %v, %.1f MB allocated: %v", len(b), took.Round(time.Millisecond), float64(alloc)/1e6, err)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want one containing %q", err, want)
	}
	if took > time.Second || alloc > 200e6 {
		t.Errorf("took %v and %d bytes, want at most 1 s and 200 MB", took, alloc)
	}
}

// Work while importing follows the file's bytes: a few hundred bytes never
// cost gigabytes or seconds.
func TestBoundedWork(t *testing.T) {
	int64Fill := aTensor("value", int64s("", []int{1}, 7))
	t.Run("int64 broadcast folding", func(t *testing.T) {
		nodes := []*onnx.NodeProto{
			node("ConstantOfShape", []string{"s1"}, []string{"a"}, int64Fill),
			node("ConstantOfShape", []string{"s2"}, []string{"b"}, int64Fill),
			node("Add", []string{"a", "b"}, []string{"c"}),
			castTo("c", "cf", onnx.TensorProto_FLOAT),
			n1("Add", []string{"x", "cf"}),
		}
		bounded(t, modelProto(13, []int{1}, nodes, int64s("s1", []int{2}, 8192, 1), int64s("s2", []int{2}, 1, 8192)), "MiB")
	})
	t.Run("Pad of 8000 per side", func(t *testing.T) {
		nodes := []*onnx.NodeProto{n1("Pad", []string{"x", "p"})}
		bounded(t, modelProto(13, []int{1, 1, 1}, nodes, int64s("p", []int{8}, 0, 0, 8000, 8000, 0, 0, 8000, 8000)), "per sample")
	})
	t.Run("Pad of a constant, 8000 per side", func(t *testing.T) {
		nodes := []*onnx.NodeProto{
			node("ConstantOfShape", []string{"s"}, []string{"a"}),
			node("Pad", []string{"a", "p"}, []string{"b"}),
			n1("Add", []string{"x", "b"}),
		}
		bounded(t, modelProto(13, []int{1}, nodes, int64s("s", []int{2}, 1, 1), int64s("p", []int{4}, 8000, 8000, 8000, 8000)), "MiB")
	})
	t.Run("folding within the budget still folds", func(t *testing.T) {
		nodes := []*onnx.NodeProto{
			node("ConstantOfShape", []string{"s1"}, []string{"a"}, int64Fill),
			node("ConstantOfShape", []string{"s2"}, []string{"b"}, int64Fill),
			node("Add", []string{"a", "b"}, []string{"c"}),
			castTo("c", "cf", onnx.TensorProto_FLOAT),
			n1("Add", []string{"x", "cf"}),
		}
		m, err := onnximport.Decode(marshal(t, modelProto(13, []int{300, 300}, nodes, int64s("s1", []int{2}, 300, 1), int64s("s2", []int{2}, 1, 300))))
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, 300*300)
		y := forward(t, m, []int{1, 300, 300}, x)
		if y[0] != 14 || y[len(y)-1] != 14 {
			t.Errorf("y = %v ... %v, want 14", y[0], y[len(y)-1])
		}
	})
}

// FLOAT16 initializers become float32 on load, exactly.
func TestFloat16Initializer(t *testing.T) {
	// 1, -2, 0.5, 65504 (the largest half), 2^-24 (the smallest subnormal).
	halves := []uint16{0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001}
	raw := make([]byte, 0, 2*len(halves))
	for _, h := range halves {
		raw = binary.LittleEndian.AppendUint16(raw, h)
	}
	w := &onnx.TensorProto{Name: "w", Dims: []int64{5}, DataType: int32(onnx.TensorProto_FLOAT16), RawData: raw}
	m, err := onnximport.Decode(marshal(t, modelProto(13, []int{5}, []*onnx.NodeProto{n1("Add", []string{"x", "w"})}, w)))
	if err != nil {
		t.Fatal(err)
	}
	y := forward(t, m, []int{1, 5}, make([]float32, 5))
	if want := []float32{1, -2, 0.5, 65504, 1.0 / (1 << 24)}; !slices.Equal(y, want) {
		t.Errorf("y = %v, want %v", y, want)
	}
}
