package serve

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tapenet/tapenet/graph"
	"gorgonia.org/tensor"
)

// Errors of the batcher; the HTTP layer answers them with 503.
var (
	ErrBusy     = errors.New("server busy: the request queue is full, retry later")
	ErrStopping = errors.New("server shutting down")
)

// job is one request's samples on their way through the batcher.
type job struct {
	ctx  context.Context
	xs   []values    // per model input, n samples row-major
	n    int         // samples
	outs [][]float32 // per model output, n rows; set before done closes
	err  error
	done chan struct{}
}

// batcher gathers concurrent requests into batches, as Triton's dynamic
// batcher does: a worker takes the first queued job, then keeps taking
// jobs until the batch holds maxBatch samples or maxDelay has passed since
// it took the first, and runs them as one batch. Every worker has its own
// Predictor over the one shared model (the graph package's concurrency
// contract). Batches are padded up to a power of two (capped at maxBatch)
// so that a worker compiles at most log2(maxBatch)+1 graphs; warm-up
// compiles them all before the server reports ready.
type batcher struct {
	m        *graph.Model
	inputs   []graph.InputSpec
	ins      []int // values per sample of each input
	outSizes []int // values per sample of each output
	maxBatch int
	maxDelay time.Duration
	queue    chan *job
	stop     chan struct{}
	wg       sync.WaitGroup
	observe  func(samples int, run time.Duration) // metrics hook
	warm     sync.WaitGroup
	warmErr  error
	warmOnce sync.Once
	// compile serialises the workers' warm-up: building graphs of layers
	// that call Gorgonia's MaxPool2D or Conv2D bumps a global counter in
	// gorgonia/internal/encoding without a lock, a data race when two
	// graphs are built at once (seen with -race on the convnet). Runs
	// after warm-up compile nothing and go in parallel.
	compile sync.Mutex
}

func newBatcher(m *graph.Model, workers, maxBatch int, maxDelay time.Duration, queue int, observe func(int, time.Duration)) *batcher {
	b := &batcher{
		m: m, inputs: m.Inputs(), maxBatch: maxBatch, maxDelay: maxDelay,
		queue: make(chan *job, queue), stop: make(chan struct{}), observe: observe,
	}
	for _, in := range b.inputs {
		b.ins = append(b.ins, product(in.Shape))
	}
	for i := range m.Outputs() {
		b.outSizes = append(b.outSizes, product(m.OutputShape(i)))
	}
	b.warm.Add(workers)
	b.wg.Add(workers)
	for range workers {
		go b.worker(graph.NewPredictor(m))
	}
	return b
}

// buckets returns the padded batch sizes: powers of two below maxBatch,
// and maxBatch.
func (b *batcher) buckets() []int {
	var out []int
	for s := 1; s < b.maxBatch; s *= 2 {
		out = append(out, s)
	}
	return append(out, b.maxBatch)
}

// bucket returns the padded size of a batch of n <= maxBatch samples.
func (b *batcher) bucket(n int) int {
	s := 1
	for s < n {
		s *= 2
	}
	return min(s, b.maxBatch)
}

// submit queues n samples and waits for their outputs. It fails at once
// with ErrBusy when the queue is full, and returns ctx's error if the
// caller gives up first.
func (b *batcher) submit(ctx context.Context, xs []values, n int) ([][]float32, error) {
	j := &job{ctx: ctx, xs: xs, n: n, done: make(chan struct{})}
	select {
	case <-b.stop:
		return nil, ErrStopping
	default:
	}
	select {
	case b.queue <- j:
	default:
		return nil, ErrBusy
	}
	select {
	case <-j.done:
		return j.outs, j.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// close stops the workers once they finish their batches; jobs still
// queued fail with ErrStopping.
func (b *batcher) close() {
	close(b.stop)
	b.wg.Wait()
	for {
		select {
		case j := <-b.queue:
			j.err = ErrStopping
			close(j.done)
		default:
			return
		}
	}
}

func (b *batcher) worker(pr *graph.Predictor) {
	defer b.wg.Done()
	// Warm up: compile every padded batch size before the server is ready.
	var err error
	b.compile.Lock()
	for _, s := range b.buckets() {
		if _, err = b.run(pr, b.zeros(s), s, false); err != nil {
			err = fmt.Errorf("warm-up at batch %d: %w", s, err)
			break
		}
	}
	b.compile.Unlock()
	if err != nil {
		b.warmOnce.Do(func() { b.warmErr = err })
	}
	b.warm.Done()

	var carry *job // a job that did not fit the last batch
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-b.queue:
			case <-b.stop:
				return
			}
		}
		batch, n := []*job{first}, first.n
		var deadline <-chan time.Time // nil: take only what is queued
		var timer *time.Timer
		if b.maxDelay > 0 {
			timer = time.NewTimer(b.maxDelay)
			deadline = timer.C
		}
	gather:
		for n < b.maxBatch {
			var j *job
			if deadline == nil {
				select {
				case j = <-b.queue:
				default:
					break gather
				}
			} else {
				select {
				case j = <-b.queue:
				case <-deadline:
					break gather
				case <-b.stop:
					break gather
				}
			}
			if n+j.n > b.maxBatch {
				carry = j
				break
			}
			batch, n = append(batch, j), n+j.n
		}
		if timer != nil {
			timer.Stop()
		}
		b.runJobs(pr, batch)
	}
}

