package graph

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Program is a model compiled into a Gorgonia graph for one batch size.
type Program struct {
	// Graph is the expression graph.
	Graph *gorgonia.ExprGraph
	// Input is the (batch, sample shape...) input node, named "input".
	Input *gorgonia.Node
	// Outputs holds each layer's output node (named "<layer>.out"); the last
	// is the model's output.
	Outputs []*gorgonia.Node
	// Learnables holds the parameter nodes, in model order.
	Learnables []*gorgonia.Node
	// Batch is the batch size the graph was built for.
	Batch int
	// Training reports whether the graph was built in training mode.
	Training bool

	layerOf map[int64]string
}

// Output returns the model's output node.
func (p *Program) Output() *gorgonia.Node { return p.Outputs[len(p.Outputs)-1] }

// LayerOf returns the name of the layer that added node n ("" for the input
// and nodes added after the model, such as a loss).
func (p *Program) LayerOf(n *gorgonia.Node) string { return p.layerOf[n.ID()] }

// Build adds the model to a new graph for inputs of batch samples. In
// training mode, layers may behave differently (Scope.Training). Layers
// run from the first up to but excluding upTo (all when upTo <= 0 or beyond
// the last).
func (m *Sequential) Build(batch int, training bool, upTo int) (*Program, error) {
	if batch < 1 {
		return nil, fmt.Errorf("build: batch size %d is not positive", batch)
	}
	if upTo <= 0 || upTo > len(m.layers) {
		upTo = len(m.layers)
	}
	g := gorgonia.NewGraph()
	shape := append([]int{batch}, m.input...)
	x := gorgonia.NewTensor(g, tensor.Float32, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName("input"))
	p := &Program{Graph: g, Input: x, Batch: batch, Training: training, layerOf: map[int64]string{}}
	seen := map[int64]bool{x.ID(): true}
	for i, l := range m.layers[:upTo] {
		s := &Scope{g: g, name: m.names[i], training: training, params: m.params, buffers: m.buffers, bound: &p.Learnables}
		y, err := l.Forward(s, x)
		if err != nil {
			return nil, fmt.Errorf("layer %s (%s): %w", m.names[i], l.Kind(), err)
		}
		if y == nil || y.Shape()[0] != batch {
			return nil, fmt.Errorf("layer %s (%s): output has no batch dimension of %d", m.names[i], l.Kind(), batch)
		}
		for _, n := range g.AllNodes() {
			if !seen[n.ID()] {
				seen[n.ID()] = true
				p.layerOf[n.ID()] = m.names[i]
				gorgonia.WithGroupName(m.names[i])(n)
			}
		}
		if y != x && !y.IsVar() {
			gorgonia.WithName(m.names[i] + ".out")(y)
		}
		p.Outputs = append(p.Outputs, y)
		x = y
	}
	return p, nil
}

// Predictor runs a model forward over batches of any size with Gorgonia's
// tape machine, compiling and caching one graph per batch size. Classify
// spreads batches over several workers, each with graphs of its own. A
// Predictor is not safe for concurrent use; use one per goroutine.
type Predictor struct {
	m       *Sequential
	progs   map[progKey]*predictProg
	workers []*Predictor // Classify's helpers beyond pr itself
	// Workers is the number of goroutines Classify uses (default: the number
	// of CPUs Go may use, GOMAXPROCS).
	Workers int
}

// progKey identifies a compiled graph: batch size, and whether it stops
// before a final softmax (Classify's graphs: softmax keeps each row's
// argmax, so the class needs only the logits).
type progKey struct {
	batch  int
	logits bool
}

type predictProg struct {
	p  *Program
	vm gorgonia.VM
}

// NewPredictor returns a Predictor for m. It reads m's parameters at every
// run, so it sees training updates.
func NewPredictor(m *Sequential) *Predictor {
	return &Predictor{m: m, progs: map[progKey]*predictProg{}, Workers: runtime.GOMAXPROCS(0)}
}

