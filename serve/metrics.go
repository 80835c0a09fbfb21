package serve

import (
	"context"
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// metrics are one server's Prometheus metrics, in a registry of its own
// (never the process-wide default), so that servers in one process (tests)
// do not mix their counts.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	inFlight  prometheus.Gauge
	grpcCalls *prometheus.CounterVec
	batchSize *prometheus.HistogramVec
	runTime   *prometheus.HistogramVec
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tapenet_http_requests_total", Help: "HTTP requests answered, by model (empty for none), route pattern and status code.",
		}, []string{"model", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tapenet_http_request_duration_seconds", Help: "Time from a request's arrival to its answer, by model and route pattern.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18), // 0.1 ms .. 13 s
		}, []string{"model", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tapenet_http_requests_in_flight", Help: "Requests being handled now.",
		}),
		grpcCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tapenet_grpc_requests_total", Help: "gRPC calls answered, by model (empty for none), method and status code.",
		}, []string{"model", "method", "code"}),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tapenet_batch_size", Help: "Samples per model run (dynamic batches, before padding), by model.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11), // 1 .. 1024
		}, []string{"model"}),
		runTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tapenet_model_run_seconds", Help: "Time of one model run over a batch, by model.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16), // 50 us .. 1.6 s
		}, []string{"model"}),
	}
	reg.MustRegister(m.requests, m.latency, m.inFlight, m.grpcCalls, m.batchSize, m.runTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeBatch records one model run.
func (m *metrics) observeBatch(model string, samples int, run time.Duration) {
	m.batchSize.WithLabelValues(model).Observe(float64(samples))
	m.runTime.WithLabelValues(model).Observe(run.Seconds())
}

// forget drops an unloaded model's series.
func (m *metrics) forget(model string) {
	labels := prometheus.Labels{"model": model}
	m.requests.DeletePartialMatch(labels)
	m.grpcCalls.DeletePartialMatch(labels)
	m.latency.DeletePartialMatch(labels)
	m.batchSize.DeletePartialMatch(labels)
	m.runTime.DeletePartialMatch(labels)
}

// handler serves the registry in Prometheus' text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts requests by the model they name (only a served one:
// bounded) and the route pattern they matched (bounded: never the raw
// path), times them and tracks those in flight.
func (m *metrics) instrument(next http.Handler, known func(string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := r.Pattern // set by the ServeMux on this request
		if route == "" {
			route = "unmatched"
		}
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		model := r.PathValue("name")
		if model != "" && !known(model) {
			model = ""
		}
		m.requests.WithLabelValues(model, route, strconv.Itoa(code)).Inc()
		m.latency.WithLabelValues(model, route).Observe(time.Since(start).Seconds())
	})
}

// modelNamer is a gRPC request that names a model.
type modelNamer interface{ GetModelName() string }

// nameNamer is a gRPC request whose model is its name.
type nameNamer interface{ GetName() string }

// grpcInterceptor counts gRPC calls by model (a served one only), method
// and status code.
func (m *metrics) grpcInterceptor(known func(string) bool) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		resp, err := handler(ctx, req)
		model := ""
		switch r := req.(type) {
		case modelNamer:
			model = r.GetModelName()
		case nameNamer:
			model = r.GetName()
		}
		if model != "" && !known(model) {
			model = ""
		}
		m.grpcCalls.WithLabelValues(model, path.Base(info.FullMethod), status.Code(err).String()).Inc()
		return resp, err
	}
}
