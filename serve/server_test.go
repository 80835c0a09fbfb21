package serve_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/tapenet/tapenet/blas" // tapenet's Sgemm as Gorgonia's BLAS
	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/internal/testutil"
	"github.com/tapenet/tapenet/models"
	"github.com/tapenet/tapenet/serve"
	"gorgonia.org/tensor"
)

// The embedded models and the MNIST test set, loaded once.
var (
	loadModel = func() func(string) *graph.Model {
		var mu sync.Mutex
		cache := map[string]*graph.Model{}
		return func(name string) *graph.Model {
			mu.Lock()
			defer mu.Unlock()
			if m, ok := cache[name]; ok {
				return m
			}
			m, err := models.Open(name)
			if err != nil {
				panic(err)
			}
			cache[name] = m
			return m
		}
	}()
	testSet = sync.OnceValue(func() *datasets.Set {
		set, err := datasets.MNIST(datasets.Test, datasets.Options{Normalize: true, Flatten: true})
		if err != nil {
			panic(err)
		}
		return set
	})
)

// sample returns MNIST test image i, normalised, 784 values.
func sample(i int) []float32 { return testSet().Data()[i*784 : (i+1)*784] }

// start returns a test server for the named embedded model, ready.
func start(t testing.TB, model string, opt serve.Options) (*serve.Server, *httptest.Server) {
	t.Helper()
	if opt.Name == "" {
		opt.Name = model
	}
	srv, err := serve.New(loadModel(model), opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return srv, ts
}

type response struct {
	code int
	body []byte
	hdr  http.Header
}

func do(t testing.TB, method, url, contentType string, body io.Reader) response {
	t.Helper()
	r, err := tryDo(method, url, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryDo is do for goroutines other than the test's: it returns the error.
func tryDo(method, url, contentType string, body io.Reader) (response, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return response{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	return response{resp.StatusCode, b, resp.Header}, nil
}

func postJSON(t testing.TB, url string, v any) response {
	t.Helper()
	r, err := tryPostJSON(url, v)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func tryPostJSON(url string, v any) (response, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return response{}, err
	}
	return tryDo("POST", url, "application/json", bytes.NewReader(b))
}

// inFlight returns the server's tapenet_http_requests_in_flight, the
// request that asks included.
func inFlight(srv http.Handler) int {
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for line := range strings.SplitSeq(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "tapenet_http_requests_in_flight ") {
			var v int
			fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
			return v
		}
	}
	return -1
}

// tensorJSON is one input of an inference request.
type tensorJSON struct {
	Name     string `json:"name"`
	Shape    []int  `json:"shape"`
	Datatype string `json:"datatype"`
	Data     any    `json:"data"`
}

type inferReq struct {
	ID      string              `json:"id,omitempty"`
	Inputs  []tensorJSON        `json:"inputs"`
	Outputs []map[string]string `json:"outputs,omitempty"`
}

type inferResp struct {
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	ID           string `json:"id"`
	Outputs      []struct {
		Name     string    `json:"name"`
		Shape    []int     `json:"shape"`
		Datatype string    `json:"datatype"`
		Data     []float32 `json:"data"`
	} `json:"outputs"`
}

// predict returns the model's outputs for samples computed directly, the
// reference the server's answers are compared with.
func predict(t testing.TB, m *graph.Model, x []float32) []float32 {
	t.Helper()
	n := len(x) / 784
	out, err := graph.NewPredictor(m).Forward(tensor.New(tensor.WithShape(append([]int{n}, m.Input()...)...), tensor.WithBacking(append([]float32(nil), x...))))
	if err != nil {
		t.Fatal(err)
	}
	return out.Data().([]float32)
}

func closeTo(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > tol {
			return false
		}
	}
	return true
}

func TestHealthAndMetadata(t *testing.T) {
	for _, model := range []string{"mlp", "convnet"} {
		t.Run(model, func(t *testing.T) {
			_, ts := start(t, model, serve.Options{Version: "test"})
			inShape := map[string]string{"mlp": "[-1,784]", "convnet": "[-1,1,28,28]"}[model]
			for _, test := range []struct {
				path string
				code int
				body string // exact, "" for an empty body
			}{
				{"/v2/health/live", 200, ""},
				{"/v2/health/ready", 200, ""},
				{"/v2", 200, `{"name":"tapenet","version":"test","extensions":["binary_tensor_data","classification"]}`},
				{"/v2/models/" + model, 200, `{"name":"` + model + `","versions":["1"],"platform":"tapenet","inputs":[{"name":"input","datatype":"FP32","shape":` + inShape + `}],"outputs":[{"name":"softmax1","datatype":"FP32","shape":[-1,10]}]}`},
				{"/v2/models/" + model + "/versions/1", 200, `{"name":"` + model + `","versions":["1"],"platform":"tapenet","inputs":[{"name":"input","datatype":"FP32","shape":` + inShape + `}],"outputs":[{"name":"softmax1","datatype":"FP32","shape":[-1,10]}]}`},
				{"/v2/models/" + model + "/ready", 200, ""},
				{"/v2/models/" + model + "/versions/1/ready", 200, ""},
				{"/v2/models/nope", 404, `{"error":"unknown model \"nope\" (this server serves \"` + model + `\")"}`},
				{"/v2/models/nope/ready", 404, `{"error":"unknown model \"nope\" (this server serves \"` + model + `\")"}`},
				{"/v2/models/" + model + "/versions/2", 404, `{"error":"unknown version \"2\" of model \"` + model + `\" (it has version \"1\")"}`},
				{"/v3/anything", 404, `{"error":"no such endpoint: GET /v3/anything"}`},
			} {
				r := do(t, "GET", ts.URL+test.path, "", nil)
				if r.code != test.code || strings.TrimSpace(string(r.body)) != test.body {
					t.Errorf("GET %s: %d %s\nwant %d %s", test.path, r.code, r.body, test.code, test.body)
				}
				if test.body != "" && r.hdr.Get("Content-Type") != "application/json" {
					t.Errorf("GET %s: Content-Type %q", test.path, r.hdr.Get("Content-Type"))
				}
			}
			r := do(t, "POST", ts.URL+"/v2/health/live", "", nil)
			if r.code != 405 || r.hdr.Get("Allow") != "GET" || !strings.Contains(string(r.body), "method not allowed") {
				t.Errorf("POST /v2/health/live: %d %s", r.code, r.body)
			}
		})
	}
}

// Not ready until the workers have compiled the model; live at once.
func TestReadyAfterWarmUp(t *testing.T) {
	srv, err := serve.New(loadModel("convnet"), serve.Options{Name: "convnet", MaxBatch: 256, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/v2/health/ready", nil))
	early := rec.Code
	if err := srv.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/v2/health/ready", nil))
	if early != 503 || rec.Code != 200 {
		t.Errorf("ready: %d while compiling 9 graphs, %d after; want 503 then 200", early, rec.Code)
	}
	rec = httptest.NewRecorder()
	srv.Close()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/v2/health/ready", nil))
	if rec.Code != 503 {
		t.Errorf("ready after Close: %d, want 503", rec.Code)
	}
}

// nest returns x as nested arrays of the given shape.
func nest(x []float32, shape []int) any {
	if len(shape) == 1 {
		return x
	}
	per := len(x) / shape[0]
	out := make([]any, shape[0])
	for i := range out {
		out[i] = nest(x[i*per:(i+1)*per], shape[1:])
	}
	return out
}

// Inference answers what the model computes, for every accepted form of
// the input: flat or nested data, [N,784] or [N,1,28,28], FP32 or UINT8.
func TestInfer(t *testing.T) {
	const n = 5
	x := make([]float32, 0, n*784)
	for i := range n {
		x = append(x, sample(i)...)
	}
	raw := make([]int, len(x)) // the same images as UINT8 pixels
	for i, v := range x {
		raw[i] = int(math.Round(float64(v) * 255))
	}
	for _, model := range []string{"mlp", "convnet"} {
		t.Run(model, func(t *testing.T) {
			_, ts := start(t, model, serve.Options{})
			want := predict(t, loadModel(model), x)
			url := ts.URL + "/v2/models/" + model + "/infer"
			for _, test := range []struct {
				name  string
				input tensorJSON
				tol   float64
			}{
				{"flat [N,784]", tensorJSON{"input", []int{n, 784}, "FP32", x}, 1e-6},
				{"nested [N,784]", tensorJSON{"input", []int{n, 784}, "FP32", nest(x, []int{n, 784})}, 1e-6},
				{"flat [N,1,28,28]", tensorJSON{"input", []int{n, 1, 28, 28}, "FP32", x}, 1e-6},
				{"nested [N,1,28,28]", tensorJSON{"input", []int{n, 1, 28, 28}, "FP32", nest(x, []int{n, 1, 28, 28})}, 1e-6},
				{"[N,28,28]", tensorJSON{"input", []int{n, 28, 28}, "FP32", nest(x, []int{n, 28, 28})}, 1e-6},
				{"UINT8 pixels", tensorJSON{"input", []int{n, 784}, "UINT8", raw}, 1e-6},
			} {
				t.Run(test.name, func(t *testing.T) {
					r := postJSON(t, url, inferReq{ID: "req-" + test.name, Inputs: []tensorJSON{test.input}})
					if r.code != 200 {
						t.Fatalf("%d %s", r.code, r.body)
					}
					var got inferResp
					if err := json.Unmarshal(r.body, &got); err != nil {
						t.Fatal(err)
					}
					if got.ModelName != model || got.ModelVersion != "1" || got.ID != "req-"+test.name || len(got.Outputs) != 1 {
						t.Fatalf("response %s", r.body)
					}
					o := got.Outputs[0]
					if o.Name != "softmax1" || o.Datatype != "FP32" || fmt.Sprint(o.Shape) != fmt.Sprint([]int{n, 10}) {
						t.Fatalf("output %s %s %v", o.Name, o.Datatype, o.Shape)
					}
					if !closeTo(o.Data, want, test.tol) {
						t.Errorf("outputs differ from the model's:\n%v\n%v", o.Data, want)
					}
				})
			}
			// No id: none echoed; the outputs filter names the output.
			r := postJSON(t, url, inferReq{Inputs: []tensorJSON{{"input", []int{1, 784}, "FP32", sample(0)}}, Outputs: []map[string]string{{"name": "softmax1"}}})
			if r.code != 200 || strings.Contains(string(r.body), `"id"`) || !strings.Contains(string(r.body), `"softmax1"`) {
				t.Errorf("without id, with outputs: %d %s", r.code, r.body)
			}
		})
	}
}

// Bad requests get a 4xx with one clear message, and the server keeps
// serving.
func TestInferBadRequests(t *testing.T) {
	_, ts := start(t, "mlp", serve.Options{MaxSamples: 64, MaxBodyBytes: 4 << 20})
	url := ts.URL + "/v2/models/mlp/infer"
	zeros := func(k int) string { return "[" + strings.TrimSuffix(strings.Repeat("0,", k), ",") + "]" }
	body := func(shape, dtype, data string) string {
		return `{"inputs":[{"name":"input","shape":` + shape + `,"datatype":"` + dtype + `","data":` + data + `}]}`
	}
	good := body("[1,784]", "FP32", zeros(784))
	for _, test := range []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"not JSON", "POST", url, "{inputs", 400, "invalid JSON"},
		{"NaN literal", "POST", url, body("[1,784]", "FP32", "[NaN"+strings.Repeat(",0", 783)+"]"), 400, "invalid JSON"},
		{"NaN as a string", "POST", url, body("[1,784]", "FP32", `["NaN"`+strings.Repeat(",0", 783)+"]"), 400, `data element 0: "\"NaN\"" is not a number`},
		{"Infinity", "POST", url, body("[1,784]", "FP32", "[0,Infinity"+strings.Repeat(",0", 782)+"]"), 400, "invalid JSON"},
		{"beyond FP32", "POST", url, body("[1,784]", "FP32", "[1e39"+strings.Repeat(",0", 783)+"]"), 400, "data element 0: 1e39 is outside the FP32 range"},
		{"no inputs", "POST", url, `{"inputs":[]}`, 400, `request has no inputs; model mlp takes "input"`},
		{"two inputs", "POST", url, `{"inputs":[` + strings.Repeat(`{"name":"input","shape":[1,784],"datatype":"FP32","data":`+zeros(784)+`},`, 1) + `{"name":"b","shape":[1],"datatype":"FP32","data":[0]}]}`, 400, `unknown input "b" (model mlp takes "input")`},
		{"input twice", "POST", url, strings.Replace(good, "}]}", "},"+strings.TrimSuffix(strings.TrimPrefix(good, `{"inputs":[`), "]}")+"]}", 1), 400, `input "input" given twice`},
		{"wrong input name", "POST", url, strings.Replace(good, `"input"`, `"pixels"`, 1), 400, `unknown input "pixels" (model mlp takes "input")`},
		{"wrong datatype", "POST", url, body("[1,784]", "FP64", zeros(784)), 400, `datatype "FP64" not supported`},
		{"BYTES datatype", "POST", url, body("[1,784]", "BYTES", zeros(784)), 400, `datatype "BYTES" not supported`},
		{"rank 1 shape", "POST", url, body("[784]", "FP32", zeros(784)), 400, "shape [784], want [-1,784] or [-1,1,28,28] or [-1,28,28]"},
		{"wrong shape", "POST", url, body("[2,392]", "FP32", zeros(784)), 400, "shape [2,392], want [-1,784]"},
		{"zero samples", "POST", url, body("[0,784]", "FP32", "[]"), 400, "has a dimension below 1"},
		{"negative dimension", "POST", url, body("[-1,784]", "FP32", zeros(784)), 400, "has a dimension below 1"},
		{"too few elements", "POST", url, body("[1,784]", "FP32", zeros(783)), 400, "data has 783 elements where the shape wants 784"},
		{"too many elements", "POST", url, body("[1,784]", "FP32", zeros(785)), 400, "data has more than the 784 elements the shape wants"},
		{"two samples, one sent", "POST", url, body("[2,784]", "FP32", zeros(784)), 400, "data has 784 elements where the shape wants 1568"},
		{"nested row too short", "POST", url, body("[2,784]", "FP32", "["+zeros(784)+","+zeros(783)+"]"), 400, "data has 783 elements where the shape wants 784 (a nested row must have 784 elements)"},
		{"nested, too many rows", "POST", url, body("[1,784]", "FP32", "["+zeros(784)+","+zeros(784)+"]"), 400, "a nested array has more than 1 entries"},
		{"half nested", "POST", url, body("[1,1,28,28]", "FP32", "[["+zeros(784)+"]]"), 400, "data near element 0: want an array (data is flat, or nested as deep as the shape)"},
		{"a string element", "POST", url, body("[1,784]", "FP32", `[0,"x"`+strings.Repeat(",0", 782)+"]"), 400, `data element 1: "\"x\"" is not a number`},
		{"UINT8 of 256", "POST", url, body("[1,784]", "UINT8", "[256"+strings.Repeat(",0", 783)+"]"), 400, "data element 0: 256 is not a UINT8"},
		{"UINT8 fraction", "POST", url, body("[1,784]", "UINT8", "[0.5"+strings.Repeat(",0", 783)+"]"), 400, "data element 0: 0.5 is not a UINT8"},
		{"data missing", "POST", url, `{"inputs":[{"name":"input","shape":[1,784],"datatype":"FP32"}]}`, 400, `input "input": no data`},
		{"data not an array", "POST", url, body("[1,784]", "FP32", `{"a":1}`), 400, "data must be a JSON array"},
		{"unknown output", "POST", url, strings.TrimSuffix(good, "}") + `,"outputs":[{"name":"logits"}]}`, 400, `unknown output "logits" (model mlp has "softmax1")`},
		{"output twice", "POST", url, strings.TrimSuffix(good, "}") + `,"outputs":[{"name":"softmax1"},{"name":"softmax1"}]}`, 400, `output "softmax1" named twice`},
		{"outputs 150000 times", "POST", url, strings.TrimSuffix(good, "}") + `,"outputs":[` + strings.Repeat(`{"name":"softmax1"},`, 150000) + `{"name":"softmax1"}]}`, 400, `output "softmax1" named twice`},
		{"classification 0", "POST", url, strings.TrimSuffix(good, "}") + `,"outputs":[{"name":"softmax1","parameters":{"classification":0}}]}`, 400, `classification must be at least 1`},
		{"classification 11", "POST", url, strings.TrimSuffix(good, "}") + `,"outputs":[{"name":"softmax1","parameters":{"classification":11}}]}`, 400, `classification 11, want 1 to 10`},
		{"binary without header", "POST", url, `{"inputs":[{"name":"input","shape":[1,784],"datatype":"FP32","parameters":{"binary_data_size":3136}}]}` + "\x00\x00", 400, `needs the Inference-Header-Content-Length header`},
		{"too many samples", "POST", url, body("[65,784]", "FP32", zeros(65*784)), 413, "65 samples, at most 64 in one request"},
		{"unknown model", "POST", ts.URL + "/v2/models/resnet50/infer", good, 404, `unknown model "resnet50" (this server serves "mlp")`},
		{"GET infer", "GET", url, "", 405, "GET /v2/models/mlp/infer: method not allowed (use POST)"},
		{"unknown path", "POST", ts.URL + "/v2/models/mlp/explain", good, 404, "no such endpoint: POST /v2/models/mlp/explain"},
	} {
		t.Run(test.name, func(t *testing.T) {
			r := do(t, test.method, test.path, "application/json", strings.NewReader(test.body))
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(r.body, &e); err != nil {
				t.Fatalf("%d: body is not {\"error\": ...}: %s", r.code, r.body)
			}
			if r.code != test.code || !strings.Contains(e.Error, test.want) || strings.Contains(e.Error, "\n") {
				t.Errorf("%d %q\nwant %d and %q", r.code, e.Error, test.code, test.want)
			}
			if r := do(t, "POST", url, "application/json", strings.NewReader(good)); r.code != 200 {
				t.Fatalf("a good request after it: %d %s", r.code, r.body)
			}
		})
	}
}

// endless is an io.Reader of n zero bytes that allocates nothing.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), e.n)
	clear(p[:k])
	e.n -= k
	return int(k), nil
}

// A 100 MB body is refused with 413 without being read, with a declared
// length or streamed in chunks, and the server keeps serving.
func TestHugeBody(t *testing.T) {
	_, ts := start(t, "mlp", serve.Options{})
	const size = 100 << 20
	for _, path := range []string{"/v2/models/mlp/infer", "/v1/classify"} {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s chunked=%v", path, chunked), func(t *testing.T) {
				req, err := http.NewRequest("POST", ts.URL+path, io.NopCloser(&endless{size}))
				if err != nil {
					t.Fatal(err)
				}
				if !chunked {
					req.ContentLength = size
				}
				start := time.Now()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 413 || !strings.Contains(string(b), "larger than 8388608 bytes") {
					t.Errorf("%d %s", resp.StatusCode, b)
				}
				t.Logf("answered in %v", time.Since(start))
			})
		}
	}
	if r := postJSON(t, ts.URL+"/v2/models/mlp/infer", inferReq{Inputs: []tensorJSON{{"input", []int{1, 784}, "FP32", sample(0)}}}); r.code != 200 {
		t.Errorf("after the huge bodies: %d %s", r.code, r.body)
	}
}

