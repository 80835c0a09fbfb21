package serve_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"github.com/tapenet/tapenet/models"
	"github.com/tapenet/tapenet/serve"
)

// binaryBody returns a request in Triton's binary tensor form, as
// tritonclient's HTTP client writes it: the JSON header, then each
// tensor's bytes in the order of the inputs, the header's length in
// Inference-Header-Content-Length.
func binaryBody(t testing.TB, header any, tensors ...[]byte) ([]byte, string) {
	t.Helper()
	head, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	body := slices.Clone(head)
	for _, b := range tensors {
		body = append(body, b...)
	}
	return body, strconv.Itoa(len(head))
}

func postBinary(t testing.TB, url string, body []byte, headerLen string) response {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if headerLen != "" {
		req.Header.Set("Inference-Header-Content-Length", headerLen)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, buf.Bytes(), resp.Header}
}

// outputJSON is an answered output with its parameters.
type outputJSON struct {
	Name       string          `json:"name"`
	Shape      []int           `json:"shape"`
	Datatype   string          `json:"datatype"`
	Parameters map[string]int  `json:"parameters"`
	Data       json.RawMessage `json:"data"`
}

// splitAnswer splits an answer into its JSON header and binary tail, as
// tritonclient's InferResult does.
func splitAnswer(t testing.TB, r response) ([]outputJSON, []byte) {
	t.Helper()
	head, tail := r.body, []byte(nil)
	if h := r.hdr.Get("Inference-Header-Content-Length"); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil || n > len(r.body) {
			t.Fatalf("Inference-Header-Content-Length %q for %d bytes", h, len(r.body))
		}
		head, tail = r.body[:n], r.body[n:]
	}
	var resp struct {
		Outputs []outputJSON `json:"outputs"`
	}
	if err := json.Unmarshal(head, &resp); err != nil {
		t.Fatalf("answer header: %v: %s", err, head)
	}
	return resp.Outputs, tail
}

