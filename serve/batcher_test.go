package serve

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tapenet/tapenet/graph"
)

func tinyModel(t *testing.T) *graph.Model {
	t.Helper()
	m, err := graph.NewSequential([]int{3}, &graph.Dense{Units: 2}, graph.Softmax{})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	return m
}

// A full queue answers ErrBusy at once; closing fails what is queued with
// ErrStopping; a caller that gives up gets its context's error.
func TestBatcherQueue(t *testing.T) {
	b := newBatcher(tinyModel(t), 0, 4, 0, 1, nil) // no workers: nothing leaves the queue
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := b.submit(ctx, []values{{f: make([]float32, 3)}}, 1)
		first <- err
	}()
	for len(b.queue) == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := b.submit(context.Background(), []values{{f: make([]float32, 3)}}, 1); !errors.Is(err, ErrBusy) {
		t.Errorf("queue full: %v, want ErrBusy", err)
	}
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("caller gave up: %v", err)
	}
	b.close()
	if _, err := b.submit(context.Background(), []values{{f: make([]float32, 3)}}, 1); !errors.Is(err, ErrStopping) {
		t.Errorf("after close: %v, want ErrStopping", err)
	}
}

func TestBatcherBuckets(t *testing.T) {
	for _, test := range []struct {
		max  int
		want []int
	}{
		{1, []int{1}},
		{32, []int{1, 2, 4, 8, 16, 32}},
		{48, []int{1, 2, 4, 8, 16, 32, 48}},
	} {
		b := &batcher{maxBatch: test.max}
		got := b.buckets()
		if len(got) != len(test.want) {
			t.Fatalf("max %d: buckets %v, want %v", test.max, got, test.want)
		}
		for i := range got {
			if got[i] != test.want[i] {
				t.Fatalf("max %d: buckets %v, want %v", test.max, got, test.want)
			}
		}
		for n := 1; n <= test.max; n++ {
			if s := b.bucket(n); s < n || s > test.max {
				t.Errorf("max %d: bucket(%d) = %d", test.max, n, s)
			}
		}
	}
}

// Jobs of several samples, batched with padding and split into chunks
// when larger than the batch, each get their own rows.
func TestBatcherRows(t *testing.T) {
	m := tinyModel(t)
	b := newBatcher(m, 2, 4, 5*time.Millisecond, 16, nil)
	defer b.close()
	ref := newBatcher(m, 1, 1, 0, 16, nil) // one sample at a time, no padding
	defer ref.close()
	ctx := context.Background()
	type res struct {
		n   int
		out [][]float32
		err error
	}
	results := make(chan res)
	x := func(n, seed int) []float32 {
		v := make([]float32, 3*n)
		for i := range v {
			v[i] = float32((i*7+seed)%11) / 11
		}
		return v
	}
	sizes := []int{1, 3, 2, 9, 1, 4}
	for k, n := range sizes {
		go func() {
			out, err := b.submit(ctx, []values{{f: x(n, k)}}, n)
			results <- res{k, out, err}
		}()
	}
	for range sizes {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		n := sizes[r.n]
		in := x(n, r.n)
		if len(r.out) != 1 || len(r.out[0]) != 2*n {
			t.Fatalf("job of %d samples: %d outputs of %d values", n, len(r.out), len(r.out[0]))
		}
		for i := range n {
			want, err := ref.submit(ctx, []values{{f: in[3*i : 3*i+3]}}, 1)
			if err != nil {
				t.Fatal(err)
			}
			for c := range 2 {
				if d := r.out[0][2*i+c] - want[0][c]; d > 1e-6 || d < -1e-6 {
					t.Fatalf("job of %d samples, row %d: %v, alone %v", n, i, r.out[0][2*i:2*i+2], want[0])
				}
			}
		}
	}
}
