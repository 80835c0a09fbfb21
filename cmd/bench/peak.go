package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

type peakResult struct {
	ISA        string  `json:"isa"`
	Cores      int     `json:"cores"`
	Core1      float64 `json:"peak_gflops_1core"`
	AllCores   float64 `json:"peak_gflops"`
	RoundsEach int     `json:"rounds_per_call"`
}

// peak measures the CPU's float32 FMA throughput: the register-only loop
// of fmaLoop on one goroutine, then on one per core (GOMAXPROCS) at once,
// each the best of reps timed calls of 2²² rounds (about 30 ms on one core
// at 2.5 GHz with two FMA units; short, so that on a shared machine the
// best call is likely one that had its core to itself).
func peak(reps int) (*peakResult, error) {
	loop, isa, flops := fmaLoop()
	if loop == nil {
		return nil, fmt.Errorf("no FMA loop for this CPU (%s): --peak needs amd64 with AVX2/FMA or AVX-512", runtime.GOARCH)
	}
	const rounds = 1 << 22
	loop(1 << 16) // warm up (and wake the wide units)
	best := func(workers int) float64 {
		var top float64
		for range reps {
			var wg sync.WaitGroup
			start := time.Now()
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					loop(rounds)
				}()
			}
			wg.Wait()
			top = max(top, float64(workers)*rounds*flops/float64(time.Since(start).Nanoseconds()))
		}
		return top
	}
	cores := runtime.GOMAXPROCS(0)
	return &peakResult{ISA: isa, Cores: cores, Core1: best(1), AllCores: best(cores), RoundsEach: rounds}, nil
}
