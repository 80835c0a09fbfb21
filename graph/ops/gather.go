package ops

import (
	"errors"
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Lookup adds table[ids]: for a table of shape (V, D) float32 and ids of
// any shape S (int64 or int32), the rows of the table the ids name, of
// shape (S..., D), as an embedding does. The gradient flows to the table
// (each row gets the sum of the output gradients of the positions whose id
// names it: a scatter-add), none to the ids. An id outside [0, V) is an
// error of the run naming the id, its position and V.
func Lookup(table, ids *gorgonia.Node) (*gorgonia.Node, error) {
	if table == nil || ids == nil {
		return nil, fmt.Errorf("lookup: nil node")
	}
	if table.Dtype() != tensor.Float32 || table.Dims() != 2 {
		return nil, fmt.Errorf("lookup: table must be a (rows, columns) float32 matrix, got %v of shape %v", table.Dtype(), table.Shape())
	}
	if ids.Dtype() != tensor.Int64 && ids.Dtype() != tensor.Int32 {
		return nil, fmt.Errorf("lookup: ids must be int64 or int32, got %v", ids.Dtype())
	}
	if ids.Dims() < 1 {
		return nil, fmt.Errorf("lookup: ids must have at least one dimension, got shape %v", ids.Shape())
	}
	op := &lookupOp{rank: ids.Dims(), idType: ids.Dtype()}
	op.base = base{label: "lookup", id: fmt.Sprintf("tapenet.lookup(%d,%v)", op.rank, op.idType)}
	return gorgonia.ApplyOp(op, table, ids)
}

type lookupOp struct {
	base
	rank   int          // dimensions of the ids
	idType tensor.Dtype // int64 or int32
}

func (*lookupOp) Arity() int { return 2 }

func (op *lookupOp) Type() hm.Type {
	return hm.NewFnType(
		gorgonia.TensorType{Dims: 2, Of: tensor.Float32},
		gorgonia.TensorType{Dims: op.rank, Of: op.idType},
		gorgonia.TensorType{Dims: op.rank + 1, Of: tensor.Float32})
}

func (op *lookupOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("lookup: want 2 inputs, got %d", len(in))
	}
	t, ok1 := in[0].(tensor.Shape)
	ids, ok2 := in[1].(tensor.Shape)
	if !ok1 || !ok2 || len(t) != 2 {
		return nil, fmt.Errorf("lookup: want a (rows, columns) table and an ids shape, got %v and %v", in[0], in[1])
	}
	return append(ids.Clone(), t[1]), nil
}

// indices returns the ids of v (int64 or int32, any layout) as ints in
// row-major order, each checked to lie in [0, rows).
func indices(v gorgonia.Value, rows int) ([]int, tensor.Shape, error) {
	d, ok := v.(*tensor.Dense)
	if !ok {
		return nil, nil, fmt.Errorf("ids are %T, want a tensor", v)
	}
	if d.RequiresIterator() {
		d = d.Materialize().(*tensor.Dense)
	}
	var out []int
	switch ids := d.Data().(type) {
	case []int64:
		out = make([]int, len(ids))
		for i, id := range ids {
			if id < 0 || id >= int64(rows) {
				return nil, nil, fmt.Errorf("%w: id %d at position %d is outside [0, %d)", ErrInputValue, id, i, rows)
			}
			out[i] = int(id)
		}
	case []int32:
		out = make([]int, len(ids))
		for i, id := range ids {
			if id < 0 || int(id) >= rows {
				return nil, nil, fmt.Errorf("%w: id %d at position %d is outside [0, %d)", ErrInputValue, id, i, rows)
			}
			out[i] = int(id)
		}
	default:
		return nil, nil, fmt.Errorf("ids are %v, want int64 or int32", d.Dtype())
	}
	return out, d.Shape(), nil
}

// float32Value returns v as a row-major float32 tensor.
func float32Value(v gorgonia.Value, what string) (*tensor.Dense, error) {
	d, ok := v.(*tensor.Dense)
	if !ok || d.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("%s is %T, want a float32 tensor", what, v)
	}
	if d.RequiresIterator() {
		d = d.Materialize().(*tensor.Dense)
	}
	return d, nil
}

func (op *lookupOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != 2 {
		return nil, fmt.Errorf("lookup: %d inputs, want 2", len(vals))
	}
	table, err := float32Value(vals[0], "table")
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	if table.Dims() != 2 {
		return nil, fmt.Errorf("lookup: table of shape %v is not a matrix", table.Shape())
	}
	rows, cols := table.Shape()[0], table.Shape()[1]
	ids, shape, err := indices(vals[1], rows)
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	out := tensor.New(tensor.WithShape(append(shape.Clone(), cols)...), tensor.Of(tensor.Float32))
	dst, src := out.Data().([]float32), table.Data().([]float32)
	for i, id := range ids {
		copy(dst[i*cols:(i+1)*cols], src[id*cols:(id+1)*cols])
	}
	return out, nil
}

// DiffWRT reports a gradient for the table, none for the ids.
func (*lookupOp) DiffWRT(int) []bool { return []bool{true, false} }

// SymDiff returns the table's gradient: the output gradient scattered
// back into the rows the ids name, added up where an id repeats.
func (op *lookupOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("lookup: %d inputs, want 2", len(in))
	}
	g := &lookupGradOp{fwd: op, rows: in[0].Shape()[0], cols: in[0].Shape()[1]}
	g.base = base{label: "lookup'", id: fmt.Sprintf("tapenet.lookupgrad(%d,%v,%d,%d)", op.rank, op.idType, g.rows, g.cols)}
	dt, err := gorgonia.ApplyOp(g, in[1], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dt, nil}, nil
}

// lookupGradOp scatter-adds a gradient of shape (S..., D) into a (V, D)
// matrix along ids of shape S.
type lookupGradOp struct {
	base
	fwd        *lookupOp
	rows, cols int
}

func (*lookupGradOp) Arity() int { return 2 }

func (op *lookupGradOp) Type() hm.Type {
	return hm.NewFnType(
		gorgonia.TensorType{Dims: op.fwd.rank, Of: op.fwd.idType},
		gorgonia.TensorType{Dims: op.fwd.rank + 1, Of: tensor.Float32},
		gorgonia.TensorType{Dims: 2, Of: tensor.Float32})
}

func (op *lookupGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.rows, op.cols}, nil
}

func (op *lookupGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != 2 {
		return nil, fmt.Errorf("lookup': %d inputs, want 2", len(vals))
	}
	ids, _, err := indices(vals[0], op.rows)
	if err != nil {
		return nil, fmt.Errorf("lookup': %w", err)
	}
	g, err := float32Value(vals[1], "gradient")
	if err != nil {
		return nil, fmt.Errorf("lookup': %w", err)
	}
	src := g.Data().([]float32)
	if len(src) != len(ids)*op.cols {
		return nil, fmt.Errorf("lookup': gradient of shape %v for %d ids of %d columns", g.Shape(), len(ids), op.cols)
	}
	out := tensor.New(tensor.WithShape(op.rows, op.cols), tensor.Of(tensor.Float32))
	dst := out.Data().([]float32)
	for i, id := range ids {
		row, grow := dst[id*op.cols:(id+1)*op.cols], src[i*op.cols:(i+1)*op.cols]
		for j, v := range grow {
			row[j] += v
		}
	}
	return out, nil
}

// ErrInputValue is wrapped by the run-time errors of ops that refuse a
// value of their input (an id outside a table, a non-whole id): the input
// is wrong, not the model, so a server answers it as a client error.
var ErrInputValue = errors.New("input value out of range")
