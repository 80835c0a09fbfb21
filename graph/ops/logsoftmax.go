package ops

import "gorgonia.org/gorgonia"

// LogSoftmax adds the row-wise log-softmax of a (batch, classes) x:
// x - max - log(sum(exp(x - max))), each row shifted by its own maximum
// (see ShiftedExp), from Gorgonia's differentiable ops.
func LogSoftmax(x *gorgonia.Node) (*gorgonia.Node, error) {
	e, shifted, err := ShiftedExp(x)
	if err != nil {
		return nil, err
	}
	sum, err := gorgonia.Sum(e, 1)
	if err != nil {
		return nil, err
	}
	lse, err := gorgonia.Log(sum)
	if err != nil {
		return nil, err
	}
	return gorgonia.BroadcastSub(shifted, lse, nil, []byte{1})
}