func (pr *Predictor) prog(key progKey) (*predictProg, error) {
	if pp, ok := pr.progs[key]; ok {
		return pp, nil
	}
	upTo := 0
	if key.logits {
		upTo = len(pr.m.layers) - 1
	}
	p, err := pr.m.Build(key.batch, false, upTo)
	if err != nil {
		return nil, err
	}
	pp := &predictProg{p: p, vm: gorgonia.NewTapeMachine(p.Graph)}
	pr.progs[key] = pp
	return pp, nil
}

// Forward runs x, of shape (batch, sample shape...), through the model and
// returns a copy of its output.
func (pr *Predictor) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	out, err := pr.run(x, false)
	if err != nil {
		return nil, err
	}
	return out.Clone().(*tensor.Dense), nil
}

// run computes the output for x; the result is owned by the machine and
// valid until the next run.
func (pr *Predictor) run(x *tensor.Dense, logits bool) (*tensor.Dense, error) {
	shape := x.Shape()
	if len(shape) != len(pr.m.input)+1 || !equalInts(shape[1:], pr.m.input) {
		return nil, fmt.Errorf("input shape %v, model wants (batch, %v)", []int(shape), pr.m.input)
	}
	pp, err := pr.prog(progKey{shape[0], logits})
	if err != nil {
		return nil, err
	}
	pp.vm.Reset()
	if err := gorgonia.Let(pp.p.Input, x); err != nil {
		return nil, fmt.Errorf("bind input: %w", err)
	}
	if err := pp.vm.RunAll(); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	out, ok := pp.p.Output().Value().(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("run: output is %T, not a tensor", pp.p.Output().Value())
	}
	return out, nil
}

// Classify returns the class (argmax of the output row) of every sample of
// x, of shape (N, sample shape...), running batches of at most batch
// samples; the last batch holds the remainder, so each sample is counted
// once. Batches are spread over Workers goroutines; the result does not
// depend on their number. A final softmax is not computed: it keeps each
// row's argmax.
func (pr *Predictor) Classify(x *tensor.Dense, batch int) ([]int, error) {
	if batch < 1 {
		return nil, fmt.Errorf("classify: batch size %d is not positive", batch)
	}
	data, ok := x.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("classify: input is %v, want float32", x.Dtype())
	}
	n := x.Shape()[0]
	per := len(data) / max(n, 1)
	batches := (n + batch - 1) / batch
	workers := max(1, min(pr.Workers, batches))
	for len(pr.workers) < workers-1 {
		pr.workers = append(pr.workers, NewPredictor(pr.m))
	}
	_, logits := pr.m.layers[len(pr.m.layers)-1].(Softmax)
	logits = logits && len(pr.m.layers) > 1
	// Compile every graph before the workers start: NewTapeMachine writes to
	// the shared parameter tensors (it sets their engine), so compiling
	// concurrently would race.
	for w := range workers {
		run := pr
		if w > 0 {
			run = pr.workers[w-1]
		}
		for _, size := range []int{min(batch, n), n % batch} {
			if size > 0 {
				if _, err := run.prog(progKey{size, logits}); err != nil {
					return nil, err
				}
			}
		}
	}
	preds := make([]int, n)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		run := pr
		if w > 0 {
			run = pr.workers[w-1]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Worker w takes batches w, w+workers, ...: a fixed split.
			for bi := w; bi < batches; bi += workers {
				from, to := bi*batch, min((bi+1)*batch, n)
				shape := append([]int{to - from}, x.Shape()[1:]...)
				view := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data[from*per:to*per]))
				out, err := run.run(view, logits)
				if err != nil {
					errs[w] = fmt.Errorf("samples %d-%d: %w", from, to-1, err)
					return
				}
				argmax(preds[from:to], out)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return preds, nil
}

// argmax writes the index of the largest value of each row of out
// (batch, classes) to dst; the first wins ties.
func argmax(dst []int, out *tensor.Dense) {
	vals := out.Data().([]float32)
	cols := len(vals) / max(len(dst), 1)
	for r := range dst {
		row := vals[r*cols : (r+1)*cols]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		dst[r] = best
	}
}

func equalInts(a tensor.Shape, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
