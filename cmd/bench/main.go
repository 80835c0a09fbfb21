// Command bench measures what scripts/bench.sh needs from tapenet beyond
// cmd/infer and cmd/train: the latency of one image at a time, the
// GFLOP/s of the matrix multiply Gorgonia runs on, and the CPU's float32
// FMA peak.
//
// Usage:
//
//	go run ./cmd/bench --latency MODEL [flags]
//	go run ./cmd/bench --sgemm N [flags]
//	go run ./cmd/bench --peak [--reps N]
//
// Run with --help for the flags.
package main

import (
	"encoding/json"
	"fmt"
	tblas "github.com/tapenet/tapenet/blas" // tapenet's Sgemm as Gorgonia's BLAS
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/blas"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/models"
)

const usage = `
bench: time one MNIST image at a time through a model (batch 1), or the
float32 matrix multiply (Sgemm) every model runs on. Prints one JSON object.

Usage:
  go run ./cmd/bench --latency MODEL [--images N] [--warmup N]
  go run ./cmd/bench --sgemm N [--reps N]
  go run ./cmd/bench --peak [--reps N]

--latency classifies the first --images test images one at a time with
graph.Predictor.Forward, after --warmup calls that are not counted, and
prints the median and 99th percentile of the per-call time in µs (each call:
build the (1, sample...) input tensor, run the graph, take the argmax) and
the accuracy over those images.

--sgemm multiplies two random N×N float32 matrices (C = A·B) with the BLAS
that Gorgonia uses (tapenet's Sgemm; OpenBLAS when built with -tags
openblas) --reps times after one warm-up call, and prints the best and the
median GFLOP/s (2·N³ floating-point operations per call).

--peak measures the CPU's float32 FMA throughput with a loop of
independent FMAs on registers only (AVX-512, else AVX2/FMA; amd64 only), on
one core and on every core (GOMAXPROCS) at once, best of --reps calls: the
ceiling any float32 workload's GFLOP/s is a fraction of.

scripts/bench.sh runs them beside PyTorch and ONNX Runtime.

Examples:
  go run ./cmd/bench --latency mlp
  go run ./cmd/bench --latency convnet --images 500 --warmup 50
  go run ./cmd/bench --sgemm 2048 --reps 5
  go run ./cmd/bench --peak
`

type options struct {
	latency        string
	images, warmup int
	sgemm, reps    int
	peak           bool
}

func main() { cli.Main("bench", run) }

func run(args []string, stdout, stderr io.Writer) error {
	var o options
	fs := cli.NewFlags("bench", usage, stdout)
	fs.StringVar(&o.latency, "latency", "", "measure batch-1 latency of this model: embedded name ("+strings.Join(models.Names(), ", ")+") or a file cmd/infer --model reads")
	fs.IntVar(&o.images, "images", 2000, "with --latency: test images to time, one call each")
	fs.IntVar(&o.warmup, "warmup", 200, "with --latency: untimed calls first")
	fs.IntVar(&o.sgemm, "sgemm", 0, "measure the Sgemm of two N×N matrices")
	fs.IntVar(&o.reps, "reps", 5, "with --sgemm or --peak: timed calls")
	fs.BoolVar(&o.peak, "peak", false, "measure the CPU's float32 FMA peak (GFLOP/s, one core and all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case btoi(o.latency != "")+btoi(o.sgemm != 0)+btoi(o.peak) != 1:
		return cli.Usagef("give exactly one of --latency MODEL, --sgemm N or --peak")
	case o.sgemm < 0:
		return cli.Usagef("--sgemm must be positive, got %d", o.sgemm)
	case o.images < 1:
		return cli.Usagef("--images must be at least 1, got %d", o.images)
	case o.warmup < 0:
		return cli.Usagef("--warmup must not be negative, got %d", o.warmup)
	case o.reps < 1:
		return cli.Usagef("--reps must be at least 1, got %d", o.reps)
	}
	var res any
	var err error
	switch {
	case o.latency != "":
		res, err = latency(o)
	case o.peak:
		res, err = peak(o.reps)
	default:
		res = sgemm(o.sgemm, o.reps)
	}
	if err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

type latencyResult struct {
	Model    string  `json:"model"`
	Images   int     `json:"images"`
	MedianUS float64 `json:"median_us"`
	P99US    float64 `json:"p99_us"`
	MinUS    float64 `json:"min_us"`
	Accuracy float64 `json:"accuracy"`
}

func latency(o options) (*latencyResult, error) {
	m, err := models.Open(o.latency)
	if err != nil {
		return nil, err
	}
	if n := len(m.Inputs()); n != 1 {
		return nil, fmt.Errorf("model %s has %d inputs; bench feeds one (the images)", o.latency, n)
	}
	opt := datasets.Options{Normalize: true, Flatten: len(m.Input()) == 1, SampleShape: m.Input()}
	set, err := datasets.Load("", datasets.Test, opt)
	if err != nil {
		return nil, err
	}
	n := min(o.images, set.Len())
	data, per := set.Data(), set.SampleSize()
	shape := append([]int{1}, m.Input()...)
	pr := graph.NewPredictor(m)
	classify := func(i int) (int, error) {
		x := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(slices.Clone(data[i*per:(i+1)*per])))
		y, err := pr.Forward(x)
		if err != nil {
			return 0, err
		}
		row := y.Data().([]float32)
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		return best, nil
	}
	for i := range o.warmup {
		if _, err := classify(i % set.Len()); err != nil {
			return nil, err
		}
	}
	times := make([]float64, n)
	correct := 0
	for i := range n {
		start := time.Now()
		p, err := classify(i)
		times[i] = float64(time.Since(start).Nanoseconds()) / 1e3
		if err != nil {
			return nil, err
		}
		if p == set.Labels[i] {
			correct++
		}
	}
	slices.Sort(times)
	return &latencyResult{Model: o.latency, Images: n, MedianUS: quantile(times, 0.5), P99US: quantile(times, 0.99),
		MinUS: times[0], Accuracy: float64(correct) / float64(n)}, nil
}

// quantile returns the q-quantile of sorted values, interpolated linearly
// between the nearest ranks (numpy.percentile's default).
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(pos)
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (pos-float64(lo))*(sorted[lo+1]-sorted[lo])
}

type sgemmResult struct {
	N            int     `json:"n"`
	BLAS         string  `json:"blas"`
	BestGFLOPS   float64 `json:"best_gflops"`
	MedianGFLOPS float64 `json:"median_gflops"`
}

func sgemm(n, reps int) *sgemmResult {
	rng := rand.New(rand.NewPCG(1, 2))
	mat := func() []float32 {
		s := make([]float32, n*n)
		for i := range s {
			s[i] = rng.Float32()*2 - 1
		}
		return s
	}
	a, b, c := mat(), mat(), make([]float32, n*n)
	impl := gorgonia.WhichBLAS()
	call := func() { impl.Sgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, a, n, b, n, 0, c, n) }
	call()
	gf := make([]float64, reps)
	for i := range gf {
		start := time.Now()
		call()
		gf[i] = 2 * float64(n) * float64(n) * float64(n) / float64(time.Since(start).Nanoseconds())
	}
	slices.Sort(gf)
	return &sgemmResult{N: n, BLAS: tblas.Name(), BestGFLOPS: gf[len(gf)-1], MedianGFLOPS: quantile(gf, 0.5)}
}
