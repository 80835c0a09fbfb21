// Command ch05_gradient_check is the book's ch05/gradient_check.py: the
// gradients backpropagation gives for the two-layer net 784-50-10 (Affine,
// ReLU, Affine, SoftmaxWithLoss) on the first 3 training images, against
// numerical gradients (central differences, h = 1e-4), as the mean
// absolute difference per parameter.
//
//	go run ./examples/book/ch05_gradient_check
//
// Three backpropagations are compared with one numerical gradient, computed
// in float64 by running the loss of a Gorgonia graph forward twice per
// parameter:
//
//   - the book's script, run by numpy on the same weights
//     (testdata/book_gradient_check.py; its output is testdata/numpy.txt);
//   - gorgonia.Grad of the same float64 graph;
//   - tapenet: the net as a graph.Model (float32 fused layers) and the
//     gradient its Trainer computes (fused softmax cross-entropy), read off
//     one SGD step (see tapenetGrads).
//
// The book draws its weights with np.random.randn; here they come from an
// integer formula (weight) that numpy and Go evaluate identically, so that
// all three columns see the same network.
package main

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"math"
	"strings"

	_ "github.com/tapenet/tapenet/blas"
	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/examples/book/internal/bookex"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

const usage = `
ch05_gradient_check: backpropagation against numerical gradients for the
book's two-layer net (section 5.7.3), in float64 with Gorgonia and in
float32 with tapenet's layers.

Usage:
  go run ./examples/book/ch05_gradient_check [--hidden 50] [--images 3]
`

// numpyOut is what the book's script printed, run by numpy on the weights
// of weight() with the book's sizes (hidden 50, 3 images).
//
//go:embed testdata/numpy.txt
var numpyOut string

// h is the book's step for numerical differentiation.
const h = 1e-4

// names are the book's parameter names, in its order.
var names = [4]string{"W1", "b1", "W2", "b2"}

func main() { cli.Main("ch05_gradient_check", run) }

// result holds the mean absolute differences per parameter.
type result struct {
	numpy, gorgonia, tapenet [4]float64
	haveNumpy                bool
}

func run(args []string, stdout, _ io.Writer) error {
	fs := cli.NewFlags("ch05_gradient_check", usage, stdout)
	hidden := fs.Int("hidden", 50, "hidden units (the book: 50)")
	images := fs.Int("images", 3, "training images in the batch (the book: 3)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *hidden < 1 || *images < 1 || *images > 1000 {
		return cli.Usagef("--hidden must be at least 1 and --images in 1..1000, got %d and %d", *hidden, *images)
	}
	res, err := check(*hidden, *images)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ch05 gradient_check: TwoLayerNet 784-%d-10 (Affine, ReLU, Affine, SoftmaxWithLoss), the first %d training images\n", *hidden, *images)
	fmt.Fprintf(stdout, "mean |backprop - numerical| per parameter; numerical: float64 central difference, h = %g\n", h)
	var rows []bookex.Row
	for i, n := range names {
		np := "-"
		if res.haveNumpy {
			np = fmt.Sprintf("%.2e", res.numpy[i])
		}
		rows = append(rows, bookex.Row{Name: n, Book: np, Tapenet: fmt.Sprintf("%.2e   %.2e", res.gorgonia[i], res.tapenet[i])})
	}
	if err := bookex.WriteTable(stdout, bookex.Row{Book: "book's script (numpy, float64)", Tapenet: "Gorgonia.Grad (float64)   tapenet Trainer (float32)"}, rows); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "(the book's backward and tapenet's fused loss use (y - t)/N at the softmax, the gradient of the loss without")
	fmt.Fprintln(stdout, " its 1e-7 inside the log: most of their b2 difference. Gorgonia differentiates the loss as written.)")
	return nil
}

// weight returns the value of entry k (row-major) of a weight matrix: an
// integer formula scaled to ±0.01, rounded to float32. numpy evaluates the
// same expression (testdata/book_gradient_check.py).
func weight(k, mult int64) float64 {
	return float64(float32(float64((k*mult)%2001-1000) / 100000.0))
}

