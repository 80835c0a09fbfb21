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
	x    []float32   // n samples of the model's input, row-major
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
	in       int   // values per sample
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
		m: m, in: product(m.Input()), maxBatch: maxBatch, maxDelay: maxDelay,
		queue: make(chan *job, queue), stop: make(chan struct{}), observe: observe,
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
func (b *batcher) submit(ctx context.Context, x []float32, n int) ([][]float32, error) {
	j := &job{ctx: ctx, x: x, n: n, done: make(chan struct{})}
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
		if _, err = b.run(pr, make([]float32, s*b.in), s, false); err != nil {
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
	x := live[0].x
	if len(live) > 1 {
		x = make([]float32, 0, n*b.in)
		for _, j := range live {
			x = append(x, j.x...)
		}
	}
	outs := make([][]float32, len(b.outSizes))
	var err error
	for start := 0; start < n && err == nil; start += b.maxBatch {
		end := min(start+b.maxBatch, n)
		var part [][]float32
		part, err = b.run(pr, x[start*b.in:end*b.in], end-start, true)
		for i := range outs {
			if err == nil {
				outs[i] = append(outs[i], part[i]...)
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

// run runs n <= maxBatch samples, padded with zeros to their bucket, and
// returns each output's first n rows; observe reports it to the metrics.
func (b *batcher) run(pr *graph.Predictor, x []float32, n int, observe bool) ([][]float32, error) {
	size := b.bucket(n)
	if size > n {
		x = append(append(make([]float32, 0, size*b.in), x...), make([]float32, (size-n)*b.in)...)
	}
	shape := append([]int{size}, b.m.Input()...)
	start := time.Now()
	outs, err := pr.Predict(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(x)))
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

func product(shape []int) int {
	p := 1
	for _, d := range shape {
		p *= d
	}
	return p
}
