package serve

import (
	"strconv"
	"testing"
)

// Any body and Inference-Header-Content-Length: an error or a request
// whose binary inputs are slices of the body's tail, never a panic; the
// binary decoder reads exactly what the shape needs.
func FuzzHTTPInference(f *testing.F) {
	head := `{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","parameters":{"binary_data_size":8}}],"parameters":{"binary_data_output":true}}`
	f.Add([]byte(head+"\x00\x00\x80\x3f\x00\x00\x00\x40"), strconv.Itoa(len(head)))
	f.Add([]byte(`{"inputs":[{"name":"x","shape":[1,1],"datatype":"INT64","data":[1]}],"outputs":[{"name":"y","parameters":{"classification":2,"binary_data":false}}]}`), "")
	f.Add([]byte(`{"inputs":[{"name":"x","parameters":{"binary_data_size":-1}}]}`), "0")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		req, err := parseHTTPInference(body, header)
		if err != nil {
			return
		}
		claimed := 0
		for _, in := range req.inputs {
			if in.hasRaw {
				claimed += len(in.raw)
				for _, dt := range []string{"FP32", "UINT8", "INT64", "INT32"} {
					if size := elemSize(dt); len(in.raw)%size == 0 {
						v, err := decodeBinary(in.raw, dt, len(in.raw)/size)
						if err == nil && v.len() != len(in.raw)/size {
							t.Fatalf("%s: %d elements from %d bytes", dt, v.len(), len(in.raw))
						}
					}
				}
			}
		}
		if claimed > len(body) {
			t.Fatalf("inputs claim %d bytes of a %d-byte body", claimed, len(body))
		}
		for _, o := range req.outputs {
			if o.classes < 0 {
				t.Fatalf("classification %d", o.classes)
			}
		}
	})
}