type classifyResp struct {
	Model         string    `json:"model"`
	Class         int       `json:"class"`
	Probabilities []float32 `json:"probabilities"`
	Image         string    `json:"image"`
	Error         string    `json:"error"`
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// multipartBody returns a form with the file under field.
func multipartBody(t testing.TB, field string, data []byte) (string, []byte) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("note", "a field before the file")
	f, err := w.CreateFormFile(field, "digit.png")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(data)
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}

func TestClassify(t *testing.T) {
	_, ts := start(t, "mlp", serve.Options{MaxImagePixels: 1 << 20})
	set, err := datasets.MNIST(datasets.Test, datasets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	url := ts.URL + "/v1/classify"
	right := 0
	const n = 10
	for i := range n {
		digit, _ := set.Gray(i)
		data := encodePNG(t, testutil.Drawing(digit, 280, rng))
		ct, body := "image/png", data
		if i%2 == 1 {
			ct, body = multipartBody(t, "image", data)
		}
		r := do(t, "POST", url, ct, bytes.NewReader(body))
		if r.code != 200 {
			t.Fatalf("drawing %d: %d %s", i, r.code, r.body)
		}
		var c classifyResp
		if err := json.Unmarshal(r.body, &c); err != nil {
			t.Fatal(err)
		}
		sum := float32(0)
		for _, p := range c.Probabilities {
			sum += p
		}
		if c.Model != "mlp" || len(c.Probabilities) != 10 || math.Abs(float64(sum-1)) > 1e-4 {
			t.Fatalf("answer %s", r.body)
		}
		pngBytes, err := base64.StdEncoding.DecodeString(c.Image)
		if err != nil {
			t.Fatal(err)
		}
		seen, err := png.Decode(bytes.NewReader(pngBytes))
		if err != nil || seen.Bounds() != image.Rect(0, 0, 28, 28) {
			t.Fatalf("image the model saw: %v %v", err, seen.Bounds())
		}
		if c.Class == set.Labels[i] {
			right++
		}
	}
	if right < n-1 {
		t.Errorf("%d of %d drawings classified right", right, n)
	}

	blank := image.NewGray(image.Rect(0, 0, 100, 100))
	for i := range blank.Pix {
		blank.Pix[i] = 255
	}
	field := func(name string) (string, []byte) { return multipartBody(t, name, []byte("not an image at all")) }
	noFileCT, noFile := func() (string, []byte) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		w.WriteField("note", "no file here")
		w.Close()
		return w.FormDataContentType(), b.Bytes()
	}()
	otherCT, other := field("upload")
	big := image.NewGray(image.Rect(0, 0, 2000, 1000)) // 2 Mpx, over the 1 Mpx limit
	for _, test := range []struct {
		name, ct string
		body     []byte
		code     int
		want     string
	}{
		{"text", "text/plain", []byte("hello"), 400, "not a PNG, JPEG, GIF, BMP or WebP image"},
		{"text as multipart", otherCT, other, 400, "not a PNG, JPEG, GIF, BMP or WebP image"},
		{"empty body", "image/png", nil, 400, "empty body"},
		{"multipart without a file", noFileCT, noFile, 400, "multipart form has no file"},
		{"broken multipart", "multipart/form-data; boundary=x", []byte("--y\r\n"), 400, "multipart form"},
		{"blank page", "image/png", encodePNG(t, blank), 422, "image is blank"},
		{"too many pixels", "image/png", encodePNG(t, big), 413, "image too large: png of 2000x1000 pixels"},
	} {
		t.Run(test.name, func(t *testing.T) {
			r := do(t, "POST", url, test.ct, bytes.NewReader(test.body))
			var c classifyResp
			json.Unmarshal(r.body, &c)
			if r.code != test.code || !strings.Contains(c.Error, test.want) {
				t.Errorf("%d %s\nwant %d %q", r.code, r.body, test.code, test.want)
			}
		})
	}
}

