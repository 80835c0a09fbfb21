package serve

import (
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"io/fs"
	"math"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/imageprep"
)

//go:embed web
var webFiles embed.FS

// Options configure a Server; zero fields take the defaults shown.
type Options struct {
	Name            string        // model name in the URLs (default "model")
	Version         string        // server version in GET /v2 (default "dev")
	MaxBatch        int           // samples per model run at most (default 32)
	MaxDelay        time.Duration // how long a batch waits for more requests (default 0: no wait, it takes the requests already queued)
	Workers         int           // model runners, each with its own Predictor (default GOMAXPROCS)
	QueueSize       int           // requests waiting at most before 503 (default 1024)
	MaxBodyBytes    int64         // request body size limit (default 8 MiB)
	MaxSamples      int           // samples in one inference request at most (default 1024)
	MaxImagePixels  int64         // pixels of an uploaded image at most (default 16 Mi)
	ReadTimeout     time.Duration // whole request read (default 30 s)
	WriteTimeout    time.Duration // from the end of the headers to the end of the answer (default 30 s)
	ShutdownTimeout time.Duration // how long Serve waits for in-flight requests after its context ends (default 30 s)
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
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
	o.MaxDelay = max(o.MaxDelay, 0)
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 8 << 20
	}
	if o.MaxImagePixels <= 0 {
		o.MaxImagePixels = 16 << 20
	}
	defDur(&o.ReadTimeout, 30*time.Second)
	defDur(&o.WriteTimeout, 30*time.Second)
	defDur(&o.ShutdownTimeout, 30*time.Second)
}

// modelVersion is the one version a Server serves of its model.
const modelVersion = "1"

// Server serves one model over HTTP: the Open Inference Protocol (KServe
// v2) REST API, an image classification endpoint, a draw-a-digit page and
// Prometheus metrics. It is an http.Handler; Serve runs it on a listener
// with timeouts and graceful shutdown. Create one with New and release its
// workers with Close.
type Server struct {
	opt       Options
	m         *graph.Model
	input     graph.InputSpec
	outputs   []string
	softmax   bool // first output is already probabilities
	batch     *batcher
	metrics   *metrics
	handler   http.Handler
	warmed    chan struct{} // closed once the workers have compiled the model (or failed to)
	stopping  atomic.Bool   // Close or shutdown began
	closeOnce sync.Once
}

// New returns a Server for m, a model of one input, and starts its
// workers. The workers compile the model in the background; the server
// reports ready (GET /v2/health/ready) once they have. Options are checked:
// a model of several inputs is an error.
func New(m *graph.Model, opt Options) (*Server, error) {
	opt.defaults()
	if n := len(m.Inputs()); n != 1 {
		return nil, fmt.Errorf("serve: model %s has %d inputs; the server feeds one", opt.Name, n)
	}
	if opt.MaxBatch > 4096 {
		return nil, fmt.Errorf("serve: max batch %d is more than 4096", opt.MaxBatch)
	}
	s := &Server{opt: opt, m: m, input: m.Inputs()[0], outputs: m.Outputs(), metrics: newMetrics(opt.Name)}
	s.softmax = m.OutputLayer(0).Kind() == "softmax"
	s.batch = newBatcher(m, opt.Workers, opt.MaxBatch, opt.MaxDelay, opt.QueueSize, s.metrics.observeBatch)
	s.warmed = make(chan struct{})
	go func() {
		s.batch.warm.Wait()
		close(s.warmed)
	}()
	s.handler = s.metrics.instrument(s.routes())
	return s, nil
}

// WaitReady blocks until the workers have compiled the model (or ctx
// ends) and returns the warm-up's error, if any.
func (s *Server) WaitReady(ctx context.Context) error {
	select {
	case <-s.warmed:
		return s.batch.warmErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the workers; requests still queued fail with 503.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.stopping.Store(true)
		s.batch.close()
	})
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Serve answers requests on ln until ctx ends, then shuts down gracefully:
// it stops accepting connections, reports not ready, lets requests in
// flight finish (up to Options.ShutdownTimeout) and stops the workers.
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
	handle("POST", "/v1/classify", s.classify)
	mux.Handle("GET /metrics", s.metrics.handler())
	web, _ := fs.Sub(webFiles, "web")
	files := http.FileServerFS(web)
	mux.Handle("GET /{$}", files)
	for _, f := range []string{"/app.js", "/style.css", "/favicon.svg"} {
		mux.Handle("GET "+f, files)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorResponse{Error: msg})
}

// isReady reports whether the model is compiled and the server not stopping.
func (s *Server) isReady() bool {
	select {
	case <-s.warmed:
		return s.batch.warmErr == nil && !s.stopping.Load()
	default:
		return false
	}
}

func (s *Server) healthReady(w http.ResponseWriter, r *http.Request) {
	if !s.isReady() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) serverMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, serverMetadata{Name: "tapenet", Version: s.opt.Version, Extensions: []string{}})
}

