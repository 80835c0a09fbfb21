package tape

import (
	"reflect"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// y = relu(x·w + 1) on a 2×3 input: the inline path must be taken with the
// Gorgonia this module pins, and give RunAll's values run after run.
func TestInlineMatchesRunAll(t *testing.T) {
	build := func() (*gorgonia.ExprGraph, *gorgonia.Node, *gorgonia.Node) {
		g := gorgonia.NewGraph()
		x := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(2, 3), gorgonia.WithName("x"))
		w := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(3, 2), gorgonia.WithName("w"),
			gorgonia.WithValue(tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]float32{1, -2, 3, -4, 5, -6}))))
		y := gorgonia.Must(gorgonia.Rectify(gorgonia.Must(gorgonia.Add(gorgonia.Must(gorgonia.Mul(x, w)), gorgonia.NewConstant(float32(1))))))
		return g, x, y
	}
	inputs := [][]float32{{1, 2, 3, 4, 5, 6}, {-1, 0, 1, 0.5, -0.5, 2}}
	var results [2][][]float32
	for i, inline := range []bool{true, false} {
		g, x, y := build()
		m := New(g)
		if !m.Inline() {
			t.Fatal("the pinned Gorgonia's tape machine does not run inline")
		}
		if !inline {
			m.run = reflect.Value{} // RunAll
		}
		for _, in := range inputs {
			m.Reset()
			if err := gorgonia.Let(x, tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(in))); err != nil {
				t.Fatal(err)
			}
			if err := m.Run(); err != nil {
				t.Fatal(err)
			}
			results[i] = append(results[i], append([]float32(nil), y.Value().Data().([]float32)...))
		}
	}
	// By hand: x·w for the first input is [22 -28; 49 -64], +1, relu.
	want0 := []float32{23, 0, 50, 0}
	for j, v := range want0 {
		if results[0][0][j] != v {
			t.Fatalf("inline run 1 = %v, want %v", results[0][0], want0)
		}
	}
	for r := range inputs {
		for j := range results[0][r] {
			if results[0][r][j] != results[1][r][j] {
				t.Fatalf("run %d: inline %v, RunAll %v", r+1, results[0][r], results[1][r])
			}
		}
	}
}

// A machine of another shape (not gorgonia's tapeMachine) runs through
// RunAll.
func TestInlineRejectsOtherMachines(t *testing.T) {
	if run, _ := inline(gorgonia.NewLispMachine(gorgonia.NewGraph())); run.IsValid() {
		t.Fatal("a lisp machine was accepted for the inline path")
	}
}
