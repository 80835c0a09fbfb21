package graph

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/internal/tape"
)

// Program is a model compiled into a Gorgonia graph for one batch size.
type Program struct {
	// Graph is the expression graph.
	Graph *gorgonia.ExprGraph
	// Inputs holds one (batch, sample shape...) node per model input, named
	// after it, of the input's element type; (Batch, Shape...) for an input
	// of a fixed batch.
	Inputs []*gorgonia.Node
	// Outputs holds one node per model output. In a graph built with
	// BuildOptions.Logits, an output computed by a final Normalizer (Softmax,
	// LogSoftmax, Sigmoid) is that layer's input instead (see Cut).
	Outputs []*gorgonia.Node
	// Cut reports, per output, whether its final activation was left out.
	Cut []bool
	// Nodes holds the output node of each model node (Model.Nodes order);
	// nil for a node left out.
	Nodes []*gorgonia.Node
	// Learnables holds the trainable parameter nodes, in model order.
	Learnables []*gorgonia.Node
	// Batch is the batch size the graph was built for: the size of every
	// symbolic batch axis (for a model with none, its FixedBatch).
	Batch int
	// Training reports whether the graph was built in training mode.
	Training bool

	layerOf map[int64]string
}

// Input returns the node of the model's first input.
func (p *Program) Input() *gorgonia.Node { return p.Inputs[0] }

// Output returns the node of the model's first output.
func (p *Program) Output() *gorgonia.Node { return p.Outputs[0] }

// LayerOf returns the name of the model node that added n, or for a
// parameter or buffer node the name of its layer ("" for inputs and nodes
// added after the model, such as a loss).
func (p *Program) LayerOf(n *gorgonia.Node) string { return p.layerOf[n.ID()] }

// BuildOptions says how to build a Program.
type BuildOptions struct {
	// Training builds the graph for training: layers may behave
	// differently (Scope.Training).
	Training bool
	// Logits leaves out a Normalizer (Softmax, LogSoftmax, Sigmoid, or a
	// layer of its own that says it is one) that computes an output (and
	// nothing else) from one input, so the output is its input, the
	// logits: what a fused loss and an argmax need.
	Logits bool
	// Rand, if not nil, is the generator that the layers of a training
	// graph draw their random numbers from (Dropout's masks), in the order
	// the graph runs: a trainer passes one seeded from its own seed, so
	// that every draw of a run comes from that seed whatever graphs it
	// compiles. Graphs sharing a generator must not run concurrently. When
	// nil, each such layer seeds a generator of its own for the graph (see
	// Dropout.Seed).
	Rand *rand.Rand
	// Fuse builds each chain Conv2D → ReLU → MaxPool2D whose first two
	// outputs feed only the next layer as one op (ops.ConvReLUPool): the
	// same values without two passes over batch-sized intermediates. Only
	// for inference (it is ignored with Training); Program.Nodes holds nil
	// for the convolution and the ReLU. Predictor builds this way.
	Fuse bool
}

// Build adds the model to a new graph for inputs of batch samples, for
// inference.
func (m *Model) Build(batch int) (*Program, error) { return m.BuildWith(batch, BuildOptions{}) }

