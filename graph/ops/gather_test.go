package ops_test

import (
	"slices"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph/ops"
)

// lookupGraph builds cost = sum(Lookup(table, ids) ⊙ w) with the table
// (4, 2) of rows [10r+1, 10r+2] and w of the ids' shape plus 2 holding
// 1, 2, 3, ... in order.
func lookupGraph(t *testing.T, ids *tensor.Dense) (g *gorgonia.ExprGraph, table, out, cost *gorgonia.Node) {
	t.Helper()
	g = gorgonia.NewGraph()
	tv := tensor.New(tensor.WithShape(4, 2), tensor.WithBacking([]float32{1, 2, 11, 12, 21, 22, 31, 32}))
	table = gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(4, 2), gorgonia.WithValue(tv), gorgonia.WithName("table"))
	idn := gorgonia.NewTensor(g, ids.Dtype(), ids.Dims(), gorgonia.WithShape(ids.Shape()...), gorgonia.WithValue(ids), gorgonia.WithName("ids"))
	out, err := ops.Lookup(table, idn)
	if err != nil {
		t.Fatal(err)
	}
	wshape := append(ids.Shape().Clone(), 2)
	wv := make([]float32, wshape.TotalSize())
	for i := range wv {
		wv[i] = float32(i + 1)
	}
	w := gorgonia.NewTensor(g, tensor.Float32, len(wshape), gorgonia.WithShape(wshape...), gorgonia.WithValue(tensor.New(tensor.WithShape(wshape...), tensor.WithBacking(wv))), gorgonia.WithName("w"))
	prod, err := gorgonia.HadamardProd(out, w)
	if err != nil {
		t.Fatal(err)
	}
	if cost, err = gorgonia.Sum(prod); err != nil {
		t.Fatal(err)
	}
	return g, table, out, cost
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		name string
		ids  *tensor.Dense
	}{
		{"int64", tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]int64{1, 0, 3, 1, 1, 2}))},
		{"int32", tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]int32{1, 0, 3, 1, 1, 2}))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, table, out, cost := lookupGraph(t, tc.ids)
			if _, err := gorgonia.Grad(cost, table); err != nil {
				t.Fatal(err)
			}
			vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(table))
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			if got := []int(out.Shape()); !slices.Equal(got, []int{2, 3, 2}) {
				t.Fatalf("output shape %v, want [2 3 2]", got)
			}
			// Rows 1, 0, 3, 1, 1, 2 of the table.
			want := []float32{11, 12, 1, 2, 31, 32, 11, 12, 11, 12, 21, 22}
			if got := out.Value().Data().([]float32); !slices.Equal(got, want) {
				t.Errorf("lookup = %v, want %v", got, want)
			}
			// Σ out⊙w by hand: 35 + 11 + 347 + 173 + 219 + 495.
			if got := cost.Value().Data().(float32); got != 1280 {
				t.Errorf("cost = %v, want 1280", got)
			}
			grad, err := table.Grad()
			if err != nil {
				t.Fatal(err)
			}
			// Row r gets the w rows of the positions whose id is r: row 1
			// those of positions 0, 3, 4 = [1+7+9, 2+8+10].
			wantGrad := []float32{3, 4, 17, 20, 11, 12, 5, 6}
			if got := grad.Data().([]float32); !slices.Equal(got, wantGrad) {
				t.Errorf("d table = %v, want %v", got, wantGrad)
			}
		})
	}
}

func TestLookupOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		ids  *tensor.Dense
		want string
	}{
		{tensor.New(tensor.WithShape(3), tensor.WithBacking([]int64{0, 4, 1})), "id 4 at position 1 is outside [0, 4)"},
		{tensor.New(tensor.WithShape(2), tensor.WithBacking([]int32{-1, 0})), "id -1 at position 0 is outside [0, 4)"},
	} {
		g, _, _, _ := lookupGraph(t, tc.ids)
		vm := gorgonia.NewTapeMachine(g)
		err := vm.RunAll()
		vm.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ids %v: error %v, want one containing %q", tc.ids.Data(), err, tc.want)
		}
	}
}

func TestLookupRefusesTypes(t *testing.T) {
	g := gorgonia.NewGraph()
	table := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(4, 2), gorgonia.WithName("table"))
	floatIDs := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(3), gorgonia.WithName("f"))
	intIDs := gorgonia.NewVector(g, tensor.Int64, gorgonia.WithShape(3), gorgonia.WithName("i"))
	vec := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(4), gorgonia.WithName("v"))
	for _, tc := range []struct {
		table, ids *gorgonia.Node
		want       string
	}{
		{table, floatIDs, "ids must be int64 or int32"},
		{vec, intIDs, "table must be a (rows, columns) float32 matrix"},
		{nil, intIDs, "nil node"},
	} {
		if _, err := ops.Lookup(tc.table, tc.ids); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