func fp32Bytes(x []float32) []byte {
	b := make([]byte, 0, 4*len(x))
	for _, v := range x {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// Binary tensors in and out (FP32 and UINT8): the bytes that come back are
// the float32 bits of the JSON answer to the same request and of the
// model's own outputs, byte for byte.
func TestBinaryTensors(t *testing.T) {
	m := loadModel("mlp")
	_, ts := start(t, "mlp", serve.Options{})
	url := ts.URL + "/v2/models/mlp/infer"
	x := append(slices.Clone(sample(0)), sample(1)...)
	want := fp32Bytes(predict(t, m, x))

	jsonAns := postJSON(t, url, inferReq{Inputs: []tensorJSON{{"input", []int{2, 784}, "FP32", x}}})
	outs, _ := splitAnswer(t, jsonAns)
	var jsonData []float32
	if err := json.Unmarshal(outs[0].Data, &jsonData); err != nil {
		t.Fatal(err)
	}

	input := func(dt string, size int) map[string]any {
		return map[string]any{"name": "input", "shape": []int{2, 784}, "datatype": dt, "parameters": map[string]any{"binary_data_size": size}}
	}
	pixels := make([]byte, 2*784)
	pixelsAsFP32 := make([]float32, 2*784)
	for i := range pixels {
		pixels[i] = byte(i * 7 % 256)
		pixelsAsFP32[i] = float32(pixels[i]) / 255
	}
	for _, test := range []struct {
		name   string
		header map[string]any
		tensor []byte
		want   []byte
	}{
		{"FP32 in, binary_data out", map[string]any{"inputs": []any{input("FP32", 4*len(x))}, "outputs": []any{map[string]any{"name": "softmax1", "parameters": map[string]any{"binary_data": true}}}}, fp32Bytes(x), want},
		{"FP32 in, binary_data_output", map[string]any{"inputs": []any{input("FP32", 4*len(x))}, "parameters": map[string]any{"binary_data_output": true}}, fp32Bytes(x), want},
		{"UINT8 in", map[string]any{"inputs": []any{input("UINT8", len(pixels))}, "parameters": map[string]any{"binary_data_output": true}}, pixels, fp32Bytes(predict(t, m, pixelsAsFP32))},
	} {
		t.Run(test.name, func(t *testing.T) {
			body, hl := binaryBody(t, test.header, test.tensor)
			r := postBinary(t, url, body, hl)
			if r.code != 200 {
				t.Fatalf("%d %s", r.code, r.body)
			}
			if ct := r.hdr.Get("Content-Type"); ct != "application/octet-stream" {
				t.Errorf("Content-Type %q", ct)
			}
			outs, tail := splitAnswer(t, r)
			if len(outs) != 1 || outs[0].Parameters["binary_data_size"] != len(test.want) || outs[0].Datatype != "FP32" || !slices.Equal(outs[0].Shape, []int{2, 10}) || len(outs[0].Data) != 0 {
				t.Fatalf("header %+v", outs)
			}
			if !bytes.Equal(tail, test.want) {
				t.Errorf("binary output differs from the model's float32 bits")
			}
		})
	}
	if !bytes.Equal(fp32Bytes(jsonData), want) {
		t.Error("the JSON answer's numbers are not the model's float32 values")
	}
	// Binary in, JSON out: no binary part, no header.
	body, hl := binaryBody(t, map[string]any{"inputs": []any{input("FP32", 4*len(x))}}, fp32Bytes(x))
	r := postBinary(t, url, body, hl)
	outs, tail := splitAnswer(t, r)
	var binInData []float32
	if r.code != 200 || tail != nil || r.hdr.Get("Content-Type") != "application/json" || json.Unmarshal(outs[0].Data, &binInData) != nil || !bytes.Equal(fp32Bytes(binInData), want) {
		t.Errorf("binary in, JSON out: %d %s", r.code, r.body)
	}

	for _, bad := range []struct {
		name, hl string
		header   map[string]any
		tensor   []byte
		msg      string
	}{
		{"size beyond the body", "", map[string]any{"inputs": []any{input("FP32", 4*len(x)+4)}}, fp32Bytes(x), "only 6272 bytes of binary data remain"},
		{"bytes left over", "", map[string]any{"inputs": []any{input("FP32", 4*len(x)-4)}}, fp32Bytes(x), "4 bytes of binary data after the JSON header are not claimed"},
		{"wrong size for the shape", "", map[string]any{"inputs": []any{input("UINT8", 10)}}, make([]byte, 10), "10 bytes of binary data; the shape needs 1568 elements of 1 bytes"},
		{"NaN", "", map[string]any{"inputs": []any{input("FP32", 4*len(x))}}, fp32Bytes(append([]float32{float32(math.NaN())}, x[1:]...)), "binary element 0 is NaN"},
		{"header length past the body", "999999", map[string]any{"inputs": []any{input("FP32", 4*len(x))}}, fp32Bytes(x), "Inference-Header-Content-Length"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			body, hl := binaryBody(t, bad.header, bad.tensor)
			if bad.hl != "" {
				hl = bad.hl
			}
			r := postBinary(t, url, body, hl)
			if r.code != 400 || !strings.Contains(string(r.body), bad.msg) {
				t.Errorf("%d %s, want 400 with %q", r.code, r.body, bad.msg)
			}
		})
	}
}

// top returns Triton's classification strings of one row, computed here
// from the model's outputs.
func top(row []float32, k int) []string {
	idx := make([]int, len(row))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
	var out []string
	for _, i := range idx[:k] {
		out = append(out, strconv.FormatFloat(float64(row[i]), 'g', -1, 32)+":"+strconv.Itoa(i))
	}
	return out
}

// The classification extension: "classification": k answers BYTES of
// shape [N, k], "value:index" for the k highest values, in JSON and in
// binary (4-byte lengths).
func TestClassification(t *testing.T) {
	m := loadModel("mlp")
	_, ts := start(t, "mlp", serve.Options{})
	url := ts.URL + "/v2/models/mlp/infer"
	x := append(slices.Clone(sample(0)), sample(1)...)
	probs := predict(t, m, x)
	want := append(top(probs[:10], 3), top(probs[10:], 3)...)

	r := postJSON(t, url, map[string]any{"inputs": []tensorJSON{{"input", []int{2, 784}, "FP32", x}}, "outputs": []any{map[string]any{"name": "softmax1", "parameters": map[string]any{"classification": 3}}}})
	outs, _ := splitAnswer(t, r)
	var got []string
	if r.code != 200 || json.Unmarshal(outs[0].Data, &got) != nil || outs[0].Datatype != "BYTES" || !slices.Equal(outs[0].Shape, []int{2, 3}) {
		t.Fatalf("%d %s", r.code, r.body)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if !strings.HasSuffix(got[0], ":7") { // MNIST test image 0 is a 7
		t.Errorf("top class of image 0: %s", got[0])
	}

	body, hl := binaryBody(t, map[string]any{
		"inputs":  []any{map[string]any{"name": "input", "shape": []int{2, 784}, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": 4 * len(x)}}},
		"outputs": []any{map[string]any{"name": "softmax1", "parameters": map[string]any{"classification": 3, "binary_data": true}}},
	}, fp32Bytes(x))
	r = postBinary(t, url, body, hl)
	outs, tail := splitAnswer(t, r)
	if r.code != 200 || outs[0].Datatype != "BYTES" || outs[0].Parameters["binary_data_size"] != len(tail) {
		t.Fatalf("%d %s", r.code, r.body)
	}
	var wantBytes []byte
	for _, s := range want {
		wantBytes = binary.LittleEndian.AppendUint32(wantBytes, uint32(len(s)))
		wantBytes = append(wantBytes, s...)
	}
	if !bytes.Equal(tail, wantBytes) {
		t.Errorf("binary classification %q, want %q", tail, wantBytes)
	}
}

// An answer larger than Options.MaxAnswerBytes is refused before the
// model runs; its binary form, four times smaller, fits.
func TestAnswerLimit(t *testing.T) {
	srv, ts := start(t, "mlp", serve.Options{MaxAnswerBytes: 100 << 10})
	url := ts.URL + "/v2/models/mlp/infer"
	x := make([]float32, 1024*784)
	r := postJSON(t, url, inferReq{Inputs: []tensorJSON{{"input", []int{1024, 784}, "FP32", x}}})
	if r.code != 413 || !strings.Contains(string(r.body), "more than the limit of 102400 (--max-answer)") {
		t.Errorf("JSON answer of 1024x10 values: %d %s", r.code, r.body)
	}
	if n, _ := histogram(t, ts.URL, `tapenet_batch_size_count{model="mlp"}`); n != 0 {
		t.Errorf("the model ran %v times for a refused request", n)
	}
	r = postJSON(t, url, map[string]any{"inputs": []tensorJSON{{"input", []int{1024, 784}, "FP32", x}}, "parameters": map[string]any{"binary_data_output": true}})
	if outs, tail := splitAnswer(t, r); r.code != 200 || len(tail) != 1024*10*4 || outs[0].Parameters["binary_data_size"] != len(tail) {
		t.Errorf("binary answer of 1024x10 values: %d", r.code)
	}
	_ = srv
}

// A model whose compiled graphs would hold more activations than the
// budget refuses to start with one line naming the budget and the largest
// --max-batch that fits, computed here from SampleValues.
func TestActivationBudget(t *testing.T) {
	in := graph.Input("image", 1, 28, 28)
	m, err := graph.NewModel([]*graph.Tensor{in}, []*graph.Tensor{graph.Apply(&graph.Conv2D{Filters: 4096, Kernel: 1}, in)})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	per := int64(4 * m.SampleValues()) // 12.9 MB a sample
	most := 0
	for b := 1; b <= 32; b++ {
		sum := int64(0)
		for s := 1; s < b; s *= 2 {
			sum += int64(s)
		}
		if (sum+int64(b))*2*per <= serve.ActivationBudget {
			most = b
		}
	}
	_, err = serve.New(m, serve.Options{Name: "wide", MaxBatch: 32, Workers: 2})
	if err == nil {
		t.Fatal("a 4,096-filter model at batch 32 started")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "activation budget of 256 MiB") || !strings.Contains(msg, fmt.Sprintf("at most --max-batch %d fits", most)) {
		t.Errorf("error %q; want one line naming the budget and --max-batch %d", msg, most)
	}
	srv, err := serve.New(m, serve.Options{Name: "wide", MaxBatch: most, Workers: 2})
	if err != nil {
		t.Fatalf("at the batch the error names: %v", err)
	}
	srv.Close()
}

// A finite input of 3e38 is accepted; the model's softmax then computes
// NaN (3e38 x weights overflows float32), which JSON cannot carry: a 422
// naming the value, and the binary form carries the NaN bits.
func TestNonFiniteAnswer(t *testing.T) {
	_, ts := start(t, "mlp", serve.Options{})
	url := ts.URL + "/v2/models/mlp/infer"
	x := make([]float32, 784)
	for i := range x {
		x[i] = 3e38
	}
	r := postJSON(t, url, inferReq{Inputs: []tensorJSON{{"input", []int{1, 784}, "FP32", x}}})
	if r.code != 422 || !strings.Contains(string(r.body), `output \"softmax1\" element 0 is NaN`) {
		t.Fatalf("%d %s", r.code, r.body)
	}
	r = postJSON(t, url, map[string]any{"inputs": []tensorJSON{{"input", []int{1, 784}, "FP32", x}}, "parameters": map[string]any{"binary_data_output": true}})
	if _, tail := splitAnswer(t, r); r.code != 200 || len(tail) != 40 || !math.IsNaN(float64(math.Float32frombits(binary.LittleEndian.Uint32(tail)))) {
		t.Errorf("binary: %d %q", r.code, tail)
	}
}

// saveCheckpoint writes model name's weights to dir/file.
func saveCheckpoint(t testing.TB, dir, file, name string) {
	t.Helper()
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, loadModel(name)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Two models served from one repository, each under its file's base name:
// index, inference on each, readiness per model, metrics by model, unload
// and load again.
func TestRepository(t *testing.T) {
	dir := t.TempDir()
	saveCheckpoint(t, dir, "digits.safetensors", "mlp")
	saveCheckpoint(t, dir, "conv.safetensors", "convnet")
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a model"), 0o644)
	srv, err := serve.NewRepository(dir, func(p string) (*graph.Model, error) { return models.Open(p) }, serve.Options{Workers: 1, MaxBatch: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, srv)
	index := func() string {
		r := do(t, "POST", ts.URL+"/v2/repository/index", "", nil)
		return strings.TrimSpace(string(r.body))
	}
	if got, want := index(), `[{"name":"conv","version":"1","state":"READY"},{"name":"digits","version":"1","state":"READY"}]`; got != want {
		t.Errorf("index %s, want %s", got, want)
	}
	if r := do(t, "GET", ts.URL+"/v2", "", nil); !strings.Contains(string(r.body), `"model_repository"`) {
		t.Errorf("GET /v2: %s", r.body)
	}
	for _, name := range []string{"conv", "digits"} {
		ref := loadModel(map[string]string{"conv": "convnet", "digits": "mlp"}[name])
		r := postJSON(t, ts.URL+"/v2/models/"+name+"/infer", inferReq{Inputs: []tensorJSON{{ref.Inputs()[0].Name, []int{1, 784}, "FP32", sample(3)}}})
		var resp inferResp
		if r.code != 200 || json.Unmarshal(r.body, &resp) != nil || resp.ModelName != name || !closeTo(resp.Outputs[0].Data, predict(t, ref, sample(3)), 1e-6) {
			t.Errorf("%s: %d %s", name, r.code, r.body)
		}
		if r := do(t, "GET", ts.URL+"/v2/models/"+name+"/ready", "", nil); r.code != 200 {
			t.Errorf("%s not ready: %d", name, r.code)
		}
	}
	metrics := string(do(t, "GET", ts.URL+"/metrics", "", nil).body)
	for _, want := range []string{`tapenet_batch_size_count{model="conv"} 1`, `tapenet_batch_size_count{model="digits"} 1`, `tapenet_http_requests_total{code="200",model="conv",route="POST /v2/models/{name}/infer"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if r := do(t, "POST", ts.URL+"/v2/repository/models/conv/unload", "", nil); r.code != 200 {
		t.Fatalf("unload: %d %s", r.code, r.body)
	}
	if r := do(t, "GET", ts.URL+"/v2/models/conv/ready", "", nil); r.code != 404 {
		t.Errorf("unloaded model ready: %d", r.code)
	}
	if got, want := index(), `[{"name":"conv","state":"UNAVAILABLE","reason":"unloaded"},{"name":"digits","version":"1","state":"READY"}]`; got != want {
		t.Errorf("index after unload %s, want %s", got, want)
	}
	if r := do(t, "POST", ts.URL+"/v2/repository/models/conv/load", "", nil); r.code != 200 {
		t.Fatalf("load: %d %s", r.code, r.body)
	}
	if r := do(t, "GET", ts.URL+"/v2/models/conv/ready", "", nil); r.code != 200 {
		t.Errorf("reloaded model not ready: %d", r.code)
	}
	for path, want := range map[string]string{
		"/v2/repository/models/notes/load":     `no model \"notes\" in the repository`,
		"/v2/repository/models/..%2Fetc/load":  `no model \"../etc\" in the repository`,
		"/v2/repository/models/missing/unload": `model \"missing\" is not loaded`,
	} {
		if r := do(t, "POST", ts.URL+path, "", nil); r.code != 404 || !strings.Contains(string(r.body), want) {
			t.Errorf("POST %s: %d %s", path, r.code, r.body)
		}
	}
	// A server of one model has no repository.
	_, one := start(t, "mlp", serve.Options{})
	if r := do(t, "POST", one.URL+"/v2/repository/index", "", nil); r.code != 400 {
		t.Errorf("index without a repository: %d", r.code)
	}
	if _, err := serve.NewRepository(t.TempDir(), nil, serve.Options{}); err == nil || !strings.Contains(err.Error(), "no model files") {
		t.Errorf("empty repository: %v", err)
	}
}

// A model of two inputs and no image: metadata lists both with -1 for the
// batch, requests must give both, and the image endpoint and page are not
// there.
func TestAnyInputs(t *testing.T) {
	a, b := graph.Input("a", 2), graph.Input("b", 2)
	m, err := graph.NewModel([]*graph.Tensor{a, b}, []*graph.Tensor{graph.Apply(graph.Add{}, a, b)})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := serve.New(m, serve.Options{Name: "sum", Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, srv)
	r := do(t, "GET", ts.URL+"/v2/models/sum", "", nil)
	if want := `{"name":"sum","versions":["1"],"platform":"tapenet","inputs":[{"name":"a","datatype":"FP32","shape":[-1,2]},{"name":"b","datatype":"FP32","shape":[-1,2]}],"outputs":[{"name":"add1","datatype":"FP32","shape":[-1,2]}]}`; strings.TrimSpace(string(r.body)) != want {
		t.Errorf("metadata %s\nwant %s", r.body, want)
	}
	url := ts.URL + "/v2/models/sum/infer"
	r = postJSON(t, url, inferReq{Inputs: []tensorJSON{{"b", []int{2, 2}, "FP32", []float32{10, 20, 30, 40}}, {"a", []int{2, 2}, "FP32", []float32{1, 2, 3, 4}}}})
	if !strings.Contains(string(r.body), `"data":[11,22,33,44]`) {
		t.Errorf("a + b: %d %s", r.code, r.body)
	}
	for _, bad := range []struct {
		req  inferReq
		want string
	}{
		{inferReq{Inputs: []tensorJSON{{"a", []int{2, 2}, "FP32", []float32{1, 2, 3, 4}}}}, `input \"b\" is missing (model sum takes \"a\", \"b\")`},
		{inferReq{Inputs: []tensorJSON{{"a", []int{2, 2}, "FP32", []float32{1, 2, 3, 4}}, {"b", []int{1, 2}, "FP32", []float32{1, 2}}}}, "every input needs the same batch"},
		{inferReq{Inputs: []tensorJSON{{"a", []int{1, 2}, "INT64", []int{1, 2}}, {"b", []int{1, 2}, "FP32", []float32{1, 2}}}}, `datatype \"INT64\" not supported; model sum takes FP32 or UINT8`},
	} {
		if r := postJSON(t, url, bad.req); r.code != 400 || !strings.Contains(string(r.body), bad.want) {
			t.Errorf("%d %s, want %s", r.code, r.body, bad.want)
		}
	}
	for _, path := range []string{"/", "/app.js"} {
		if r := do(t, "GET", ts.URL+path, "", nil); r.code != 404 {
			t.Errorf("GET %s for a model without images: %d", path, r.code)
		}
	}
	if r := do(t, "POST", ts.URL+"/v1/classify", "image/png", strings.NewReader("x")); r.code != 404 {
		t.Errorf("classify without an image model: %d", r.code)
	}
}

// Cross-origin requests are refused unless --cors-origin allows the
// origin; a preflight is answered for it.
func TestCORS(t *testing.T) {
	_, closed := start(t, "mlp", serve.Options{})
	_, open := start(t, "mlp", serve.Options{Name: "mlp", CORSOrigin: "https://app.example"})
	send := func(base, method, origin string) response {
		req, _ := http.NewRequest(method, base+"/v2/models/mlp", nil)
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return response{code: resp.StatusCode, hdr: resp.Header}
	}
	if r := send(closed.URL, "GET", "https://evil.example"); r.code != 403 {
		t.Errorf("cross-origin without --cors-origin: %d", r.code)
	}
	if r := send(closed.URL, "GET", closed.URL); r.code != 200 {
		t.Errorf("same origin: %d", r.code)
	}
	if r := send(open.URL, "GET", "https://app.example"); r.code != 200 || r.hdr.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("allowed origin: %d %v", r.code, r.hdr)
	}
	if r := send(open.URL, "OPTIONS", "https://app.example"); r.code != 204 || !strings.Contains(r.hdr.Get("Access-Control-Allow-Headers"), "Inference-Header-Content-Length") {
		t.Errorf("preflight: %d %v", r.code, r.hdr)
	}
	if r := send(open.URL, "GET", "https://other.example"); r.code != 403 {
		t.Errorf("another origin: %d", r.code)
	}
}

// newTestServer serves srv on a test listener until the test ends.
func newTestServer(t testing.TB, srv *serve.Server) *httptest.Server {
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return ts
}
