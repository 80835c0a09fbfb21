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
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "github.com/tapenet/tapenet/blas" // tapenet's Sgemm as Gorgonia's BLAS
	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/models"
	"github.com/tapenet/tapenet/serve"
)

const usage = `
serve: serve a model over HTTP.

Usage:
  go run ./cmd/serve [flags]

With no flags, serves the embedded default model on localhost:8080 (--model
takes an embedded name, a checkpoint, book-format weights or an ONNX file):
  http://localhost:8080/                      draw a digit, see what the model reads
  POST /v2/models/mlp/infer                   KServe v2 (Open Inference Protocol) inference,
                                              JSON or Triton's binary tensors; classification
  GET  /v2/health/live, /v2/health/ready      probes; GET /v2, /v2/models/mlp metadata
  POST /v1/classify                           an image file in, class and probabilities out
  GET  /metrics                               Prometheus metrics
With --model-repository DIR, serves every model file in DIR (.safetensors,
.pkl, .npz, .onnx) under its base name, with Triton's repository API:
  POST /v2/repository/index, /v2/repository/models/NAME/load and /unload
With --grpc-addr, also the v2 protocol over gRPC (inference.GRPCInferenceService).

Concurrent requests are batched: up to --max-batch samples, waiting at most
--max-delay for more, run by --workers workers over one shared model.
SIGINT or SIGTERM stops it gracefully: requests in flight finish first.

Examples:
  go run ./cmd/serve --model convnet --addr :9000
  go run ./cmd/serve --model-repository models/ --grpc-addr :8081
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
		model, activation, name, addr, repo, grpcAddr string
		opt                                           serve.Options
	)
	fs := cli.NewFlags("serve", usage, stdout)
	fs.StringVar(&model, "model", models.Default, "embedded model name ("+strings.Join(models.Names(), ", ")+"), checkpoint file (.safetensors), book-format weights (.pkl, .npz with W1, b1, W2, b2, ...), or an ONNX model (.onnx, e.g. from torch.onnx.export); one model: several are served with --model-repository")
	fs.StringVar(&activation, "activation", "sigmoid", "hidden activation for book-format weights (.pkl, .npz): "+strings.Join(models.Activations(), ", "))
	fs.StringVar(&name, "name", "", "model name in the URLs (default: the embedded model's name or the file's base name)")
	fs.StringVar(&repo, "model-repository", "", "serve every model file in this directory (.safetensors, .pkl, .npz, .onnx) under its base name, instead of --model")
	fs.StringVar(&addr, "addr", "localhost:8080", "address to listen on (host:port; :8080 for every interface)")
	fs.StringVar(&grpcAddr, "grpc-addr", "", "also serve the v2 protocol over gRPC on this address (host:port; empty: no gRPC)")
	fs.IntVar(&opt.MaxBatch, "max-batch", 32, "samples per model run at most (dynamic batching)")
	fs.DurationVar(&opt.MaxDelay, "max-delay", 0, "how long a batch waits for more requests (0: no wait; requests that queue while the workers are busy still batch)")
	fs.IntVar(&opt.Workers, "workers", runtime.GOMAXPROCS(0), "model runners, each with its own compiled graphs")
	fs.IntVar(&opt.QueueSize, "queue", 1024, "requests waiting at most; beyond, 503 at once")
	fs.Int64Var(&opt.MaxBodyBytes, "max-body", 8<<20, "request body size limit in bytes")
	fs.IntVar(&opt.MaxSamples, "max-samples", 1024, "samples in one inference request at most")
	fs.Int64Var(&opt.MaxAnswerBytes, "max-answer", 32<<20, "bytes of one answer at most, estimated before the model runs (beyond: 413)")
	fs.Int64Var(&opt.MaxMemory, "max-memory", 1<<30, "bytes that requests in flight may hold together (bodies, tensors, answers, decoded images); beyond, requests wait, then 503")
	fs.Int64Var(&opt.ActivationBudget, "activation-budget", serve.ActivationBudget, "bytes of activations a model's compiled graphs may hold (every padded batch up to --max-batch, every worker); a model over it does not start")
	fs.Int64Var(&opt.MaxImagePixels, "max-image-pixels", 16<<20, "pixels of an uploaded image at most")
	fs.Int64Var(&opt.MaxDecodeMemory, "max-decode-memory", 128<<20, "bytes decoding one uploaded image may allocate (pixels x bytes per pixel of its colour model)")
	fs.IntVar(&opt.MaxDecodes, "max-decodes", 2, "uploaded images decoded at once; more wait")
	fs.StringVar(&opt.CORSOrigin, "cors-origin", "", "let this origin (or \"*\") call the API from a browser; by default cross-origin requests are refused")
	fs.DurationVar(&opt.ReadTimeout, "read-timeout", 30*time.Second, "time to read a whole request")
	fs.DurationVar(&opt.WriteTimeout, "write-timeout", 30*time.Second, "time to answer a request once read")
	fs.DurationVar(&opt.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGINT/SIGTERM, how long requests in flight may still take")
	fs.DurationVar(&opt.Drain, "drain", time.Second, "on SIGINT/SIGTERM, how long new requests on open connections get 503 with Connection: close before the listener closes")
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
		{"--max-answer must be at least 1024 bytes", opt.MaxAnswerBytes < 1024},
		{"--max-memory must be at least 16 MiB", opt.MaxMemory < 16<<20},
		{"--activation-budget must be at least 1 MiB", opt.ActivationBudget < 1<<20},
		{"--max-image-pixels must be at least 784", opt.MaxImagePixels < 784},
		{"--max-decode-memory must be at least 1 MiB", opt.MaxDecodeMemory < 1<<20},
		{"--max-decodes must be at least 1", opt.MaxDecodes < 1},
		{"--drain must not be negative", opt.Drain < 0},
		{"--model and --model-repository: give one", repo != "" && fs.Changed("model")},
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
	if opt.Drain == 0 {
		opt.Drain = -1 // Options: 0 is the default, negative none
	}
	if name == "" {
		name = modelName(model)
	}
	if !validName.MatchString(name) {
		return cli.Usagef("--name %q: use letters, digits, '.', '_' and '-'", name)
	}
	opt.Name = name
	// The Go heap may grow to twice what is live before a collection; a
	// soft limit a little above --max-memory keeps the process near it.
	debug.SetMemoryLimit(opt.MaxMemory + 256<<20)
	var srv *serve.Server
	var err error
	if repo != "" {
		srv, err = serve.NewRepository(repo, func(path string) (*graph.Model, error) {
			return models.Open(path, models.OpenOptions{Activation: activation})
		}, opt)
	} else {
		var m *graph.Model
		if m, err = models.Open(model, models.OpenOptions{Activation: activation}); err != nil {
			return err
		}
		srv, err = serve.New(m, opt)
	}
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	url := "http://" + ln.Addr().String()
	if repo != "" {
		fmt.Fprintf(stdout, "serving the models of %s (%s) on %s/ (KServe v2: %s/v2/models/NAME, metrics: %s/metrics)\n", repo, strings.Join(srv.ModelNames(), ", "), url, url, url)
	} else {
		fmt.Fprintf(stdout, "serving model %s on %s/ (KServe v2: %s/v2/models/%s, metrics: %s/metrics)\n", name, url, url, name, url)
	}
	grpcDone := make(chan error, 1)
	grpcDone <- nil
	if grpcAddr != "" {
		gln, err := net.Listen("tcp", grpcAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--grpc-addr: %w", err)
		}
		fmt.Fprintf(stdout, "serving gRPC (inference.GRPCInferenceService) on %s\n", gln.Addr())
		<-grpcDone
		go func() { grpcDone <- srv.ServeGRPC(ctx, srv.GRPCServer(), gln) }()
	}
	go func() {
		start := time.Now()
		if err := srv.WaitReady(ctx); err == nil {
			fmt.Fprintf(stderr, "serve: ready (model compiled in %.2f s)\n", time.Since(start).Seconds())
		} else if ctx.Err() == nil {
			fmt.Fprintf(stderr, "serve: not ready: %v\n", err)
		}
	}()
	err = srv.Serve(ctx, ln)
	if gerr := <-grpcDone; err == nil && gerr != nil {
		err = fmt.Errorf("gRPC: %w", gerr)
	}
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