// checkModel answers 404 and returns false unless the path names this
// server's model (and version, when given).
func (s *Server) checkModel(w http.ResponseWriter, r *http.Request) bool {
	if name := r.PathValue("name"); name != s.opt.Name {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown model %q (this server serves %q)", name, s.opt.Name))
		return false
	}
	if v := r.PathValue("version"); v != "" && v != modelVersion {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown version %q of model %q (it has version %q)", v, s.opt.Name, modelVersion))
		return false
	}
	return true
}

func (s *Server) modelMetadata(w http.ResponseWriter, r *http.Request) {
	if !s.checkModel(w, r) {
		return
	}
	md := modelMetadata{
		Name: s.opt.Name, Versions: []string{modelVersion}, Platform: "tapenet",
		Inputs: []tensorMetadata{{Name: s.input.Name, Datatype: "FP32", Shape: append([]int{-1}, s.input.Shape...)}},
	}
	for i, name := range s.outputs {
		md.Outputs = append(md.Outputs, tensorMetadata{Name: name, Datatype: "FP32", Shape: append([]int{-1}, s.m.OutputShape(i)...)})
	}
	writeJSON(w, http.StatusOK, md)
}

func (s *Server) modelReady(w http.ResponseWriter, r *http.Request) {
	if !s.checkModel(w, r) {
		return
	}
	s.healthReady(w, r)
}

// requestError is a mistake in a request: HTTP status and message.
type requestError struct {
	code int
	msg  string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// answerError writes err with the status it calls for.
func answerError(w http.ResponseWriter, err error) {
	var re *requestError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &re):
		writeError(w, re.code, re.msg)
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit))
	case errors.Is(err, ErrBusy), errors.Is(err, ErrStopping):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "request cancelled: "+err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// readBody reads the whole body, at most MaxBodyBytes.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > s.opt.MaxBodyBytes {
		return nil, &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes is larger than %d bytes", r.ContentLength, s.opt.MaxBodyBytes)}
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes))
}

func (s *Server) infer(w http.ResponseWriter, r *http.Request) {
	if !s.checkModel(w, r) {
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		answerError(w, err)
		return
	}
	var req inferRequest
	if err := json.Unmarshal(body, &req); err != nil {
		answerError(w, badRequest("invalid JSON: %v", err))
		return
	}
	x, n, err := s.parseInput(req)
	if err != nil {
		answerError(w, err)
		return
	}
	wanted, err := s.wantedOutputs(req.Outputs)
	if err != nil {
		answerError(w, err)
		return
	}
	outs, err := s.batch.submit(r.Context(), x, n)
	if err != nil {
		answerError(w, err)
		return
	}
	resp := inferResponse{ModelName: s.opt.Name, ModelVersion: modelVersion, ID: req.ID}
	for _, i := range wanted {
		resp.Outputs = append(resp.Outputs, responseOutput{
			Name: s.outputs[i], Datatype: "FP32",
			Shape: append([]int{n}, s.m.OutputShape(i)...), Data: outs[i],
		})
	}
	writeJSON(w, http.StatusOK, resp)
}

// parseInput checks the request's one input tensor against the model and
// returns its values and number of samples.
func (s *Server) parseInput(req inferRequest) ([]float32, int, error) {
	switch len(req.Inputs) {
	case 0:
		return nil, 0, badRequest("request has no inputs; the model has one, %q", s.input.Name)
	case 1:
	default:
		return nil, 0, badRequest("request has %d inputs; the model has one, %q", len(req.Inputs), s.input.Name)
	}
	in := req.Inputs[0]
	if in.Name != s.input.Name {
		return nil, 0, badRequest("unknown input %q (the model's input is %q)", in.Name, s.input.Name)
	}
	if in.Datatype != "FP32" && in.Datatype != "UINT8" {
		return nil, 0, badRequest("input %q: datatype %q not supported (FP32, or UINT8 pixels 0-255)", in.Name, in.Datatype)
	}
	allowed := sampleShapes(s.input.Shape)
	want := func() string {
		var forms []string
		for _, sh := range allowed {
			forms = append(forms, fmtShape(append([]int{-1}, sh...)))
		}
		return strings.Join(forms, " or ")
	}
	if len(in.Shape) < 2 {
		return nil, 0, badRequest("input %q: shape %s, want %s (batch first)", in.Name, fmtShape(in.Shape), want())
	}
	shape := make([]int, len(in.Shape))
	for i, d := range in.Shape {
		if d < 1 || d > math.MaxInt32 {
			return nil, 0, badRequest("input %q: shape %s has a dimension below 1", in.Name, fmtShape(in.Shape))
		}
		shape[i] = int(d)
	}
	if !slices.ContainsFunc(allowed, func(a []int) bool { return slices.Equal(a, shape[1:]) }) {
		return nil, 0, badRequest("input %q: shape %s, want %s (batch first)", in.Name, fmtShape(in.Shape), want())
	}
	n := shape[0]
	if n > s.opt.MaxSamples {
		return nil, 0, &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("input %q: %d samples, at most %d in one request", in.Name, n, s.opt.MaxSamples)}
	}
	if len(in.Data) == 0 || string(in.Data) == "null" {
		return nil, 0, badRequest("input %q: no data", in.Name)
	}
	x, err := parseData(in.Data, shape, n*product(s.input.Shape), in.Datatype)
	if err != nil {
		return nil, 0, badRequest("input %q: %v", in.Name, err)
	}
	return x, n, nil
}

