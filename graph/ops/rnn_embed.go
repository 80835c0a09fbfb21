package ops

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// embedOp gathers rows of a (vocabulary, D) table by integer ids: ids of
// any shape give an output of that shape followed by D. The ids may be
// int64, int32 or whole float32/float64 values (a float32 model input
// holding ids). Its gradient scatter-adds the output gradient into the
// table's rows (embedGradOp); the row of the padding id, if any, gets none.
type embedOp struct {
	base
	pad int // padding id, or -1
	inLayer
	idsDims int
	idsType tensor.Dtype
	out     outputCache
	ids     []int // the ids of the last run
}

// Embed adds table[ids] for a 2-D (vocabulary, D) float32 table. pad is the
// padding id whose row receives no gradient (negative for none). An id
// outside [0, vocabulary) is an error when the graph runs.
func Embed(table, ids *gorgonia.Node, pad int) (*gorgonia.Node, error) {
	if table.Dims() != 2 || table.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("embedding: table must be a float32 matrix, got %v %v", table.Dtype(), table.Shape())
	}
	if pad < 0 {
		pad = -1
	}
	op := &embedOp{pad: pad, idsDims: ids.Dims(), idsType: ids.Dtype()}
	op.base = base{label: "embed", id: fmt.Sprintf("tapenet.embed.%p", op)}
	return gorgonia.ApplyOp(op, table, ids)
}

func (*embedOp) Arity() int { return 2 }

func (op *embedOp) Type() hm.Type {
	return hm.NewFnType(gorgonia.TensorType{Dims: 2, Of: tensor.Float32}, gorgonia.TensorType{Dims: op.idsDims, Of: op.idsType}, gorgonia.TensorType{Dims: op.idsDims + 1, Of: tensor.Float32})
}

func (op *embedOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	shapes, err := shapesOf(in)
	if err != nil || len(shapes) != 2 || len(shapes[0]) != 2 {
		return nil, fmt.Errorf("embedding: input shapes %v", in)
	}
	return append(shapes[1].Clone(), shapes[0][1]), nil
}

// idsOf reads integer ids from a tensor of any integer or float type.
func idsOf(v gorgonia.Value, dst []int) ([]int, error) {
	t, ok := v.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("ids are %T, want a tensor", v)
	}
	if t.RequiresIterator() {
		t = t.Materialize().(*tensor.Dense)
	}
	n := t.Shape().TotalSize()
	dst = dst[:0]
	switch d := t.Data().(type) {
	case []int64:
		for _, x := range d[:n] {
			dst = append(dst, int(x))
		}
	case []int32:
		for _, x := range d[:n] {
			dst = append(dst, int(x))
		}
	case []int:
		dst = append(dst, d[:n]...)
	case []float32:
		for _, x := range d[:n] {
			if x != float32(math.Trunc(float64(x))) || math.Abs(float64(x)) > 1<<30 {
				return nil, fmt.Errorf("%w: id %v is not a whole number", ErrInputValue, x)
			}
			dst = append(dst, int(x))
		}
	case []float64:
		for _, x := range d[:n] {
			if x != math.Trunc(x) || math.Abs(x) > 1<<30 {
				return nil, fmt.Errorf("%w: id %v is not a whole number", ErrInputValue, x)
			}
			dst = append(dst, int(x))
		}
	default:
		return nil, fmt.Errorf("ids of type %v", t.Dtype())
	}
	return dst, nil
}

func (op *embedOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	v, err := op.do(in)
	return v, op.wrap(err)
}

func (op *embedOp) do(in []gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("embedding: %d inputs, want 2", len(in))
	}
	table, ts, err := rowMajor32(in[0])
	if err != nil {
		return nil, fmt.Errorf("embedding: table: %w", err)
	}
	vocab, d := table.Shape()[0], table.Shape()[1]
	if op.ids, err = idsOf(in[1], op.ids); err != nil {
		return nil, fmt.Errorf("embedding: %w", err)
	}
	for _, id := range op.ids {
		if id < 0 || id >= vocab {
			return nil, fmt.Errorf("embedding: %w: id %d outside the vocabulary of %d", ErrInputValue, id, vocab)
		}
	}
	shape := append(in[1].Shape().Clone(), d)
	out := op.out.get(shape)
	ys := out.Float32s()
	for i, id := range op.ids {
		copy(ys[i*d:(i+1)*d], ts[id*d:(id+1)*d])
	}
	return out, nil
}

func (*embedOp) DiffWRT(int) []bool { return []bool{true, false} }

// SymDiff returns the table's gradient (scatter-add) and none for the ids.
func (op *embedOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	gop := &embedGradOp{fwd: op, shape: in[0].Shape().Clone(), gradDims: grad.Dims()}
	gop.base = base{label: "embed grad", id: op.id + ".grad"}
	dt, err := gorgonia.ApplyOp(gop, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dt, nil}, nil
}

// embedGradOp adds each output row's gradient into the row of its id.
type embedGradOp struct {
	base
	fwd      *embedOp
	shape    tensor.Shape
	gradDims int
	out      outputCache
}

func (*embedGradOp) Arity() int { return 1 }

func (op *embedGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(gorgonia.TensorType{Dims: op.gradDims, Of: a}, gorgonia.TensorType{Dims: 2, Of: a})
}

func (op *embedGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}

func (op *embedGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	g, err := float32Input(in)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", op, err)
	}
	gs := g.Float32s()
	d := op.shape[1]
	ids := op.fwd.ids
	if len(gs) != len(ids)*d {
		return nil, fmt.Errorf("%v: %d gradients for %d ids", op, len(gs), len(ids))
	}
	out := op.out.get(op.shape)
	dt := out.Float32s()
	clear(dt)
	for i, id := range ids {
		if id == op.fwd.pad {
			continue
		}
		row := dt[id*d : (id+1)*d]
		for k, v := range gs[i*d : (i+1)*d] {
			row[k] += v
		}
	}
	return out, nil
}

func (*embedGradOp) DiffWRT(int) []bool { return []bool{false} }

func (op *embedGradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, fmt.Errorf("%v: no second derivative", op)
}
