package checkpoint_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"gorgonia.org/tensor"
)

func checkpointBytes(t testing.TB) []byte {
	m, err := graph.NewSequential([]int{3}, &graph.Dense{Units: 2}, graph.Softmax{})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withHeader builds a safetensors file from a header and data.
func withHeader(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestCheckpointErrors(t *testing.T) {
	good := checkpointBytes(t)
	hlen := binary.LittleEndian.Uint64(good)
	header := string(good[8 : 8+hlen])
	for _, test := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "header length"},
		{"huge header", binary.LittleEndian.AppendUint64(nil, 1<<40), "out of range"},
		{"short header", good[:20], "header claims"},
		{"truncated data", good[:len(good)-3], "file has"},
		{"trailing data", append(append([]byte(nil), good...), 0), "file has"},
		{"bad json", withHeader("{nope", nil), "header JSON"},
		{"f16", withHeader(`{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}`, []byte{0, 0}), "dtype"},
		{"gap", withHeader(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "data_offsets"},
		{"size mismatch", withHeader(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), "data_offsets"},
		{"huge shape", withHeader(`{"a":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4]}}`, nil), "more than"},
		{"not tapenet", withHeader(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), "not a tapenet checkpoint"},
		{"version", withHeader(strings.Replace(header, `"format_version":"1"`, `"format_version":"9"`, 1), good[8+hlen:]), "format_version"},
		{"missing param", withHeader(strings.Replace(header, `"fc1.bias"`, `"fc1.other"`, 1), good[8+hlen:]), "missing"},
	} {
		t.Run(test.name, func(t *testing.T) {
			_, err := checkpoint.Read(bytes.NewReader(test.in), nil)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, checkpoint.ErrMalformed) || !strings.Contains(err.Error(), test.want) {
				t.Errorf("error %q: want ErrMalformed mentioning %q", err, test.want)
			}
		})
	}
}

func FuzzReadCheckpoint(f *testing.F) {
	f.Add(checkpointBytes(f))
	f.Add(withHeader(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := checkpoint.Read(bytes.NewReader(b), nil)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := checkpoint.Write(&out, m); err != nil {
			t.Fatal(err)
		}
		if _, err := checkpoint.Read(&out, nil); err != nil {
			t.Fatalf("re-reading a written checkpoint: %v", err)
		}
	})
}

// FuzzFromSpec feeds arbitrary JSON to the model-spec decoder: it must
// return a model or an error, never panic, and a model it returns must
// encode back to a spec that decodes to the same spec.
func FuzzFromSpec(f *testing.F) {
	f.Add([]byte(`{"format":"tapenet.sequential/v1","input":[4],"layers":[{"name":"fc1","kind":"dense","config":{"units":3}},{"name":"s","kind":"softmax"}]}`))
	f.Add([]byte(`{"format":"tapenet.sequential/v1","input":[1,8,8],"layers":[{"name":"a","kind":"relu"},{"name":"fc","kind":"dense","config":{"units":2,"init":"xavier"}}]}`))
	f.Add([]byte(`{"format":"tapenet.sequential/v1","input":[2],"layers":[{"name":"t","kind":"tanh"},{"name":"st","kind":"step"},{"name":"i","kind":"identity"},{"name":"sg","kind":"sigmoid"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := graph.FromSpec(b, nil)
		if err != nil {
			return
		}
		spec, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		back, err := graph.FromSpec(spec, nil)
		if err != nil {
			t.Fatalf("re-reading %s: %v", spec, err)
		}
		again, _ := json.Marshal(back)
		if string(again) != string(spec) {
			t.Fatalf("spec changed: %s -> %s", spec, again)
		}
	})
}

// TestReadsSequentialV1 reads a checkpoint written by the first version of
// tapenet (spec "tapenet.sequential/v1": conv, batch norm with running
// statistics, dropout, dense, softmax) and gets the outputs that version
// computed for the same input, printed by it when the file was made.
func TestReadsSequentialV1(t *testing.T) {
	f, err := os.Open("testdata/sequential_v1.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := checkpoint.Read(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !m.IsSequential() || len(m.Nodes()) != 10 || m.Nodes()[9].Name != "softmax1" {
		t.Errorf("nodes %v", m.Nodes())
	}
	x := make([]float32, 2*36)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	out, err := graph.NewPredictor(m).Forward(tensor.New(tensor.WithShape(2, 1, 6, 6), tensor.WithBacking(x)))
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0.5568557, 0.18543571, 0.2577086, 0.5569346, 0.18913332, 0.2539321}
	for i, v := range out.Data().([]float32) {
		if math.Abs(float64(v-want[i])) > 1e-6 {
			t.Errorf("output %d = %v, the first version gave %v", i, v, want[i])
		}
	}
	// Saved again, it is written in the current format and reads back.
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, m); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(graph.SpecFormat)) {
		t.Error("a re-saved v1 model is not written in the current spec format")
	}
	if _, err := checkpoint.Read(&buf, nil); err != nil {
		t.Fatal(err)
	}
}