// BuildWith adds the model to a new graph for inputs of batch samples.
// Building is linear in the number of nodes.
//
// batch is the size of every symbolic batch axis; inputs of a fixed batch
// (InputSpec.Batch) keep theirs. A model whose inputs all have a fixed
// batch has no symbolic axis: batch must then be its FixedBatch, so that a
// caller passing the batch it feeds is told when that is not what the
// model takes.
func (m *Model) BuildWith(batch int, opt BuildOptions) (*Program, error) {
	if batch < 1 {
		return nil, fmt.Errorf("build: batch size %d is not positive", batch)
	}
	if fb := m.FixedBatch(); fb > 0 && batch != fb {
		return nil, fmt.Errorf("build: every input of the model has a fixed batch (input %s: %d); batch must be %d, got %d", m.inputs[0].Name, fb, fb, batch)
	}
	g := gorgonia.NewGraph()
	p := &Program{Graph: g, Batch: batch, Training: opt.Training, layerOf: map[int64]string{}, Nodes: make([]*gorgonia.Node, len(m.nodes))}
	vals := map[string]*gorgonia.Node{}
	for _, in := range m.inputs {
		shape := in.full(batch)
		x := gorgonia.NewTensor(g, in.DType.Tensor(), len(shape), gorgonia.WithShape(shape...), gorgonia.WithName(in.Name))
		p.Inputs = append(p.Inputs, x)
		vals[in.Name] = x
	}
	// Outputs whose final activation is left out.
	skip := map[int]bool{}
	p.Cut = make([]bool, len(m.outputs))
	if opt.Logits {
		p.Cut = m.normalizedOutputs()
		for j, cut := range p.Cut {
			if cut {
				skip[m.index[m.outputs[j]]] = true
			}
		}
	}
	var blocks map[int][2]int // a fused chain's convolution -> its ReLU and pooling
	if opt.Fuse && !opt.Training {
		blocks = m.convBlocks()
	}
	cache := map[string]*gorgonia.Node{}
	for i, n := range m.nodes {
		if skip[i] {
			continue
		}
		l := m.layers[m.nodeLayer[i]]
		xs := make([]*gorgonia.Node, len(n.Inputs))
		for j, in := range n.Inputs {
			xs[j] = vals[in]
		}
		before := len(g.AllNodes())
		s := &Scope{g: g, name: l.name, training: opt.Training, rng: opt.Rand, m: m, cache: cache}
		var y *gorgonia.Node
		var err error
		if chain, ok := blocks[i]; ok {
			relu, last := chain[0], chain[1]
			pool := m.layers[m.nodeLayer[last]].layer.(*MaxPool2D)
			if y, err = l.layer.(*Conv2D).block(s, xs[0], pool); err == nil {
				// One op computes all three nodes: its output is the
				// pooling's; the convolution and the ReLU have none.
				skip[relu], skip[last] = true, true
				i, n = last, m.nodes[last]
			} else {
				y, err = nil, nil // not fusable after all: build the layers one by one
			}
		}
		if y == nil {
			y, err = forward(s, l.layer, xs)
		}
		if err != nil {
			return nil, &LayerError{Layer: n.Name, Kind: l.layer.Kind(), Err: err}
		}
		if err := n.check(y, batch); err != nil {
			return nil, &LayerError{Layer: n.Name, Kind: l.layer.Kind(), Err: err}
		}
		all := g.AllNodes()
		fresh := false
		for _, gn := range all[min(before, len(all)):] {
			if _, seen := p.layerOf[gn.ID()]; !seen && !gn.IsVar() {
				p.layerOf[gn.ID()] = n.Name
				gorgonia.WithGroupName(n.Name)(gn)
			}
			if gn == y {
				fresh = true
			}
		}
		if fresh && !y.IsVar() {
			gorgonia.WithName(n.Name + ".out")(y)
		}
		p.Nodes[i] = y
		vals[n.Name] = y
	}
	for j, name := range m.outputs {
		i := m.index[name]
		if p.Cut[j] {
			p.Outputs = append(p.Outputs, vals[m.nodes[i].Inputs[0]])
		} else {
			p.Outputs = append(p.Outputs, vals[name])
		}
	}
	for _, name := range m.order {
		n, ok := cache[name]
		if !ok {
			continue
		}
		p.layerOf[n.ID()] = name[:len(name)-len(paramSuffix(name))]
		if !m.buffers[name] {
			p.Learnables = append(p.Learnables, n)
		}
	}
	return p, nil
}

// normalizedOutputs reports, per output, whether BuildOptions.Logits cuts
// it: it is computed by a Normalizer from one input, feeds no other node
// and is not an earlier output too.
func (m *Model) normalizedOutputs() []bool {
	used := map[string]int{}
	for _, n := range m.nodes {
		for _, in := range n.Inputs {
			used[in]++
		}
	}
	cut := make([]bool, len(m.outputs))
	for j, name := range m.outputs {
		i := m.index[name]
		if _, ok := m.layers[m.nodeLayer[i]].layer.(Normalizer); !ok {
			continue
		}
		cut[j] = used[name] == 0 && len(m.nodes[i].Inputs) == 1 && !slices.Contains(m.outputs[:j], name)
	}
	return cut
}

