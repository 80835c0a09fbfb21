package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"github.com/tapenet/tapenet/models"
	pb "github.com/tapenet/tapenet/serve/inferencepb"
)

// --model-repository serves every model file of a directory under its
// base name, and --grpc-addr the gRPC protocol beside HTTP.
func TestServeRepositoryAndGRPC(t *testing.T) {
	dir := t.TempDir()
	for file, name := range map[string]string{"a.safetensors": "mlp", "b.safetensors": "mlp"} {
		m, err := models.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := checkpoint.Write(&buf, m); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveMain(ctx, []string{"--model-repository", dir, "--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--drain", "0"}, &stdout, &stderr)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	re := regexp.MustCompile(`serving gRPC \(inference.GRPCInferenceService\) on (127\.0\.0\.1:\d+)`)
	var addr string
	for start := time.Now(); addr == "" && time.Since(start) < 20*time.Second; time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" || !strings.Contains(stdout.String(), "serving the models of "+dir+" (a, b)") {
		t.Fatalf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := pb.NewGRPCInferenceServiceClient(conn)
	for _, name := range []string{"a", "b"} {
		ready := false
		for start := time.Now(); !ready && time.Since(start) < 20*time.Second; time.Sleep(20 * time.Millisecond) {
			r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: name})
			ready = err == nil && r.Ready
		}
		if !ready {
			t.Errorf("model %s not ready over gRPC", name)
		}
	}
}

func TestRepositoryFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := cli.Run("serve", run, []string{"--model", "mlp", "--model-repository", t.TempDir()}, &stdout, &stderr); code != cli.ExitUsage {
		t.Errorf("--model and --model-repository: exit %d %s", code, stderr.String())
	}
	stderr.Reset()
	if code := cli.Run("serve", run, []string{"--model-repository", t.TempDir()}, &stdout, &stderr); code != cli.ExitFailure || !strings.Contains(stderr.String(), "no model files") {
		t.Errorf("empty repository: exit %d %s", code, stderr.String())
	}
}
