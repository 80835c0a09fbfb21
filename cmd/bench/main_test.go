package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/cli"
)

func TestLatency(t *testing.T) {
	var so, se bytes.Buffer
	if code := cli.Run("bench", run, []string{"--latency", "mlp", "--images", "50", "--warmup", "3"}, &so, &se); code != 0 {
		t.Fatalf("exit %d: %s", code, se.String())
	}
	var r latencyResult
	if err := json.Unmarshal(so.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, so.String())
	}
	// The embedded mlp gets all of the first 50 test images right (as cmd/infer --limit 50).
	if r.Images != 50 || r.Accuracy != 1 || !(0 < r.MinUS && r.MinUS <= r.MedianUS && r.MedianUS <= r.P99US) {
		t.Errorf("result %+v", r)
	}
}

func TestSgemm(t *testing.T) {
	var so, se bytes.Buffer
	if code := cli.Run("bench", run, []string{"--sgemm", "64", "--reps", "3"}, &so, &se); code != 0 {
		t.Fatalf("exit %d: %s", code, se.String())
	}
	var r sgemmResult
	if err := json.Unmarshal(so.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, so.String())
	}
	if r.N != 64 || r.BLAS == "" || !(0 < r.MedianGFLOPS && r.MedianGFLOPS <= r.BestGFLOPS) {
		t.Errorf("result %+v", r)
	}
}

// --peak reports a positive FMA throughput on one core and on all, where
// the CPU has an FMA loop (amd64 with AVX2/FMA or AVX-512), and fails with
// a one-line error elsewhere.
func TestPeak(t *testing.T) {
	var so, se bytes.Buffer
	code := cli.Run("bench", run, []string{"--peak", "--reps", "1"}, &so, &se)
	if loop, _, _ := fmaLoop(); loop == nil {
		if code != 1 || !strings.Contains(se.String(), "no FMA loop") {
			t.Errorf("without an FMA loop: exit %d: %s", code, se.String())
		}
		return
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, se.String())
	}
	var r peakResult
	if err := json.Unmarshal(so.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, so.String())
	}
	// At least 1 GFLOP/s: a CPU with these units does tens per core even
	// when shared; zero or negative would be a broken measurement.
	if r.ISA == "" || r.Cores < 1 || r.Core1 < 1 || r.AllCores < 1 || r.RoundsEach < 1 {
		t.Errorf("result %+v", r)
	}
}

func TestQuantile(t *testing.T) {
	v := []float64{1, 2, 3, 4, 5}
	for q, want := range map[float64]float64{0: 1, 0.5: 3, 0.99: 4.96, 1: 5} {
		if got := quantile(v, q); got < want-1e-9 || got > want+1e-9 {
			t.Errorf("quantile(%g) = %g, want %g", q, got, want)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"--latency", "mlp", "--sgemm", "8"}, {"--sgemm", "-1"},
		{"--latency", "mlp", "--images", "0"}, {"--sgemm", "8", "--reps", "0"}, {"--nope"},
		{"--peak", "--sgemm", "8"}, {"--peak", "--reps", "0"}} {
		var so, se bytes.Buffer
		if code := cli.Run("bench", run, args, &so, &se); code != 2 {
			t.Errorf("%q: exit %d, want 2 (%s)", args, code, se.String())
		}
	}
	var so, se bytes.Buffer
	if code := cli.Run("bench", run, []string{"--help"}, &so, &se); code != 0 || !strings.Contains(so.String(), "--latency") {
		t.Errorf("--help: exit %d: %s", code, so.String())
	}
}
