package serve

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/ops"
	"github.com/tapenet/tapenet/imageprep"
)

//go:embed web
var webFiles embed.FS

// Options configure a Server; zero fields take the defaults shown.
type Options struct {
	Name             string        // model name in the URLs for New (default "model")
	Version          string        // server version in GET /v2 (default "dev")
	MaxBatch         int           // samples per model run at most (default 32)
	MaxDelay         time.Duration // how long a batch waits for more requests (default 0: no wait, it takes the requests already queued)
	Workers          int           // model runners per model, each with its own Predictor (default GOMAXPROCS)
	QueueSize        int           // requests waiting per model at most before 503 (default 1024)
	MaxBodyBytes     int64         // request body size limit (default 8 MiB)
	MaxSamples       int           // samples in one inference request at most (default 1024)
	MaxAnswerBytes   int64         // bytes of one answer at most, estimated before the model runs (default 32 MiB)
	MaxMemory        int64         // bytes all requests in flight may hold (bodies, tensors, answers, decoded images; default 1 GiB)
	MemoryWait       time.Duration // how long a request waits for room in MaxMemory before 503 (default 5 s)
	ActivationBudget int64         // bytes of activations one model's compiled graphs may hold (default ActivationBudget, 256 MiB)
	MaxImagePixels   int64         // pixels of an uploaded image at most (default 16 Mi)
	MaxDecodeMemory  int64         // bytes decoding one uploaded image may allocate (default 128 MiB; see imageprep.DecodeCost)
	MaxDecodes       int           // uploaded images decoded at once; more wait (default 2)
	CORSOrigin       string        // an origin allowed to call the API from a browser ("*" for any); empty: cross-origin requests are refused
	ReadTimeout      time.Duration // whole request read (default 30 s)
	WriteTimeout     time.Duration // from the end of the headers to the end of the answer (default 30 s)
	ShutdownTimeout  time.Duration // how long Serve waits for in-flight requests after its context ends (default 30 s)
	Drain            time.Duration // after its context ends, how long Serve keeps the listener open answering 503 with Connection: close (default 1 s)
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def64 := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.Name == "" {
		o.Name = "model"
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	def(&o.MaxBatch, 32)
	def(&o.Workers, runtime.GOMAXPROCS(0))
	def(&o.QueueSize, 1024)
	def(&o.MaxSamples, 1024)
	def(&o.MaxDecodes, 2)
	o.MaxDelay = max(o.MaxDelay, 0)
	def64(&o.MaxBodyBytes, 8<<20)
	def64(&o.MaxAnswerBytes, 32<<20)
	def64(&o.MaxMemory, 1<<30)
	def64(&o.ActivationBudget, ActivationBudget)
	def64(&o.MaxImagePixels, 16<<20)
	def64(&o.MaxDecodeMemory, 128<<20)
	defDur(&o.MemoryWait, 5*time.Second)
	defDur(&o.ReadTimeout, 30*time.Second)
	defDur(&o.WriteTimeout, 30*time.Second)
	defDur(&o.ShutdownTimeout, 30*time.Second)
	if o.Drain == 0 {
		o.Drain = time.Second
	}
	o.Drain = max(o.Drain, 0)
}

// modelVersion is the one version a Server serves of each model.
const modelVersion = "1"

// Server serves models over HTTP (and gRPC, see GRPCServer): the Open
// Inference Protocol (KServe v2) REST API with Triton's binary tensor,
// classification and model repository extensions, an image classification
// endpoint, a draw-a-digit page and Prometheus metrics. It is an
// http.Handler; Serve runs it on a listener with timeouts and graceful
// shutdown. Create one with New (one model) or NewRepository (a directory
// of models) and release its workers with Close.
type Server struct {
	opt      Options
	mu       sync.RWMutex
	models   map[string]*model
	repo     *repository // nil for New
	metrics  *metrics
	budget   *memoryBudget
	decoder  *imageprep.Decoder
	handler  http.Handler
	stopping atomic.Bool // shutdown began: not ready
	draining atomic.Bool // shutdown began: new requests get 503 and Connection: close
	closed   atomic.Bool
	once     sync.Once
}

func newServer(opt Options) *Server {
	opt.defaults()
	s := &Server{opt: opt, models: map[string]*model{}, metrics: newMetrics(), budget: newMemoryBudget(opt.MaxMemory)}
	s.decoder = imageprep.NewDecoder(imageprep.Limits{Bytes: opt.MaxBodyBytes, Pixels: opt.MaxImagePixels, Memory: opt.MaxDecodeMemory}, opt.MaxDecodes)
	s.handler = s.metrics.instrument(s.routes(), s.known)
	return s
}

// New returns a Server for m under the name Options.Name and starts its
// workers. The workers compile the model in the background; the server
// reports ready (GET /v2/health/ready) once they have. A model whose
// compiled graphs would hold more activations than Options.ActivationBudget
// at Options.MaxBatch is an error that names the largest batch that fits.
func New(m *graph.Model, opt Options) (*Server, error) {
	if opt.MaxBatch > 4096 {
		return nil, fmt.Errorf("serve: max batch %d is more than 4096", opt.MaxBatch)
	}
	s := newServer(opt)
	if err := s.add(s.opt.Name, m); err != nil {
		return nil, err
	}
	return s, nil
}

// add starts serving m under name.
func (s *Server) add(name string, m *graph.Model) error {
	md, err := newModel(name, m, s.opt, s.metrics.observeBatch)
	if err != nil {
		return err
	}
	s.mu.Lock()
	old := s.models[name]
	s.models[name] = md
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
	return nil
}

// lookupModel returns the model served under name, or nil.
func (s *Server) lookupModel(name string) *model {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.models[name]
}

// known reports whether name is a served model (bounded metric labels).
func (s *Server) known(name string) bool { return s.lookupModel(name) != nil }

// modelNames returns the served models' names, sorted.
func (s *Server) modelNames() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.models))
	for n := range s.models {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// WaitReady blocks until every model's workers have compiled it (or ctx
// ends) and returns the first warm-up error, if any.
func (s *Server) WaitReady(ctx context.Context) error {
	for _, name := range s.modelNames() {
		md := s.lookupModel(name)
		if md == nil {
			continue
		}
		select {
		case <-md.warmed:
			if md.batch.warmErr != nil {
				return fmt.Errorf("model %s: %w", name, md.batch.warmErr)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Close stops the workers; requests still queued fail with 503.
func (s *Server) Close() {
	s.once.Do(func() {
		s.stopping.Store(true)
		s.closed.Store(true)
		s.mu.Lock()
		models := s.models
		s.models = map[string]*model{}
		s.mu.Unlock()
		for _, md := range models {
			md.close()
		}
	})
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Serve answers requests on ln until ctx ends, then shuts down gracefully:
// it reports not ready and, for Options.Drain, answers new requests on
// kept-alive connections with 503 and Connection: close (clients move to
// another replica rather than meet a reset); then it stops accepting
// connections, lets requests in flight finish (up to
// Options.ShutdownTimeout) and stops the workers.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: min(s.opt.ReadTimeout, 10*time.Second),
		ReadTimeout:       s.opt.ReadTimeout,
		WriteTimeout:      s.opt.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	s.stopping.Store(true) // not ready from now on
	s.draining.Store(true)
	if s.opt.Drain > 0 {
		select {
		case <-time.After(min(s.opt.Drain, s.opt.ShutdownTimeout)):
		case err := <-errc:
			s.Close()
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.opt.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	<-errc // http.ErrServerClosed
	s.Close()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(method, path string, h http.HandlerFunc) {
		mux.HandleFunc(method+" "+path, h)
		// The same path with another method: 405 in JSON, not the
		// ServeMux's text.
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", method)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: method not allowed (use %s)", r.Method, r.URL.Path, method))
		})
	}
	handle("GET", "/v2/health/live", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	handle("GET", "/v2/health/ready", s.healthReady)
	handle("GET", "/v2", s.serverMetadata)
	for _, base := range []string{"/v2/models/{name}", "/v2/models/{name}/versions/{version}"} {
		handle("GET", base, s.modelMetadata)
		handle("GET", base+"/ready", s.modelReady)
		handle("POST", base+"/infer", s.infer)
	}
	handle("POST", "/v2/repository/index", s.repositoryIndex)
	handle("POST", "/v2/repository/models/{name}/load", s.repositoryLoad)
	handle("POST", "/v2/repository/models/{name}/unload", s.repositoryUnload)
	handle("POST", "/v1/classify", s.classify)
	handle("POST", "/v1/models/{name}/classify", s.classify)
	mux.Handle("GET /metrics", s.metrics.handler())
	web, _ := fs.Sub(webFiles, "web")
	files := http.FileServerFS(web)
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.imageModel("") == nil {
			writeError(w, http.StatusNotFound, "no model served here takes a 28x28 image: the page needs one (the API is under /v2)")
			return
		}
		files.ServeHTTP(w, r)
	})
	mux.Handle("GET /{$}", page)
	for _, f := range []string{"/app.js", "/style.css", "/favicon.svg"} {
		mux.Handle("GET "+f, page)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return s.guard(mux)
}

// guard applies the cross-origin policy and, while draining, answers 503
// with Connection: close.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r) {
			if s.opt.CORSOrigin == "" || (s.opt.CORSOrigin != "*" && s.opt.CORSOrigin != origin) {
				writeError(w, http.StatusForbidden, fmt.Sprintf("cross-origin request from %s refused (the server allows %s; see --cors-origin)", origin, orNone(s.opt.CORSOrigin)))
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", s.opt.CORSOrigin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "Inference-Header-Content-Length")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Inference-Header-Content-Length")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		if s.draining.Load() && r.Method == http.MethodPost {
			w.Header().Set("Connection", "close")
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "server shutting down: retry on another connection")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func orNone(s string) string {
	if s == "" {
		return "no other origin"
	}
	return s
}

// sameOrigin reports whether origin is the server's own (the Host the
// request was sent to).
func sameOrigin(origin string, r *http.Request) bool {
	rest, ok := strings.CutPrefix(origin, "http://")
	if !ok {
		rest, ok = strings.CutPrefix(origin, "https://")
	}
	return ok && rest == r.Host
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, fmt.Appendf(nil, `{"error":%q}`, "encoding the answer failed: "+err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorResponse{Error: msg})
}

// isReady reports whether every model is compiled and the server not
// stopping.
func (s *Server) isReady() bool {
	if s.stopping.Load() {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, md := range s.models {
		if !md.ready() {
			return false
		}
	}
	return true
}

func (s *Server) healthReady(w http.ResponseWriter, r *http.Request) {
	if !s.isReady() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// extensions are the protocol extensions the server implements.
func (s *Server) extensions() []string {
	ext := []string{"binary_tensor_data", "classification"}
	if s.repo != nil {
		ext = append(ext, "model_repository")
	}
	return ext
}

func (s *Server) serverMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, serverMetadata{Name: "tapenet", Version: s.opt.Version, Extensions: s.extensions()})
}

// findModel returns the model a name and version (empty: any) name, or
// a 404 requestError.
func (s *Server) findModel(name, version string) (*model, error) {
	md := s.lookupModel(name)
	if md == nil {
		return nil, &requestError{http.StatusNotFound, fmt.Sprintf("unknown model %q (this server serves %s)", name, joinQuoted(s.modelNames()))}
	}
	if version != "" && version != modelVersion {
		return nil, &requestError{http.StatusNotFound, fmt.Sprintf("unknown version %q of model %q (it has version %q)", version, name, modelVersion)}
	}
	return md, nil
}

// pathModel returns the model the URL names, answering 404 if none.
func (s *Server) pathModel(w http.ResponseWriter, r *http.Request) *model {
	md, err := s.findModel(r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		answerError(w, err)
		return nil
	}
	return md
}

func (s *Server) modelMetadata(w http.ResponseWriter, r *http.Request) {
	if md := s.pathModel(w, r); md != nil {
		writeJSON(w, http.StatusOK, md.metadata())
	}
}

func (s *Server) modelReady(w http.ResponseWriter, r *http.Request) {
	md := s.pathModel(w, r)
	if md == nil {
		return
	}
	if !md.ready() || s.stopping.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// requestError is a mistake in a request: HTTP status and message.
type requestError struct {
	code int
	msg  string
}

func (e *requestError) Error() string { return e.msg }

// statusOf returns the HTTP status and message for err. Failures on the
// client's side (a read that timed out, an upload cut short, a client
// that left) are 4xx, never counted as server errors.
func statusOf(err error) (int, string) {
	var re *requestError
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &re):
		return re.code, re.msg
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit)
	case errors.Is(err, ErrBusy), errors.Is(err, ErrStopping), errors.Is(err, ErrMemory), errors.Is(err, imageprep.ErrBusy):
		return http.StatusServiceUnavailable, err.Error()
	case errors.Is(err, context.Canceled):
		return 499, "request cancelled by the client" // nginx's "client closed request"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return http.StatusRequestTimeout, "reading the request timed out"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), isConnReset(err):
		return http.StatusBadRequest, "the request body ended early (the upload was aborted)"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "request timed out waiting for the model"
	case errors.Is(err, ops.ErrInputValue):
		return http.StatusBadRequest, err.Error()
	}
	return http.StatusInternalServerError, err.Error()
}

// isConnReset reports a connection the client reset mid-request.
func isConnReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && (oe.Op == "read" || oe.Op == "readfrom")
}