// check returns an error unless y, the node's output in a graph of the
// given symbolic batch, has the shape the model declared: its first axis
// the batch (or, for a node of a fixed shape, exactly (Batch, Shape...)).
func (n Node) check(y *gorgonia.Node, batch int) error {
	if y == nil {
		return fmt.Errorf("layer returned no node")
	}
	if n.Batch > 0 {
		if want := append([]int{n.Batch}, n.Shape...); !equalInts(y.Shape(), want) {
			return fmt.Errorf("output has shape %v, declared %v", y.Shape(), want)
		}
		return nil
	}
	if y.Dims() < 1 || y.Shape()[0] != batch {
		return fmt.Errorf("output has no batch dimension of %d", batch)
	}
	return nil
}

// convBlocks finds the chains Conv2D → ReLU → MaxPool2D in which the
// convolution and the ReLU feed only the next layer and are not model
// outputs, and returns the index of each chain's convolution mapped to
// those of its ReLU and pooling.
func (m *Model) convBlocks() map[int][2]int {
	consumers := map[string][]int{}
	for i, n := range m.nodes {
		for _, in := range n.Inputs {
			consumers[in] = append(consumers[in], i)
		}
	}
	only := func(i int) (int, bool) {
		name := m.nodes[i].Name
		c := consumers[name]
		if len(c) != 1 || slices.Contains(m.outputs, name) || len(m.nodes[c[0]].Inputs) != 1 {
			return 0, false
		}
		return c[0], true
	}
	blocks := map[int][2]int{}
	for i := range m.nodes {
		if _, ok := m.layers[m.nodeLayer[i]].layer.(*Conv2D); !ok {
			continue
		}
		j, ok := only(i)
		if !ok {
			continue
		}
		if _, ok := m.layers[m.nodeLayer[j]].layer.(ReLU); !ok {
			continue
		}
		k, ok := only(j)
		if !ok {
			continue
		}
		if _, ok := m.layers[m.nodeLayer[k]].layer.(*MaxPool2D); ok {
			blocks[i] = [2]int{j, k}
		}
	}
	return blocks
}

// paramSuffix returns ".<param>" of a full parameter name "<layer>.<param>".
func paramSuffix(full string) string {
	for i := len(full) - 1; i >= 0; i-- {
		if full[i] == '.' {
			return full[i:]
		}
	}
	return ""
}

// Predictor runs a model forward over batches of any size with Gorgonia's
// tape machine, compiling and caching one graph per batch size. Classify
// spreads batches over several workers, each with graphs of its own.
//
// A Predictor is not safe for concurrent use; give each goroutine its own.
// Any number of Predictors of one model may compile and run at once.
type Predictor struct {
	m       *Model
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
	vm *tape.Machine
}

// NewPredictor returns a Predictor for m. It reads m's parameters at every
// run, so it sees training updates.
func NewPredictor(m *Model) *Predictor {
	return &Predictor{m: m, progs: map[progKey]*predictProg{}, Workers: runtime.GOMAXPROCS(0)}
}

func (pr *Predictor) prog(key progKey) (*predictProg, error) {
	if pp, ok := pr.progs[key]; ok {
		return pp, nil
	}
	p, err := pr.m.BuildWith(key.batch, BuildOptions{Logits: key.logits, Fuse: true})
	if err != nil {
		return nil, err
	}
	pp := &predictProg{p: p, vm: tape.New(p.Graph)}
	pr.progs[key] = pp
	return pp, nil
}

// Forward runs x, of shape (batch, sample shape...), through a model of one
// input and returns a copy of its first output, which the caller may keep.
func (pr *Predictor) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	outs, err := pr.Predict(x)
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// Predict runs one batch, one tensor per model input (each of shape (batch,
// sample shape...)), and returns a copy of every output, which the caller
// may keep.
func (pr *Predictor) Predict(xs ...*tensor.Dense) ([]*tensor.Dense, error) {
	outs, err := pr.run(xs, false)
	if err != nil {
		return nil, err
	}
	for i, o := range outs {
		outs[i] = o.Clone().(*tensor.Dense)
	}
	return outs, nil
}

