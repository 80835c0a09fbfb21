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
	"testing"
	"time"

	"github.com/tapenet/tapenet/serve"
	pb "github.com/tapenet/tapenet/serve/inferencepb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

var loadProtocols = flag.Bool("load-protocols", false, "run TestLoadProtocols: mlp over HTTP JSON, HTTP binary tensors, gRPC typed and raw contents; 1 and 64 clients (scripts/loadtest.sh -protocols)")

// drive runs perClient calls of send from each of clients goroutines and
// returns the latencies, sorted, the wall time and the errors.
func drive(clients, perClient int, send func(c, k int) error) (lat []time.Duration, seconds float64, errs int, first error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, perClient)
			for k := range perClient {
				t0 := time.Now()
				err := send(c, k)
				mu.Lock()
				if err != nil {
					errs++
					if first == nil {
						first = err
					}
				}
				mu.Unlock()
				if err == nil {
					mine = append(mine, time.Since(t0))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	return lat, time.Since(start).Seconds(), errs, first
}

// TestLoadProtocols measures one model (mlp, one image per request) over
// each wire form: HTTP with JSON data, HTTP with Triton's binary tensors
// (in and out), gRPC with typed contents and with raw contents; a single
// client (latency) and 64 clients (throughput), clients and server in this
// process on loopback. It requires zero errors. Run with -load-protocols.
func TestLoadProtocols(t *testing.T) {
	if !*loadProtocols {
		t.Skip("a load test: run with -load-protocols (scripts/loadtest.sh -protocols)")
	}
	srv, err := serve.New(loadModel("mlp"), serve.Options{Name: "mlp"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	hln, _ := net.Listen("tcp", "127.0.0.1:0")
	gln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go srv.Serve(ctx, hln)
	go srv.ServeGRPC(ctx, srv.GRPCServer(), gln)
	url := "http://" + hln.Addr().String() + "/v2/models/mlp/infer"
	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	conn, err := grpc.NewClient(gln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gc := pb.NewGRPCInferenceServiceClient(conn)

	var jsonBodies, binBodies [][]byte
	var binHeader string
	var typed, raw []*pb.ModelInferRequest
	for i := range 64 {
		b, _ := json.Marshal(inferReq{Inputs: []tensorJSON{{"input", []int{1, 784}, "FP32", sample(i)}}})
		jsonBodies = append(jsonBodies, b)
		bb, hl := binaryBody(t, map[string]any{"inputs": []any{map[string]any{"name": "input", "shape": []int{1, 784}, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": 4 * 784}}}, "parameters": map[string]any{"binary_data_output": true}}, fp32Bytes(sample(i)))
		binBodies, binHeader = append(binBodies, bb), hl
		in := []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{1, 784}}}
		typed = append(typed, &pb.ModelInferRequest{ModelName: "mlp", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{1, 784}, Contents: &pb.InferTensorContents{Fp32Contents: sample(i)}}}})
		raw = append(raw, &pb.ModelInferRequest{ModelName: "mlp", Inputs: in, RawInputContents: [][]byte{fp32Bytes(sample(i))}})
	}
	post := func(body []byte, header string) error {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if header != "" {
			req.Header.Set("Inference-Header-Content-Length", header)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	forms := []struct {
		name string
		send func(i int) error
	}{
		{"HTTP, JSON", func(i int) error { return post(jsonBodies[i%64], "") }},
		{"HTTP, binary tensors", func(i int) error { return post(binBodies[i%64], binHeader) }},
		{"gRPC, typed contents", func(i int) error { _, err := gc.ModelInfer(ctx, typed[i%64]); return err }},
		{"gRPC, raw contents", func(i int) error { _, err := gc.ModelInfer(ctx, raw[i%64]); return err }},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "| wire form | 1 client p50 | 1 client p99 | 64 clients req/s | 64 clients p50 | 64 clients p99 |\n|---|---|---|---|---|---|\n")
	for _, f := range forms {
		drive(64, 5, func(c, k int) error { return f.send(c*5 + k) }) // warm the connections
		lat1, _, e1, err1 := drive(1, 600, func(_, k int) error { return f.send(k) })
		lat64, secs, e64, err64 := drive(64, 40, func(c, k int) error { return f.send(c*40 + k) })
		if e1+e64 > 0 {
			t.Errorf("%s: %d errors (%v %v)", f.name, e1+e64, err1, err64)
			continue
		}
		p := func(l []time.Duration, q int) float64 { return ms(l[min(len(l)-1, len(l)*q/100)]) }
		fmt.Fprintf(&table, "| %s | %.3f ms | %.3f ms | %.0f | %.2f ms | %.2f ms |\n", f.name, p(lat1, 50), p(lat1, 99), float64(len(lat64))/secs, p(lat64, 50), p(lat64, 99))
	}
	t.Logf("mlp, one image per request, loopback, clients and server in this process (%d CPUs, shared machine):\n%s", runtime.NumCPU(), table.String())
}