// runJobs runs the jobs' samples as one batch (a job larger than maxBatch,
// which comes alone, in chunks of maxBatch) and hands each job its rows.
func (b *batcher) runJobs(pr *graph.Predictor, jobs []*job) {
	live := jobs[:0:0]
	n := 0
	for _, j := range jobs {
		if err := j.ctx.Err(); err != nil { // the client left while queued
			j.err = err
			close(j.done)
			continue
		}
		live, n = append(live, j), n+j.n
	}
	if n == 0 {
		return
	}
	xs := live[0].xs
	if len(live) > 1 {
		xs = make([]values, len(b.ins))
		for i, per := range b.ins {
			for _, j := range live {
				xs[i] = appendValues(xs[i], j.xs[i], n*per)
			}
		}
	}
	outs := make([][]float32, len(b.outSizes))
	var err error
	for start := 0; start < n && err == nil; start += b.maxBatch {
		end := min(start+b.maxBatch, n)
		part := make([]values, len(xs))
		for i, per := range b.ins {
			part[i] = sliceValues(xs[i], start*per, end*per)
		}
		var partOut [][]float32
		partOut, err = b.run(pr, part, end-start, true)
		for i := range outs {
			if err == nil {
				outs[i] = append(outs[i], partOut[i]...)
			}
		}
	}
	row := 0
	for _, j := range live {
		if err != nil {
			j.err = err
		} else {
			j.outs = make([][]float32, len(outs))
			for i, o := range outs {
				j.outs[i] = o[row*b.outSizes[i] : (row+j.n)*b.outSizes[i]]
			}
		}
		row += j.n
		close(j.done)
	}
}

// zeros returns s samples of zeros for every input (warm-up).
func (b *batcher) zeros(s int) []values {
	xs := make([]values, len(b.ins))
	for i, per := range b.ins {
		xs[i] = appendZeros(xs[i], b.inputs[i].DType, s*per)
	}
	return xs
}

// run runs n <= maxBatch samples, padded with zeros to their bucket, and
// returns each output's first n rows; observe reports it to the metrics.
// An input of a fixed batch (InputSpec.Batch) is never padded: its jobs
// hold exactly that many samples.
func (b *batcher) run(pr *graph.Predictor, xs []values, n int, observe bool) ([][]float32, error) {
	size := b.bucket(n)
	ts := make([]*tensor.Dense, len(xs))
	for i, x := range xs {
		per := b.ins[i]
		if size > n {
			x = appendZeros(appendValues(values{}, x, size*per), b.inputs[i].DType, (size-n)*per)
		}
		shape := append([]int{size}, b.inputs[i].Shape...)
		if x.i != nil {
			ts[i] = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(x.i))
		} else {
			ts[i] = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(x.f))
		}
	}
	start := time.Now()
	outs, err := pr.Predict(ts...)
	if err != nil {
		return nil, fmt.Errorf("model run: %w", err)
	}
	if observe && b.observe != nil {
		b.observe(n, time.Since(start))
	}
	res := make([][]float32, len(outs))
	for i, o := range outs {
		data, per, err := graph.Rows(o)
		if err != nil {
			return nil, fmt.Errorf("output %d: %w", i, err)
		}
		if per != b.outSizes[i] {
			return nil, fmt.Errorf("output %d has %d values per sample, want %d", i, per, b.outSizes[i])
		}
		res[i] = data[:n*per]
	}
	return res, nil
}

// appendValues appends src to dst (of room for capacity elements).
func appendValues(dst, src values, capacity int) values {
	if src.i != nil {
		if dst.i == nil {
			dst.i = make([]int64, 0, capacity)
		}
		dst.i = append(dst.i, src.i...)
		return dst
	}
	if dst.f == nil {
		dst.f = make([]float32, 0, capacity)
	}
	dst.f = append(dst.f, src.f...)
	return dst
}

// appendZeros appends k zeros of the input's element type.
func appendZeros(dst values, d graph.DType, k int) values {
	if d.Or() == graph.Int64 {
		dst.i = append(dst.i, make([]int64, k)...)
		if dst.i == nil {
			dst.i = []int64{}
		}
		return dst
	}
	dst.f = append(dst.f, make([]float32, k)...)
	if dst.f == nil {
		dst.f = []float32{}
	}
	return dst
}

func sliceValues(v values, from, to int) values {
	if v.i != nil {
		return values{i: v.i[from:to]}
	}
	return values{f: v.f[from:to]}
}

func product(shape []int) int {
	p := 1
	for _, d := range shape {
		p *= d
	}
	return p
}