// check computes the three comparisons.
func check(hidden, images int) (*result, error) {
	set, err := datasets.MNIST(datasets.Train, datasets.Options{Normalize: true, Flatten: true, OneHot: true})
	if err != nil {
		return nil, err
	}
	set = set.Head(images)
	x64, err := toFloat64(set.X)
	if err != nil {
		return nil, err
	}
	t64, err := toFloat64(set.OneHot)
	if err != nil {
		return nil, err
	}
	shapes := [4][]int{{784, hidden}, {hidden}, {hidden, 10}, {10}}
	params := make([]*tensor.Dense, 4)
	for i, s := range shapes {
		n := s[0]
		if len(s) == 2 {
			n *= s[1]
		}
		v := make([]float64, n)
		if len(s) == 2 {
			mult := int64(7919)
			if i == 2 {
				mult = 104729
			}
			for k := range v {
				v[k] = weight(int64(k), mult)
			}
		}
		params[i] = tensor.New(tensor.WithShape(s...), tensor.WithBacking(v))
	}
	withGrad, err := build(x64, t64, params, true)
	if err != nil {
		return nil, err
	}
	defer withGrad.vm.Close()
	forward, err := build(x64, t64, params, false)
	if err != nil {
		return nil, err
	}
	defer forward.vm.Close()
	if err := withGrad.vm.RunAll(); err != nil {
		return nil, fmt.Errorf("backprop: %w", err)
	}
	tg, err := tapenetGrads(params, set)
	if err != nil {
		return nil, err
	}
	res := &result{}
	for i, p := range params {
		num, err := forward.numerical(p.Data().([]float64))
		if err != nil {
			return nil, fmt.Errorf("numerical gradient of %s: %w", names[i], err)
		}
		g := withGrad.grads[i].Value().Data().([]float64)
		for k, v := range num {
			res.gorgonia[i] += math.Abs(g[k] - v)
			res.tapenet[i] += math.Abs(tg[i][k] - v)
		}
		res.gorgonia[i] /= float64(len(num))
		res.tapenet[i] /= float64(len(num))
	}
	if hidden == 50 && images == 3 {
		res.numpy, err = parseNumpy(numpyOut)
		if err != nil {
			return nil, err
		}
		res.haveNumpy = true
	}
	return res, nil
}

// parseNumpy reads the script's "W1:2.3e-10" lines.
func parseNumpy(s string) ([4]float64, error) {
	var out [4]float64
	sc := bufio.NewScanner(strings.NewReader(s))
	for i := 0; sc.Scan(); i++ {
		if i >= 4 {
			return out, fmt.Errorf("testdata/numpy.txt: more than 4 lines")
		}
		var v float64
		if _, err := fmt.Sscanf(sc.Text(), names[i]+":%g", &v); err != nil {
			return out, fmt.Errorf("testdata/numpy.txt line %d: %w", i+1, err)
		}
		out[i] = v
	}
	return out, nil
}

// toFloat64 returns a float64 copy of a float32 tensor.
func toFloat64(x *tensor.Dense) (*tensor.Dense, error) {
	data, _, err := graph.Rows(x)
	if err != nil {
		return nil, err
	}
	v := make([]float64, len(data))
	for i, f := range data {
		v[i] = float64(f)
	}
	return tensor.New(tensor.WithShape(x.Shape().Clone()...), tensor.WithBacking(v)), nil
}

// net is the book's TwoLayerNet as a float64 Gorgonia graph.
type net struct {
	vm    gorgonia.VM
	loss  *gorgonia.Node
	grads gorgonia.Nodes
}