// answerError writes err with the status it calls for.
func answerError(w http.ResponseWriter, err error) {
	code, msg := statusOf(err)
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeError(w, code, msg)
}

// readBody reads the whole body, at most MaxBodyBytes, having taken its
// size from the memory budget (release gives it back).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (body []byte, release func(), err error) {
	if r.ContentLength > s.opt.MaxBodyBytes {
		return nil, nil, &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes is larger than %d bytes", r.ContentLength, s.opt.MaxBodyBytes)}
	}
	size := r.ContentLength
	if size < 0 {
		size = s.opt.MaxBodyBytes
	}
	release, err = s.acquire(r.Context(), 2*size, "the request body") // io.ReadAll's growth
	if err != nil {
		return nil, nil, err
	}
	body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes))
	if err != nil {
		release()
		return nil, nil, err
	}
	return body, release, nil
}

// acquire takes n bytes of the memory budget, waiting at most
// Options.MemoryWait.
func (s *Server) acquire(ctx context.Context, n int64, what string) (func(), error) {
	ctx, cancel := context.WithTimeout(ctx, s.opt.MemoryWait)
	defer cancel()
	return s.budget.acquire(ctx, n, what)
}

// parseHTTPInference reads an inference request's body: JSON, or JSON
// followed by binary tensors (Triton's binary tensor extension, told by
// the Inference-Header-Content-Length header).
func parseHTTPInference(body []byte, header string) (*inference, error) {
	jsonPart, bin := body, []byte(nil)
	if header != "" {
		n, err := strconv.ParseInt(header, 10, 64)
		if err != nil || n < 0 || n > int64(len(body)) {
			return nil, badRequest("Inference-Header-Content-Length %q: want the JSON header's length, 0 to the body's %d bytes", header, len(body))
		}
		jsonPart, bin = body[:n], body[n:]
	}
	var req inferRequest
	if err := json.Unmarshal(jsonPart, &req); err != nil {
		if header == "" && strings.ContainsRune(string(body), 0) {
			return nil, badRequest("invalid JSON: %v (binary tensor data needs the Inference-Header-Content-Length header)", err)
		}
		return nil, badRequest("invalid JSON: %v", err)
	}
	inf := &inference{id: req.ID}
	var err error
	if inf.binaryAll, _, err = paramBool(req.Parameters, "binary_data_output"); err != nil {
		return nil, badRequest("%v", err)
	}
	for _, in := range req.Inputs {
		x := inferInput{name: in.Name, datatype: in.Datatype, shape: in.Shape, json: in.Data}
		size, ok, err := paramInt(in.Parameters, "binary_data_size")
		if err != nil {
			return nil, badRequest("input %q: %v", in.Name, err)
		}
		if ok {
			if size > int64(len(bin)) {
				return nil, badRequest("input %q: binary_data_size %d, but only %d bytes of binary data remain after the JSON header", in.Name, size, len(bin))
			}
			if len(in.Data) > 0 && string(in.Data) != "null" {
				return nil, badRequest("input %q has both binary_data_size and data", in.Name)
			}
			x.raw, x.hasRaw, bin = bin[:size], true, bin[size:]
		}
		inf.inputs = append(inf.inputs, x)
	}
	if len(bin) > 0 {
		return nil, badRequest("%d bytes of binary data after the JSON header are not claimed by any input's binary_data_size", len(bin))
	}
	for _, o := range req.Outputs {
		out := inferOutput{name: o.Name}
		b, ok, err := paramBool(o.Parameters, "binary_data")
		if err != nil {
			return nil, badRequest("output %q: %v", o.Name, err)
		}
		if ok {
			out.binary = &b
		}
		k, ok, err := paramInt(o.Parameters, "classification")
		if err != nil {
			return nil, badRequest("output %q: %v", o.Name, err)
		}
		if ok {
			if k < 1 {
				return nil, badRequest("output %q: classification must be at least 1", o.Name)
			}
			out.classes = int(min(k, 1<<30))
		}
		inf.outputs = append(inf.outputs, out)
	}
	return inf, nil
}