// Concurrent requests are batched, and each gets its own rows back.
func TestDynamicBatching(t *testing.T) {
	srv, ts := start(t, "convnet", serve.Options{MaxBatch: 16, MaxDelay: 100 * time.Millisecond, Workers: 1})
	_ = srv
	m := loadModel("convnet")
	const clients = 12
	// Inputs and reference outputs first: compiling graphs in several
	// goroutines at once races in Gorgonia (see batcher.compile).
	xs, wants := make([][]float32, clients), make([][]float32, clients)
	for c := range clients {
		k := 1 + c%3 // requests of 1, 2 and 3 samples
		for i := range k {
			xs[c] = append(xs[c], sample(10*c+i)...)
		}
		wants[c] = predict(t, m, xs[c])
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, x := 1+c%3, xs[c]
			r, err := tryPostJSON(ts.URL+"/v2/models/convnet/infer", inferReq{Inputs: []tensorJSON{{"input", []int{k, 1, 28, 28}, "FP32", x}}})
			if err != nil {
				errs <- err
				return
			}
			var got inferResp
			if err := json.Unmarshal(r.body, &got); err != nil || r.code != 200 || len(got.Outputs) != 1 {
				errs <- fmt.Errorf("client %d: %d %s", c, r.code, r.body)
				return
			}
			if !closeTo(got.Outputs[0].Data, wants[c], 1e-5) {
				errs <- fmt.Errorf("client %d got another request's rows", c)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// One request larger than the batch runs in chunks.
	var x []float32
	for i := range 40 {
		x = append(x, sample(i)...)
	}
	r := postJSON(t, ts.URL+"/v2/models/convnet/infer", inferReq{Inputs: []tensorJSON{{"input", []int{40, 784}, "FP32", x}}})
	var got inferResp
	if json.Unmarshal(r.body, &got); r.code != 200 || !closeTo(got.Outputs[0].Data, predict(t, m, x), 1e-5) {
		t.Errorf("40 samples with --max-batch 16: %d", r.code)
	}
	// The metrics saw batches of more than one request.
	count, sum := histogram(t, ts.URL, "tapenet_batch_size")
	if count == 0 || sum/count < 4 {
		t.Errorf("batch sizes: %v runs, %v samples: not batched", count, sum)
	}
	t.Logf("%v model runs for %v samples", count, sum)
}

// histogram returns the count and sum of a histogram from /metrics.
func histogram(t testing.TB, base, name string) (count, sum float64) {
	t.Helper()
	r := do(t, "GET", base+"/metrics", "", nil)
	for line := range strings.SplitSeq(string(r.body), "\n") {
		var v float64
		if strings.HasPrefix(line, name+"_count{") {
			fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
			count = v
		}
		if strings.HasPrefix(line, name+"_sum{") {
			fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
			sum = v
		}
	}
	return count, sum
}

func TestMetrics(t *testing.T) {
	_, ts := start(t, "mlp", serve.Options{})
	postJSON(t, ts.URL+"/v2/models/mlp/infer", inferReq{Inputs: []tensorJSON{{"input", []int{1, 784}, "FP32", sample(0)}}})
	postJSON(t, ts.URL+"/v2/models/mlp/infer", inferReq{Inputs: []tensorJSON{{"input", []int{1, 784}, "FP64", sample(0)}}})
	do(t, "GET", ts.URL+"/v2/health/ready", "", nil)
	do(t, "GET", ts.URL+"/no/such/page", "", nil)
	r := do(t, "GET", ts.URL+"/metrics", "", nil)
	text := string(r.body)
	for _, want := range []string{
		`tapenet_http_requests_total{code="200",model="mlp",route="POST /v2/models/{name}/infer"} 1`,
		`tapenet_http_requests_total{code="400",model="mlp",route="POST /v2/models/{name}/infer"} 1`,
		`tapenet_http_requests_total{code="200",model="",route="GET /v2/health/ready"} 1`,
		`tapenet_http_requests_total{code="404",model="",route="/"} 1`,
		`tapenet_http_request_duration_seconds_count{model="mlp",route="POST /v2/models/{name}/infer"} 2`,
		`tapenet_http_requests_in_flight 1`, // the /metrics request itself
		`tapenet_batch_size_count{model="mlp"} 1`,
		`tapenet_model_run_seconds_count{model="mlp"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(text, "/no/such/page") {
		t.Error("a raw path became a label")
	}
}

// The draw-a-digit page and its assets are served from the binary.
func TestPage(t *testing.T) {
	_, ts := start(t, "mlp", serve.Options{})
	for _, test := range []struct{ path, ctype, want string }{
		{"/", "text/html", `<canvas id="pad"`},
		{"/app.js", "text/javascript", "v1/classify"},
		{"/style.css", "text/css", "@media"},
		{"/favicon.svg", "image/svg+xml", "<svg"},
	} {
		r := do(t, "GET", ts.URL+test.path, "", nil)
		if r.code != 200 || !strings.HasPrefix(r.hdr.Get("Content-Type"), test.ctype) || !strings.Contains(string(r.body), test.want) {
			t.Errorf("GET %s: %d %s", test.path, r.code, r.hdr.Get("Content-Type"))
		}
		for _, remote := range []string{`src="http`, `href="http://`, `url(http`, `@import`, `fetch('http`, "cdn."} {
			if strings.Contains(string(r.body), remote) {
				t.Errorf("GET %s loads from another host (%s): the page must work offline", test.path, remote)
			}
		}
	}
}

// Serve finishes requests in flight when its context ends, then stops.
func TestGracefulShutdown(t *testing.T) {
	srv, err := serve.New(loadModel("mlp"), serve.Options{Name: "mlp", MaxDelay: 400 * time.Millisecond, MaxBatch: 64, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	type answer struct {
		r   response
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		// Waits ~400 ms in the batcher for company that never comes.
		r, err := tryPostJSON(base+"/v2/models/mlp/infer", inferReq{Inputs: []tensorJSON{{"input", []int{1, 784}, "FP32", sample(0)}}})
		answered <- answer{r, err}
	}()
	for start := time.Now(); inFlight(srv) < 2; time.Sleep(time.Millisecond) { // the request, and the one asking
		if time.Since(start) > 10*time.Second {
			t.Fatal("the request never arrived")
		}
	}
	cancel() // SIGTERM
	a := <-answered
	if a.err != nil || a.r.code != 200 {
		t.Errorf("request in flight at shutdown: %v %d %s", a.err, a.r.code, a.r.body)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := http.Get(base + "/v2/health/live"); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}

func TestNewErrors(t *testing.T) {
	a, b := graph.Input("a", 2), graph.Input("b", 2)
	two, err := graph.NewModel([]*graph.Tensor{a, b}, []*graph.Tensor{graph.Apply(graph.Add{}, a, b)})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := serve.New(two, serve.Options{})
	if err != nil {
		t.Errorf("model of two inputs: %v", err)
	} else {
		srv.Close()
	}
	if _, err := serve.New(loadModel("mlp"), serve.Options{MaxBatch: 5000}); err == nil {
		t.Error("max batch 5000 accepted")
	}
}

// Any request body: an answer of 200 or 4xx with a JSON body, never a 5xx
// or a panic.
func FuzzInferBody(f *testing.F) {
	srv, err := serve.New(loadModel("mlp"), serve.Options{Name: "mlp", Workers: 1, MaxBatch: 4, MaxSamples: 8})
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	if err := srv.WaitReady(context.Background()); err != nil {
		f.Fatal(err)
	}
	zeros := strings.TrimSuffix(strings.Repeat("0,", 784), ",")
	for _, seed := range []string{
		`{"id":"1","inputs":[{"name":"input","shape":[1,784],"datatype":"FP32","data":[` + zeros + `]}]}`,
		`{"inputs":[{"name":"input","shape":[1,28,28],"datatype":"UINT8","data":[` + zeros + `]}],"outputs":[{"name":"softmax1"}]}`,
		`{"inputs":[{"name":"input","shape":[2,784],"datatype":"FP32","data":[[1],[2]]}]}`,
		`{"inputs":[{"name":"input","shape":[9999999999,784],"datatype":"FP32","data":[]}]}`,
		`{"inputs":null}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("POST", "/v2/models/mlp/infer", bytes.NewReader(body)))
		if rec.Code != 200 && (rec.Code < 400 || rec.Code > 499) {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("body is not JSON: %s", rec.Body)
		}
	})
}