// fmtShape writes a shape as JSON writes it: [1,784].
func fmtShape[T int | int64](shape []T) string {
	return strings.ReplaceAll(fmt.Sprint(shape), " ", ",")
}

// wantedOutputs returns the indices of the outputs a request asks for: all
// when it names none.
func (s *Server) wantedOutputs(req []requestOutput) ([]int, error) {
	if len(req) == 0 {
		idx := make([]int, len(s.outputs))
		for i := range idx {
			idx[i] = i
		}
		return idx, nil
	}
	var idx []int
	for _, o := range req {
		i := slices.Index(s.outputs, o.Name)
		if i < 0 {
			return nil, badRequest("unknown output %q (the model's outputs: %s)", o.Name, strings.Join(s.outputs, ", "))
		}
		idx = append(idx, i)
	}
	return idx, nil
}

// classifyResponse is the answer of POST /v1/classify.
type classifyResponse struct {
	Model         string    `json:"model"`
	Class         int       `json:"class"`
	Probabilities []float32 `json:"probabilities"`
	// Image is the 28x28 picture the model saw, a PNG in base64.
	Image string `json:"image"`
}

// classify answers an image upload (the raw body, or a multipart form's
// first file) with the class, the probabilities and the framed image.
func (s *Server) classify(w http.ResponseWriter, r *http.Request) {
	if product(s.input.Shape) != imageprep.Side*imageprep.Side {
		answerError(w, badRequest("model %q takes samples of shape %v, not 28x28 images", s.opt.Name, s.input.Shape))
		return
	}
	data, err := s.upload(w, r)
	if err != nil {
		answerError(w, err)
		return
	}
	img, err := imageprep.DecodeLimited(bytes.NewReader(data), s.opt.MaxBodyBytes, s.opt.MaxImagePixels)
	if errors.Is(err, imageprep.ErrTooLarge) {
		answerError(w, &requestError{http.StatusRequestEntityTooLarge, err.Error()})
		return
	}
	if err != nil {
		answerError(w, badRequest("%v", err))
		return
	}
	g, err := imageprep.Frame(img, imageprep.Options{})
	if err != nil {
		answerError(w, &requestError{http.StatusUnprocessableEntity, err.Error()})
		return
	}
	outs, err := s.batch.submit(r.Context(), imageprep.Values(g), 1)
	if err != nil {
		answerError(w, err)
		return
	}
	probs := outs[0]
	if !s.softmax {
		probs = softmax(probs)
	}
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, g); err != nil {
		answerError(w, fmt.Errorf("encode the framed image: %w", err))
		return
	}
	class := 0
	for c, p := range probs {
		if p > probs[class] {
			class = c
		}
	}
	writeJSON(w, http.StatusOK, classifyResponse{
		Model: s.opt.Name, Class: class, Probabilities: probs,
		Image: base64.StdEncoding.EncodeToString(pngBuf.Bytes()),
	})
}

// upload returns the uploaded image's bytes: a multipart form's "image"
// file (or its first file), or else the body itself.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		body, err := s.readBody(w, r)
		if err == nil && len(body) == 0 {
			err = badRequest("empty body: send an image (" + imageprep.FormatList + ") as the body or as a multipart file")
		}
		return body, err
	}
	if r.ContentLength > s.opt.MaxBodyBytes {
		return nil, &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes is larger than %d bytes", r.ContentLength, s.opt.MaxBodyBytes)}
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, badRequest("multipart form: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, badRequest("multipart form has no file: send the image as field \"image\"")
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			return nil, badRequest("multipart form: %v", err)
		}
		if part.FormName() == "image" || part.FileName() != "" {
			return readPart(part)
		}
		part.Close()
	}
}

func readPart(p *multipart.Part) ([]byte, error) {
	defer p.Close()
	b, err := io.ReadAll(p)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, badRequest("multipart form: %v", err)
	}
	if len(b) == 0 {
		return nil, badRequest("the uploaded file is empty")
	}
	return b, nil
}

// softmax returns the probabilities of one row of logits.
func softmax(row []float32) []float32 {
	top := slices.Max(row)
	out := make([]float32, len(row))
	sum := 0.0
	for i, v := range row {
		e := math.Exp(float64(v - top))
		out[i] = float32(e)
		sum += e
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / sum)
	}
	return out
}
