package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/tapenet/tapenet/models"
	"github.com/tapenet/tapenet/serve"
)

// Serve the embedded mlp and ask it, in the Open Inference Protocol, what
// the first MNIST test image is.
func Example() {
	m, err := models.Open("mlp")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := serve.New(m, serve.Options{Name: "mlp"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	srv.WaitReady(context.Background())
	ts := httptest.NewServer(srv) // or srv.Serve(ctx, listener)
	defer ts.Close()

	x, _ := json.Marshal(sample(0)) // 784 values in [0, 1]
	body := `{"id": "first", "inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32", "data": ` + string(x) + `}]}`
	resp, err := http.Post(ts.URL+"/v2/models/mlp/infer", "application/json", strings.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var out struct {
		ID      string `json:"id"`
		Outputs []struct {
			Name  string    `json:"name"`
			Shape []int     `json:"shape"`
			Data  []float32 `json:"data"`
		} `json:"outputs"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	probs := out.Outputs[0].Data
	class := 0
	for c, p := range probs {
		if p > probs[class] {
			class = c
		}
	}
	fmt.Println(resp.StatusCode, out.ID, out.Outputs[0].Name, out.Outputs[0].Shape, "class", class)
	// Output: 200 first softmax1 [1 10] class 7
}
