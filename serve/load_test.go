package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tapenet/tapenet/serve"
)

var (
	load        = flag.Bool("load", false, "run TestLoad: 64 concurrent clients on loopback against mlp and convnet (about a minute; scripts/loadtest.sh)")
	loadClients = flag.Int("load-clients", 64, "TestLoad: concurrent clients")
	loadPer     = flag.Int("load-requests", 60, "TestLoad: requests per client")
)

type loadResult struct {
	requests, errors int
	seconds, cpu     float64 // wall time; CPU time of the process (clients and server)
	p50, p99         time.Duration
	meanBatch        float64
	firstErr         string
}

// hammer sends perClient single-image inference requests from each of
// clients goroutines over keep-alive connections, and measures.
func hammer(t *testing.T, base, model string, clients, perClient int, bodies [][]byte) loadResult {
	t.Helper()
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	url := base + "/v2/models/" + model + "/infer"
	batchCount0, batchSum0 := histogram(t, base, "tapenet_batch_size")

	var mu sync.Mutex
	var lat []time.Duration
	res := loadResult{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // bound in time as well as count
	defer cancel()
	cpu0 := cpuSeconds()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, perClient)
			errs, first := 0, ""
			for k := range perClient {
				if ctx.Err() != nil {
					errs++
					first = "time limit"
					break
				}
				req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(bodies[(c*perClient+k)%len(bodies)]))
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					errs++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			res.errors += errs
			if res.firstErr == "" {
				res.firstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.seconds = time.Since(start).Seconds()
	res.cpu = cpuSeconds() - cpu0
	res.requests = len(lat)
	slices.Sort(lat)
	if len(lat) > 0 {
		res.p50 = lat[len(lat)/2]
		res.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	count, sum := histogram(t, base, "tapenet_batch_size")
	if count > batchCount0 {
		res.meanBatch = (sum - batchSum0) / (count - batchCount0)
	}
	return res
}

// TestLoad measures the server on loopback: a single client sending one
// request at a time (the baseline), then 64 concurrent clients, with the
// default dynamic batching and without it (--max-batch 1). It requires
// zero errors. Run it with -load (scripts/loadtest.sh); the README's
// figures come from one run of it.
func TestLoad(t *testing.T) {
	if !*load {
		t.Skip("a load test: run with -load (scripts/loadtest.sh)")
	}
	var bodies [][]byte
	for i := range 64 {
		b, _ := json.Marshal(inferReq{Inputs: []tensorJSON{{"input", []int{1, 784}, "FP32", sample(i)}}})
		bodies = append(bodies, b)
	}
	var table strings.Builder
	fmt.Fprintf(&table, "| model | clients | batching | requests | errors | req/s | p50 | p99 | mean batch | CPU used |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, model := range []string{"mlp", "convnet"} {
		for _, run := range []struct {
			clients, per int
			opt          serve.Options
			batching     string
		}{
			{1, 20 * *loadPer, serve.Options{}, "default (max 32, no wait)"},
			{*loadClients, *loadPer, serve.Options{}, "default (max 32, no wait)"},
			{*loadClients, *loadPer, serve.Options{MaxDelay: 2 * time.Millisecond}, "max 32, wait 2 ms"},
			{*loadClients, *loadPer, serve.Options{MaxBatch: 1}, "off (max-batch 1)"},
		} {
			opt := run.opt
			opt.Name = model
			srv, err := serve.New(loadModel(model), opt)
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.WaitReady(context.Background()); err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ctx, ln) }()
			base := "http://" + ln.Addr().String()
			hammer(t, base, model, run.clients, 5, bodies) // warm the connections
			r := hammer(t, base, model, run.clients, run.per, bodies)
			stop()
			if err := <-done; err != nil {
				t.Error(err)
			}
			fmt.Fprintf(&table, "| %s | %d | %s | %d | %d | %.0f | %.2f ms | %.2f ms | %.1f | %.2f cores |\n", model, run.clients, run.batching,
				r.requests, r.errors, float64(r.requests)/r.seconds, ms(r.p50), ms(r.p99), r.meanBatch, r.cpu/r.seconds)
			if r.errors > 0 {
				t.Errorf("%s, %d clients: %d errors (first: %s)", model, run.clients, r.errors, r.firstErr)
			}
		}
	}
	t.Logf("one image per request, JSON FP32 [1,784], keep-alive connections, clients and server in this process (CPU used: theirs together, of %d):\n%s", runtime.NumCPU(), table.String())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cpuSeconds is the CPU time this process has used, user and system.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