func (s *Server) infer(w http.ResponseWriter, r *http.Request) {
	md := s.pathModel(w, r)
	if md == nil {
		return
	}
	body, release, err := s.readBody(w, r)
	if err != nil {
		answerError(w, err)
		return
	}
	defer release()
	req, err := parseHTTPInference(body, r.Header.Get("Inference-Header-Content-Length"))
	if err != nil {
		answerError(w, err)
		return
	}
	p, err := md.prepare(req, &s.opt)
	if err != nil {
		answerError(w, err)
		return
	}
	releaseWork, err := s.acquire(r.Context(), p.memory, "the request's tensors and answer")
	if err != nil {
		answerError(w, err)
		return
	}
	defer releaseWork()
	outs, err := md.run(r.Context(), p)
	if err != nil {
		answerError(w, err)
		return
	}
	writeInferResponse(w, md.name, req.id, md.answer(p, outs))
}

// writeInferResponse writes the answer: JSON, or (when any output is
// binary) the JSON header followed by the binary tensors, its length in
// Inference-Header-Content-Length. A JSON output holding NaN or an
// infinity is a 422 naming the value: JSON has no such numbers.
func writeInferResponse(w http.ResponseWriter, name, id string, outs []outputTensor) {
	resp := inferResponse{ModelName: name, ModelVersion: modelVersion, ID: id}
	var tail []byte
	for _, o := range outs {
		ro := responseOutput{Name: o.name, Shape: o.shape, Datatype: o.datatype}
		switch {
		case o.binary:
			start := len(tail)
			if o.strs != nil {
				tail = appendBytes(tail, o.strs)
			} else {
				tail = appendFP32(tail, o.f)
			}
			ro.Parameters = map[string]any{"binary_data_size": len(tail) - start}
		case o.strs != nil:
			ro.Data = o.strs
		default:
			if k := nonFinite(o.f); k >= 0 {
				writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("output %q element %d is %v, which JSON cannot carry (the inputs overflow the model's float32 arithmetic); ask for it with \"binary_data\": true", o.name, k, o.f[k]))
				return
			}
			ro.Data = o.f
		}
		resp.Outputs = append(resp.Outputs, ro)
	}
	if tail == nil {
		writeJSON(w, http.StatusOK, resp)
		return
	}
	head, err := json.Marshal(resp)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding the answer failed: "+err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Inference-Header-Content-Length", strconv.Itoa(len(head)))
	h.Set("Content-Length", strconv.Itoa(len(head)+len(tail)))
	w.WriteHeader(http.StatusOK)
	w.Write(head)
	w.Write(tail)
}

// ModelNames returns the names of the models served now, sorted.
func (s *Server) ModelNames() []string { return s.modelNames() }
