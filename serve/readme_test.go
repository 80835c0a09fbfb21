package serve_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/internal/testutil"
	"github.com/tapenet/tapenet/serve"
)

var updateExample = flag.Bool("update-example", false, "write docs/infer-seven.json and docs/drawn-7.png, the README's example request and image")

// seven returns the README's example request: MNIST test image 0 (a 7) as
// UINT8 pixels, nested [1,1,28,28], one row of the image per line.
func seven() []byte {
	var b strings.Builder
	b.WriteString(`{"id": "readme-7", "inputs": [{"name": "input", "shape": [1, 1, 28, 28], "datatype": "UINT8", "data": [[[` + "\n")
	x := sample(0)
	for r := range 28 {
		b.WriteString("  [")
		for c := range 28 {
			if c > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%d", int(math.Round(float64(x[r*28+c])*255)))
		}
		b.WriteString("]")
		if r < 27 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("]]]}]}\n")
	return []byte(b.String())
}

// The README's curl examples, against the server the tests start: the
// request file it sends, and the answers it shows.
func TestReadmeExamples(t *testing.T) {
	path := filepath.Join("..", "docs", "infer-seven.json")
	if *updateExample {
		if err := os.WriteFile(path, seven(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, seven()) {
		t.Fatalf("%s is out of date: go test ./serve -run ReadmeExamples -update-example", path)
	}
	_, ts := start(t, "mlp", serve.Options{})

	// curl localhost:8080/v1/classify --data-binary @docs/drawn-7.png
	drawnPath := filepath.Join("..", "docs", "drawn-7.png")
	if *updateExample {
		digit, err := testSet().Gray(0)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(drawnPath, encodePNG(t, testutil.Drawing(digit, 280, rand.New(rand.NewPCG(7, 7)))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	drawn, err := os.ReadFile(drawnPath)
	if err != nil {
		t.Fatal(err)
	}
	formCT, form := multipartBody(t, "image", drawn) // curl -F image=@docs/drawn-7.png
	type upload struct {
		ct   string
		body []byte
	}
	for _, upload := range []upload{{"", drawn}, {formCT, form}} {
		r := do(t, "POST", ts.URL+"/v1/classify", upload.ct, bytes.NewReader(upload.body))
		var c classifyResp
		if err := json.Unmarshal(r.body, &c); err != nil || r.code != 200 || c.Class != 7 {
			t.Errorf("classify docs/drawn-7.png (%q): %d %s", upload.ct, r.code, r.body)
		}
	}

	// curl localhost:8080/v2/models/mlp/infer -d @docs/infer-seven.json
	r := do(t, "POST", ts.URL+"/v2/models/mlp/infer", "", bytes.NewReader(data))
	var got inferResp
	if err := json.Unmarshal(r.body, &got); err != nil || r.code != 200 || got.ID != "readme-7" {
		t.Fatalf("%d %s", r.code, r.body)
	}
	probs := got.Outputs[0].Data
	best := 0
	for c, p := range probs {
		if p > probs[best] {
			best = c
		}
	}
	if best != 7 || probs[7] < 0.99 {
		t.Errorf("the README's 7 reads as %d (p=%.3f)", best, probs[best])
	}
	// The README's error example.
	r = do(t, "POST", ts.URL+"/v2/models/mlp/infer", "", strings.NewReader(`{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP32","data":[0,0]}]}`))
	if want := `{"error":"input \"input\": shape [1,2], want [-1,784] or [-1,1,28,28] or [-1,28,28] (batch first)"}`; r.code != 400 || strings.TrimSpace(string(r.body)) != want {
		t.Errorf("%d %s\nwant 400 %s", r.code, r.body, want)
	}
}