// build adds the net over x and one-hot t with the parameters W1, b1, W2,
// b2 (bound, not copied: changing their values changes the next run) and
// the loss -Σ t·log(softmax(z) + 1e-7) / N, the book's
// SoftmaxWithLoss; withGrad adds the gradients of the loss.
func build(x, t *tensor.Dense, params []*tensor.Dense, withGrad bool) (*net, error) {
	g := gorgonia.NewGraph()
	xn := gorgonia.NodeFromAny(g, x, gorgonia.WithName("x"))
	tn := gorgonia.NodeFromAny(g, t, gorgonia.WithName("t"))
	var ps gorgonia.Nodes
	for i, p := range params {
		ps = append(ps, gorgonia.NodeFromAny(g, p, gorgonia.WithName(names[i])))
	}
	n := &net{}
	err := func() (err error) {
		must := func(v *gorgonia.Node, e error) *gorgonia.Node {
			if err == nil && e != nil {
				err = e
			}
			return v
		}
		a1 := must(gorgonia.BroadcastAdd(must(gorgonia.Mul(xn, ps[0])), ps[1], nil, []byte{0}))
		h1 := must(gorgonia.Rectify(a1))
		z := must(gorgonia.BroadcastAdd(must(gorgonia.Mul(h1, ps[2])), ps[3], nil, []byte{0}))
		if err != nil {
			return err
		}
		// softmax with each row's maximum subtracted, as the book's softmax
		zs := must(gorgonia.BroadcastSub(z, must(gorgonia.Max(z, 1)), nil, []byte{1}))
		e := must(gorgonia.Exp(zs))
		y := must(gorgonia.BroadcastHadamardDiv(e, must(gorgonia.Sum(e, 1)), nil, []byte{1}))
		logy := must(gorgonia.Log(must(gorgonia.Add(y, gorgonia.NewConstant(1e-7)))))
		sum := must(gorgonia.Sum(must(gorgonia.HadamardProd(tn, logy))))
		if err != nil {
			return err
		}
		n.loss = must(gorgonia.Div(must(gorgonia.Neg(sum)), gorgonia.NewConstant(float64(x.Shape()[0]))))
		if err == nil && withGrad {
			n.grads, err = gorgonia.Grad(n.loss, ps...)
		}
		return err
	}()
	if err != nil {
		return nil, fmt.Errorf("two-layer net graph: %w", err)
	}
	n.vm = gorgonia.NewTapeMachine(g)
	return n, nil
}

// lossValue runs the forward graph once.
func (n *net) lossValue() (float64, error) {
	defer n.vm.Reset()
	if err := n.vm.RunAll(); err != nil {
		return 0, err
	}
	return n.loss.Value().Data().(float64), nil
}

// numerical is the book's numerical_gradient: for each value of w (a
// parameter bound in n's graph), (f(w+h) - f(w-h)) / 2h.
func (n *net) numerical(w []float64) ([]float64, error) {
	grad := make([]float64, len(w))
	for i, keep := range w {
		w[i] = keep + h
		f1, err := n.lossValue()
		if err != nil {
			return nil, err
		}
		w[i] = keep - h
		f2, err := n.lossValue()
		if err != nil {
			return nil, err
		}
		w[i] = keep
		grad[i] = (f1 - f2) / (2 * h)
	}
	return grad, nil
}

// sgdRate is the learning rate of the step tapenetGrads reads a gradient
// from: a power of two, so that lr·g is exact, large enough that the new
// weight w - lr·g is dominated by lr·g and its float32 rounding error,
// divided by lr, is that of g itself.
const sgdRate = 1 << 20

// tapenetGrads returns, in float64, the gradient tapenet's Trainer computes
// for the same net and batch: the net as a graph.Model (Dense, ReLU, Dense,
// softmax; float32), its loss the Trainer's fused softmax cross-entropy.
// The Trainer does not expose gradients; one SGD step of rate sgdRate
// moves every parameter by -sgdRate·g, so g = (before - after)/sgdRate.
func tapenetGrads(params []*tensor.Dense, set *datasets.Set) ([4][]float64, error) {
	var out [4][]float64
	hidden := params[1].Shape()[0]
	m, err := graph.NewSequential([]int{784}, &graph.Dense{Units: hidden}, graph.ReLU{}, &graph.Dense{Units: 10}, graph.Softmax{})
	if err != nil {
		return out, err
	}
	pn := []string{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
	before := make([][]float32, 4)
	for i, p := range params {
		v := p.Data().([]float64)
		before[i] = make([]float32, len(v))
		for k, f := range v {
			before[i][k] = float32(f)
		}
		if err := m.SetParam(pn[i], p.Shape(), before[i]); err != nil {
			return out, err
		}
	}
	tr, err := train.NewTrainer(m, train.Config{Optimizer: &train.SGD{}, LearningRate: sgdRate})
	if err != nil {
		return out, err
	}
	if _, err := tr.Step(set.X, set.OneHot); err != nil {
		return out, fmt.Errorf("tapenet step: %w", err)
	}
	for i, name := range pn {
		after := m.Param(name).Data().([]float32)
		out[i] = make([]float64, len(after))
		for k, a := range after {
			out[i][k] = (float64(before[i][k]) - float64(a)) / sgdRate
		}
	}
	return out, nil
}
