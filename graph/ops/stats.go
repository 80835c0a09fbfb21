package ops

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BatchStats adds an op that passes a (rows, features) x through unchanged
// and, at every run, folds the column means and unbiased variances of x
// into mean and variance (tensors of features values, updated in place):
// running = (1 - momentum)·running + momentum·batch, as PyTorch's batch
// normalisation does. Its gradient is the identity. name labels the op.
func BatchStats(x *gorgonia.Node, mean, variance *tensor.Dense, momentum float64, name string) (*gorgonia.Node, error) {
	op := &batchStatsOp{mean: mean, variance: variance, momentum: momentum}
	op.base = base{label: "BatchStats(" + name + ")", id: fmt.Sprintf("batchstats(%s)@%p", name, op)}
	return gorgonia.ApplyOp(op, x)
}

type batchStatsOp struct {
	base
	mean, variance *tensor.Dense
	momentum       float64
}

func (op *batchStatsOp) Arity() int { return 1 }
func (op *batchStatsOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (op *batchStatsOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return unaryShape("batch statistics", in)
}

func (op *batchStatsOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := float32Input(vals)
	if err != nil {
		return nil, fmt.Errorf("batch statistics: %w", err)
	}
	if in.Dims() != 2 {
		return nil, fmt.Errorf("batch statistics: input %v is not (rows, features)", in.Shape())
	}
	x := in.Data().([]float32)
	rows, cols := in.Shape()[0], in.Shape()[1]
	rm, rv := op.mean.Data().([]float32), op.variance.Data().([]float32)
	if len(rm) != cols || len(rv) != cols {
		return nil, fmt.Errorf("batch statistics: %d features, running statistics of %d", cols, len(rm))
	}
	sum := make([]float64, cols)
	sq := make([]float64, cols)
	for r := 0; r < rows; r++ {
		for c, v := range x[r*cols : (r+1)*cols] {
			sum[c] += float64(v)
		}
	}
	for c := range sum {
		sum[c] /= float64(rows)
	}
	for r := 0; r < rows; r++ {
		for c, v := range x[r*cols : (r+1)*cols] {
			d := float64(v) - sum[c]
			sq[c] += d * d
		}
	}
	m := op.momentum
	for c := range rm {
		v := sq[c] / float64(max(rows-1, 1))
		rm[c] = float32((1-m)*float64(rm[c]) + m*sum[c])
		rv[c] = float32((1-m)*float64(rv[c]) + m*v)
	}
	return in.Clone().(*tensor.Dense), nil
}

func (op *batchStatsOp) DiffWRT(int) []bool { return []bool{true} }
func (op *batchStatsOp) SymDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	return gorgonia.Nodes{grad}, nil
}
