package serve_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/serve"
)

// A model of int64 ids (an embedding): metadata says INT64 with -1 for the
// batch; INT64 data in JSON and in binary give the model's own outputs.
func TestInt64Inputs(t *testing.T) {
	ids := graph.Input("ids", 4).As(graph.Int64)
	emb := graph.Apply(&graph.Embedding{Vocab: 10, Dim: 3}, ids)
	m, err := graph.NewModel([]*graph.Tensor{ids}, []*graph.Tensor{graph.Apply(&graph.Dense{Units: 2}, graph.Apply(graph.Flatten{}, emb))})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	x := []int64{1, 2, 3, 9, 0, 0, 7, 5}
	out, err := graph.NewPredictor(m).Predict(tensor.New(tensor.WithShape(2, 4), tensor.WithBacking(slices.Clone(x))))
	if err != nil {
		t.Fatal(err)
	}
	want := fp32Bytes(out[0].Data().([]float32))
	srv, err := serve.New(m, serve.Options{Name: "ids", Workers: 1, MaxBatch: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, srv)
	r := do(t, "GET", ts.URL+"/v2/models/ids", "", nil)
	if !strings.Contains(string(r.body), `"inputs":[{"name":"ids","datatype":"INT64","shape":[-1,4]}]`) {
		t.Errorf("metadata %s", r.body)
	}
	url := ts.URL + "/v2/models/ids/infer"
	r = postJSON(t, url, map[string]any{"inputs": []tensorJSON{{"ids", []int{2, 4}, "INT64", x}}, "parameters": map[string]any{"binary_data_output": true}})
	if _, tail := splitAnswer(t, r); r.code != 200 || !bytes.Equal(tail, want) {
		t.Errorf("INT64 JSON: %d %s", r.code, r.body)
	}
	var raw []byte
	for _, v := range x {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
	}
	body, hl := binaryBody(t, map[string]any{"inputs": []any{map[string]any{"name": "ids", "shape": []int{2, 4}, "datatype": "INT64", "parameters": map[string]any{"binary_data_size": len(raw)}}}, "parameters": map[string]any{"binary_data_output": true}}, raw)
	r = postBinary(t, url, body, hl)
	if _, tail := splitAnswer(t, r); r.code != 200 || !bytes.Equal(tail, want) {
		t.Errorf("INT64 binary: %d %s", r.code, r.body)
	}
	for _, bad := range []struct{ data, msg string }{
		{`[1,2,3,4,5,6,7,1.5]`, `1.5 is not an INT64`},
		{`[1,2,3,4,5,6,7,99999999999999999999]`, `is not an INT64`},
		{`[1,2,3,4,5,6,7,10]`, `outside the vocabulary of 10`},
	} {
		var req map[string]any
		json.Unmarshal([]byte(`{"inputs":[{"name":"ids","shape":[2,4],"datatype":"INT64","data":`+bad.data+`}]}`), &req)
		if r := postJSON(t, url, req); r.code != 400 || !strings.Contains(string(r.body), bad.msg) {
			t.Errorf("%s: %d %s", bad.data, r.code, r.body)
		}
	}
	if r := postJSON(t, url, inferReq{Inputs: []tensorJSON{{"ids", []int{2, 4}, "FP32", make([]float32, 8)}}}); r.code != 400 || !strings.Contains(string(r.body), `model ids takes INT64 or INT32`) {
		t.Errorf("FP32 for INT64: %d %s", r.code, r.body)
	}
}