// run computes the outputs for xs; they are owned by the machine and valid
// until the next run.
func (pr *Predictor) run(xs []*tensor.Dense, logits bool) ([]*tensor.Dense, error) {
	batch, err := pr.m.CheckInputs(xs)
	if err != nil {
		return nil, err
	}
	pp, err := pr.prog(progKey{batch, logits})
	if err != nil {
		return nil, err
	}
	pp.vm.Reset()
	for i, x := range xs {
		if x, err = Contiguous(x); err != nil {
			return nil, fmt.Errorf("input %s: %w", pr.m.inputs[i].Name, err)
		}
		if err := gorgonia.Let(pp.p.Inputs[i], x); err != nil {
			return nil, fmt.Errorf("bind input %s: %w", pr.m.inputs[i].Name, err)
		}
	}
	if err := pp.vm.Run(); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	outs := make([]*tensor.Dense, len(pp.p.Outputs))
	for i, o := range pp.p.Outputs {
		out, ok := o.Value().(*tensor.Dense)
		if !ok {
			return nil, fmt.Errorf("run: output %d is %T, not a tensor", i, o.Value())
		}
		outs[i] = out
	}
	return outs, nil
}

// CheckInputs checks that xs holds one tensor per model input, each of
// the input's element type (InputSpec.DType) and of shape (batch, the
// input's sample shape...), with one batch size of at least 1 for every
// input of a symbolic batch; an input of a fixed batch must have exactly
// its shape (Batch, Shape...). It returns the batch size, or for a model
// whose inputs all have a fixed batch, its FixedBatch.
func (m *Model) CheckInputs(xs []*tensor.Dense) (int, error) {
	if len(xs) != len(m.inputs) {
		return 0, fmt.Errorf("%d input tensors, model has %d inputs", len(xs), len(m.inputs))
	}
	batch, first := -1, ""
	for i, x := range xs {
		in := m.inputs[i]
		if x == nil {
			return 0, fmt.Errorf("input %s is nil", in.Name)
		}
		shape := x.Shape()
		want := "(batch, " + strings.Trim(fmt.Sprint(in.Shape), "[]") + ")"
		if in.Batch > 0 {
			want = fmt.Sprint(in.full(0))
		}
		if x.Dtype() != in.DType.Tensor() {
			return 0, fmt.Errorf("input %s is %v of shape %v, model wants %s %s", in.Name, x.Dtype(), []int(shape), in.DType.Or(), want)
		}
		if in.Batch > 0 {
			if !equalInts(shape, in.full(0)) {
				return 0, fmt.Errorf("input %s has shape %v, model wants %s (a fixed batch)", in.Name, []int(shape), want)
			}
			continue
		}
		if len(shape) != len(in.Shape)+1 || !equalInts(shape[1:], in.Shape) {
			return 0, fmt.Errorf("input %s has shape %v, model wants %s", in.Name, []int(shape), want)
		}
		if shape[0] == 0 {
			return 0, fmt.Errorf("input %s is empty (0 samples)", in.Name)
		}
		if batch >= 0 && shape[0] != batch {
			return 0, fmt.Errorf("input %s has %d samples, input %s has %d", in.Name, shape[0], first, batch)
		}
		batch, first = shape[0], in.Name
	}
	if batch < 0 {
		return m.FixedBatch(), nil
	}
	return batch, nil
}

// Contiguous returns x, or a packed copy of it when it is a view (a column
// slice or a transpose, say), so that its Data is exactly its values in
// row-major order.
func Contiguous(x *tensor.Dense) (*tensor.Dense, error) {
	if !x.RequiresIterator() && !x.IsView() {
		return x, nil
	}
	c, ok := x.Materialize().(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("cannot pack a %T", x.Materialize())
	}
	if c.RequiresIterator() {
		return nil, fmt.Errorf("tensor is not contiguous after packing")
	}
	return c, nil
}

