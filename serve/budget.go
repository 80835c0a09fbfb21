package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// ErrMemory is the answer when the server's in-flight memory budget
// (Options.MaxMemory) stays full for longer than a request may wait.
var ErrMemory = errors.New("server busy: its in-flight memory budget is in use, retry later")

// memoryBudget bounds the bytes that requests in flight may hold at once
// (bodies, decoded tensors, outputs, answers, decoded images): a request
// takes its estimate before the work and gives it back after the answer.
// Requests wait for room; one that cannot fit at all is a 413.
type memoryBudget struct {
	mu    sync.Mutex
	used  int64
	limit int64
	freed chan struct{} // closed (and replaced) whenever room is given back
}

func newMemoryBudget(limit int64) *memoryBudget {
	return &memoryBudget{limit: limit, freed: make(chan struct{})}
}

// acquire takes n bytes, waiting for room until ctx ends (ErrMemory). It
// returns the function that gives them back.
func (b *memoryBudget) acquire(ctx context.Context, n int64, what string) (func(), error) {
	if n > b.limit {
		return nil, &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("%s needs about %d MiB, more than the server's memory budget of %d MiB (--max-memory)", what, (n+(1<<20)-1)>>20, b.limit>>20)}
	}
	n = max(n, 0)
	for {
		b.mu.Lock()
		if b.used+n <= b.limit {
			b.used += n
			b.mu.Unlock()
			var once sync.Once
			return func() { once.Do(func() { b.release(n) }) }, nil
		}
		ch := b.freed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, ctx.Err()
			}
			return nil, ErrMemory
		}
	}
}

func (b *memoryBudget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}
