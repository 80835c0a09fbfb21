package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tapenet/tapenet/cli"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestUsageErrors(t *testing.T) {
	for _, test := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-batch", "0"}, "--max-batch must be 1 to 4096"},
		{[]string{"--max-batch", "5000"}, "--max-batch must be 1 to 4096"},
		{[]string{"--max-delay", "-1ms"}, "--max-delay must not be negative"},
		{[]string{"--workers", "0"}, "--workers must be at least 1"},
		{[]string{"--max-body", "10"}, "--max-body must be at least 1024 bytes"},
		{[]string{"--name", "a/b"}, `--name "a/b"`},
		{[]string{"--model", ""}, "--model must name a file"},
		{[]string{"--activation", "swish"}, "--activation"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--nope"}, "unknown flag: --nope"},
	} {
		var stdout, stderr bytes.Buffer
		code := cli.Run("serve", run, test.args, &stdout, &stderr)
		if code != cli.ExitUsage || !strings.Contains(stderr.String(), test.want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", test.args, code, stderr.String(), test.want)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := cli.Run("serve", run, []string{"--model", "no-such.safetensors"}, &stdout, &stderr); code != cli.ExitFailure {
		t.Errorf("missing model file: exit %d, %s", code, stderr.String())
	}
	if code := cli.Run("serve", run, []string{"--addr", "256.0.0.1:1"}, &stdout, &stderr); code != cli.ExitFailure || !strings.Contains(stderr.String(), "--addr") {
		t.Errorf("bad address: exit %d, %s", code, stderr.String())
	}
}

func TestModelName(t *testing.T) {
	for ref, want := range map[string]string{
		"mlp": "mlp", "convnet": "convnet", "/tmp/my model.safetensors": "my-model",
		"sample_weight.pkl": "sample_weight", "dir/.safetensors": "model",
	} {
		if got := modelName(ref); got != want {
			t.Errorf("modelName(%q) = %q, want %q", ref, got, want)
		}
	}
}

// The command serves the embedded default model, names the address it
// listens on, and stops cleanly when its context ends (SIGINT, SIGTERM).
func TestServe(t *testing.T) {
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveMain(ctx, []string{"--addr", "127.0.0.1:0"}, &stdout, &stderr) }()
	urlRe := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)/`)
	var base string
	for start := time.Now(); base == "" && time.Since(start) < 20*time.Second; time.Sleep(10 * time.Millisecond) {
		if m := urlRe.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("no address printed: %q %q", stdout.String(), stderr.String())
	}
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get(base + "/v2/models/mlp/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("not ready: %v", err)
		}
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Draw a digit") {
		t.Error("no page at /")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("did not stop")
	}
	if !strings.Contains(stderr.String(), "serve: ready") || !strings.Contains(stderr.String(), "serve: stopped") {
		t.Errorf("stderr %q", stderr.String())
	}
}
