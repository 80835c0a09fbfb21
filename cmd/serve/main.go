// Command serve serves a tapenet model over HTTP: the Open Inference
// Protocol (KServe v2) REST API, image classification, a draw-a-digit page
// and Prometheus metrics.
//
// Usage:
//
//	go run ./cmd/serve [flags]
//
// Run with --help for the flags.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "github.com/tapenet/tapenet/blas" // tapenet's Sgemm as Gorgonia's BLAS
	"github.com/tapenet/tapenet/internal/cli"
	"github.com/tapenet/tapenet/models"
	"github.com/tapenet/tapenet/serve"
)

const usage = `
serve: serve a model over HTTP.

Usage:
  go run ./cmd/serve [flags]

With no flags, serves the embedded default model on localhost:8080:
  http://localhost:8080/                      draw a digit, see what the model reads
  POST /v2/models/mlp/infer                   KServe v2 (Open Inference Protocol) inference
  GET  /v2/health/live, /v2/health/ready      probes; GET /v2, /v2/models/mlp metadata
  POST /v1/classify                           an image file in, class and probabilities out
  GET  /metrics                               Prometheus metrics

Concurrent requests are batched: up to --max-batch samples, waiting at most
--max-delay for more, run by --workers workers over one shared model.
SIGINT or SIGTERM stops it gracefully: requests in flight finish first.

Examples:
  go run ./cmd/serve --model convnet --addr :9000
  curl -s localhost:8080/v1/classify --data-binary @digit.png
`

func main() { cli.Main("serve", run) }

func run(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveMain(ctx, args, stdout, stderr)
}

func serveMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		model, activation, name, addr string
		opt                           serve.Options
	)
	fs := cli.NewFlags("serve", usage, stdout)
	fs.StringVar(&model, "model", models.Default, "embedded model name ("+strings.Join(models.Names(), ", ")+"), checkpoint file (.safetensors), or book-format weights (.pkl, .npz)")
	fs.StringVar(&activation, "activation", "sigmoid", "hidden activation for book-format weights (.pkl, .npz): "+strings.Join(models.Activations(), ", "))
	fs.StringVar(&name, "name", "", "model name in the URLs (default: the embedded model's name or the file's base name)")
	fs.StringVar(&addr, "addr", "localhost:8080", "address to listen on (host:port; :8080 for every interface)")
	fs.IntVar(&opt.MaxBatch, "max-batch", 32, "samples per model run at most (dynamic batching)")
	fs.DurationVar(&opt.MaxDelay, "max-delay", 0, "how long a batch waits for more requests (0: no wait; requests that queue while the workers are busy still batch)")
	fs.IntVar(&opt.Workers, "workers", runtime.GOMAXPROCS(0), "model runners, each with its own compiled graphs")
	fs.IntVar(&opt.QueueSize, "queue", 1024, "requests waiting at most; beyond, 503 at once")
	fs.Int64Var(&opt.MaxBodyBytes, "max-body", 8<<20, "request body size limit in bytes")
	fs.IntVar(&opt.MaxSamples, "max-samples", 1024, "samples in one inference request at most")
	fs.DurationVar(&opt.ReadTimeout, "read-timeout", 30*time.Second, "time to read a whole request")
	fs.DurationVar(&opt.WriteTimeout, "write-timeout", 30*time.Second, "time to answer a request once read")
	fs.DurationVar(&opt.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGINT/SIGTERM, how long requests in flight may still take")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, c := range []struct {
		flag string
		bad  bool
	}{
		{"--max-batch must be 1 to 4096", opt.MaxBatch < 1 || opt.MaxBatch > 4096},
		{"--max-delay must not be negative", opt.MaxDelay < 0},
		{"--workers must be at least 1", opt.Workers < 1},
		{"--queue must be at least 1", opt.QueueSize < 1},
		{"--max-body must be at least 1024 bytes", opt.MaxBodyBytes < 1024},
		{"--max-samples must be at least 1", opt.MaxSamples < 1},
		{"--read-timeout, --write-timeout and --shutdown-timeout must be positive", opt.ReadTimeout <= 0 || opt.WriteTimeout <= 0 || opt.ShutdownTimeout <= 0},
		{"--model must name a file or an embedded model", model == ""},
	} {
		if c.bad {
			return cli.Usagef("%s", c.flag)
		}
	}
	if _, err := models.Activation(activation); err != nil {
		return cli.Usagef("--activation: %v", err)
	}
	if name == "" {
		name = modelName(model)
	}
	if !validName.MatchString(name) {
		return cli.Usagef("--name %q: use letters, digits, '.', '_' and '-'", name)
	}
	opt.Name = name
	m, err := models.Open(model, models.OpenOptions{Activation: activation})
	if err != nil {
		return err
	}
	srv, err := serve.New(m, opt)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "serving model %s on %s/ (KServe v2: %s/v2/models/%s, metrics: %s/metrics)\n", name, url, url, name, url)
	go func() {
		start := time.Now()
		if err := srv.WaitReady(ctx); err == nil {
			fmt.Fprintf(stderr, "serve: ready (model compiled in %.2f s)\n", time.Since(start).Seconds())
		} else if ctx.Err() == nil {
			fmt.Fprintf(stderr, "serve: not ready: %v\n", err)
		}
	}()
	err = srv.Serve(ctx, ln)
	if err == nil {
		fmt.Fprintln(stderr, "serve: stopped")
	}
	return err
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// modelName names a model in the URLs: an embedded model by its name, a
// file by its base name without the extension.
func modelName(ref string) string {
	if slices.Contains(models.Names(), ref) {
		return ref
	}
	base := strings.TrimSuffix(filepath.Base(ref), filepath.Ext(ref))
	base = regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(base, "-")
	if base == "" || !validName.MatchString(base) {
		return "model"
	}
	return base
}