// Rows returns the values of x (N, ...) in row-major order (packed first if
// x is a view) and the number of values per sample.
func Rows(x *tensor.Dense) ([]float32, int, error) {
	c, err := Contiguous(x)
	if err != nil {
		return nil, 0, err
	}
	data, ok := c.Data().([]float32)
	if !ok {
		return nil, 0, fmt.Errorf("values are %v, want float32", c.Dtype())
	}
	n := c.Shape()[0]
	if n == 0 {
		return data, 0, nil
	}
	if len(data) != c.Shape().TotalSize() {
		return nil, 0, fmt.Errorf("%d values for shape %v", len(data), c.Shape())
	}
	return data, len(data) / n, nil
}

// Classify returns the class (argmax of the output row) of every sample of
// x, of shape (N, sample shape...), for a model of one input: see
// ClassifyInputs.
func (pr *Predictor) Classify(x *tensor.Dense, batch int) ([]int, error) {
	return pr.ClassifyInputs([]*tensor.Dense{x}, batch)
}

// ClassifyInputs returns the class of every sample of xs, one tensor of N
// samples per model input, running batches of at most batch samples; the
// last batch holds the remainder, so each sample is counted once. Strided
// views are packed first. Batches are spread over Workers goroutines; the
// result does not depend on their number.
//
// The class is what the first output's meaning (Model.OutputMeaning) says
// it is: for an output of one column of BinaryProbabilities or
// BinaryLogits, 1 where the probability is above 1/2 (the logit above 0),
// else 0; for any other output the argmax of its row (the first wins
// ties). A final Normalizer is not computed: softmax keeps each row's
// argmax, and the threshold is then taken on the logits.
//
// Inputs of a fixed batch (InputSpec.Batch) are not split: every batch
// gets the whole tensor, and the inputs of a symbolic batch are split as
// above. A model whose inputs all have a fixed batch (as a default
// torch.onnx.export gives) runs once on inputs of its shapes, whatever
// batch is, and gives one class per row of its output; given a whole
// number of its batches (N a multiple of the fixed batch), it runs them
// one fixed batch at a time, one class per sample.
func (pr *Predictor) ClassifyInputs(xs []*tensor.Dense, batch int) ([]int, error) {
	if batch < 1 {
		return nil, fmt.Errorf("classify: batch size %d is not positive", batch)
	}
	n, err := pr.m.CheckInputs(xs)
	split := false
	if err != nil {
		if k, ok := pr.m.fixedBatches(xs); ok {
			n, batch, split, err = k, pr.m.FixedBatch(), true, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	if pr.m.FixedBatch() > 0 && !split {
		outs, err := pr.run(xs, true)
		if err != nil {
			return nil, fmt.Errorf("classify: %w", err)
		}
		if outs[0].Dims() < 1 {
			return nil, fmt.Errorf("classify: output of shape %v has no rows", outs[0].Shape())
		}
		preds := make([]int, outs[0].Shape()[0])
		if err := pr.classes(preds, outs[0]); err != nil {
			return nil, fmt.Errorf("classify: %w", err)
		}
		return preds, nil
	}
	packed := make([]*tensor.Dense, len(xs))
	for i, x := range xs {
		if packed[i], err = Contiguous(x); err != nil {
			return nil, fmt.Errorf("classify: input %s: %w", pr.m.inputs[i].Name, err)
		}
	}
	batches := (n + batch - 1) / batch
	workers := max(1, min(pr.Workers, batches))
	for len(pr.workers) < workers-1 {
		pr.workers = append(pr.workers, NewPredictor(pr.m))
	}
	preds := make([]int, n)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		run := pr
		if w > 0 {
			run = pr.workers[w-1]
		}
		work := func() {
			views := make([]*tensor.Dense, len(xs))
			// Worker w takes batches w, w+workers, ...: a fixed split.
			for bi := w; bi < batches; bi += workers {
				from, to := bi*batch, min((bi+1)*batch, n)
				for i, x := range packed {
					if pr.m.inputs[i].Batch > 0 && !split {
						views[i] = x
					} else {
						views[i] = SampleRange(x, from, to)
					}
				}
				outs, err := run.run(views, true)
				if err != nil {
					errs[w] = fmt.Errorf("classify: samples %d-%d: %w", from, to-1, err)
					return
				}
				if err := run.classes(preds[from:to], outs[0]); err != nil {
					errs[w] = fmt.Errorf("classify: %w", err)
					return
				}
			}
		}
		if workers == 1 {
			work() // on the caller's goroutine: no hand-off for one batch
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return preds, nil
}

// SampleRange returns samples [from, to) of the contiguous tensor x (first
// axis), sharing its values; unlike x.Slice, a range of one sample keeps
// its axis. Tensors of a type models do not hold are copied.
func SampleRange(x *tensor.Dense, from, to int) *tensor.Dense {
	shape := append([]int{to - from}, x.Shape()[1:]...)
	per := 1
	for _, d := range shape[1:] {
		per *= d
	}
	var backing any
	switch d := x.Data().(type) {
	case []float32:
		backing = d[from*per : to*per]
	case []float64:
		backing = d[from*per : to*per]
	case []int64:
		backing = d[from*per : to*per]
	case []int32:
		backing = d[from*per : to*per]
	case []bool:
		backing = d[from*per : to*per]
	default: // a type CheckInputs refuses; slice it the slow way
		v, err := x.Slice(tensor.S(from, to))
		if err == nil {
			if c, ok := v.Materialize().(*tensor.Dense); ok {
				return c
			}
		}
		return x
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(backing))
}

// classes writes the class of each row of out, the first output of a graph
// built with BuildOptions.Logits, to dst (see ClassifyInputs).
func (pr *Predictor) classes(dst []int, out *tensor.Dense) error {
	meaning := pr.m.OutputMeaning(0)
	if meaning.Binary() && out.Dims() == 2 && out.Shape()[1] == 1 {
		threshold := float32(0.5)
		if pr.m.normalizedOutputs()[0] || meaning == BinaryLogits {
			threshold = 0
		}
		return binaryClass(dst, out, threshold)
	}
	return argmax(dst, out)
}

// binaryClass writes 1 to dst where the single column of out is above
// threshold, else 0.
func binaryClass(dst []int, out *tensor.Dense, threshold float32) error {
	out, err := Contiguous(out)
	if err != nil {
		return err
	}
	vals, ok := out.Data().([]float32)
	if !ok || len(vals) != len(dst) {
		return fmt.Errorf("output of shape %v is not (%d, 1) float32", out.Shape(), len(dst))
	}
	for i, v := range vals {
		dst[i] = 0
		if v > threshold {
			dst[i] = 1
		}
	}
	return nil
}

// argmax writes the index of the largest value of each row of out
// (batch, classes) to dst; the first wins ties.
func argmax(dst []int, out *tensor.Dense) error {
	out, err := Contiguous(out)
	if err != nil {
		return err
	}
	vals, ok := out.Data().([]float32)
	if !ok || out.Dims() != 2 || out.Shape()[0] != len(dst) {
		return fmt.Errorf("output of shape %v is not (%d, classes) float32", out.Shape(), len(dst))
	}
	cols := out.Shape()[1]
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
	return nil
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

// fixedBatches reports whether xs holds a whole number of batches of a
// model whose inputs all have a fixed batch: each input of the model's
// sample shape and type, all with the same number N of samples, N a
// multiple of the batch. It returns N.
func (m *Model) fixedBatches(xs []*tensor.Dense) (int, bool) {
	fb := m.FixedBatch()
	if fb == 0 || len(xs) != len(m.inputs) {
		return 0, false
	}
	n := -1
	for i, x := range xs {
		in := m.inputs[i]
		if x == nil || x.Dtype() != in.DType.Tensor() {
			return 0, false
		}
		full := in.full(0)
		shape := x.Shape()
		if len(shape) != len(full) || !equalInts(shape[1:], full[1:]) || shape[0]%fb != 0 || shape[0] == 0 {
			return 0, false
		}
		if n >= 0 && shape[0] != n {
			return 0, false
		}
		n = shape[0]
	}
	return n, true
}
