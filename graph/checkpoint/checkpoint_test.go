package checkpoint_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
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

// ckpt builds a checkpoint header from a spec and tensor entries (JSON
// members, without braces).
func ckpt(spec, tensors string) string {
	meta, _ := json.Marshal(map[string]string{"format": "tapenet", "format_version": "1", "spec": spec})
	if tensors != "" {
		tensors = "," + tensors
	}
	return `{"__metadata__":` + string(meta) + tensors + `}`
}

// Hostile checkpoints: small files that claim a lot.
var (
	twoDense16384 = withHeader(ckpt(`{"format":"tapenet.sequential/v1","input":[16384],"layers":[{"name":"fc1","kind":"dense","config":{"units":16384}},{"name":"fc2","kind":"dense","config":{"units":16384}}]}`, ""), nil)
	oneGiBSpec    = `{"format":"tapenet.sequential/v1","input":[16384],"layers":[{"name":"fc1","kind":"dense","config":{"units":16383}}]}`
	oneGiBNoData  = withHeader(ckpt(oneGiBSpec, ""), nil)
	oneGiBClaimed = withHeader(ckpt(oneGiBSpec, `"fc1.weight":{"dtype":"F32","shape":[16384,16383],"data_offsets":[0,1073676288]},"fc1.bias":{"dtype":"F32","shape":[16383],"data_offsets":[1073676288,1073741820]}`), nil)
)

// manyLayers returns a checkpoint whose spec has n ReLU layers.
func manyLayers(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"format":"tapenet.sequential/v1","input":[4],"layers":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"r%d","kind":"relu"}`, i)
	}
	b.WriteString(`]}`)
	return withHeader(ckpt(b.String(), ""), nil)
}

// stream hides the length of a reader, as a pipe would.
type stream struct{ io.Reader }

// allocated returns the bytes f allocates (garbage included).
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func TestCheckpointErrors(t *testing.T) {
	good := checkpointBytes(t)
	hlen := binary.LittleEndian.Uint64(good)
	header := string(good[8 : 8+hlen])
	data := good[8+hlen:]
	spec := `{"format":"tapenet.sequential/v1","input":[3],"layers":[{"name":"fc1","kind":"dense","config":{"units":2}}]}`
	w := `"fc1.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]}`
	bias := `"fc1.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}`
	for _, test := range []struct {
		name           string
		in             []byte
		want, wantPipe string // wantPipe: when the length is unknown ("" = want)
	}{
		{"empty", nil, "shorter than the 8-byte header length", "header length"},
		{"huge header", binary.LittleEndian.AppendUint64(nil, 1<<40), "out of range", ""},
		{"text file", []byte("this is a text file, not a checkpoint at all\n"), "not a safetensors file", ""},
		{"short header", good[:20], "header length is 528 bytes, but the file has only 12 after it (20 in all)", "file ends 12 bytes after it (20 in all)"},
		{"truncated data", good[:len(good)-3], "file is 565 bytes, but its header describes 568 (8 + 528 of header + 32 of data)", "file ends 29 bytes into the 32 bytes of data"},
		{"trailing data", append(append([]byte(nil), good...), 0), "file is 569 bytes, but its header describes 568", "bytes follow the 32 bytes of data"},
		{"bad json", withHeader("{nope", nil), "header JSON", ""},
		{"json then junk", withHeader(`{}{}`, nil), "bytes after the object", ""},
		{"f16", withHeader(`{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}`, []byte{0, 0}), "dtype", ""},
		{"gap", withHeader(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "data_offsets", ""},
		{"size mismatch", withHeader(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), "data_offsets", ""},
		{"huge shape", withHeader(`{"a":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4]}}`, nil), "more than", ""},
		{"not tapenet", withHeader(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), "not a tapenet checkpoint", ""},
		{"version", withHeader(strings.Replace(header, `"format_version":"1"`, `"format_version":"9"`, 1), data), "format_version", ""},
		{"missing param", withHeader(strings.Replace(header, `"fc1.bias"`, `"fc1.other"`, 1), data), "parameter fc1.bias missing", ""},
		{"duplicate tensor", withHeader(ckpt(spec, w+","+bias+","+bias), data), `tensor "fc1.bias" appears twice`, ""},
		{"duplicate metadata", withHeader(`{"__metadata__":{"format":"tapenet"},"__metadata__":{}}`, nil), "__metadata__ appears twice", ""},
		{"duplicate metadata key", withHeader(`{"__metadata__":{"format":"x","format":"tapenet"}}`, nil), `key "format" appears twice`, ""},
		{"wrong shape", withHeader(ckpt(spec, `"fc1.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},`+bias), data), "tensor fc1.weight has shape [2 3], the model wants [3 2]", ""},
		{"extra tensor", withHeader(ckpt(spec, w+","+bias+`,"x":{"dtype":"F32","shape":[1],"data_offsets":[32,36]}`), append(slices.Clone(data), 0, 0, 0, 0)), `tensor "x" is not a parameter`, ""},
		{"two 16384-unit layers", twoDense16384, "parameter values", ""},
		{"1 GiB model, no tensors", oneGiBNoData, "parameter fc1.weight missing", ""},
		{"1 GiB model, no data", oneGiBClaimed, "file is 375 bytes, but its header describes 1073742195", "file ends 0 bytes into the 1073741820 bytes of data"},
		{"10^5+1 layers", manyLayers(graph.MaxLayers + 1), "more than 100000 layers", ""},
	} {
		t.Run(test.name, func(t *testing.T) {
			for _, pipe := range []bool{false, true} {
				var r io.Reader = bytes.NewReader(test.in)
				want := test.want
				if pipe {
					r = stream{r}
					if test.wantPipe != "" {
						want = test.wantPipe
					}
				}
				var err error
				bytes := allocated(func() { _, err = checkpoint.Read(r, nil) })
				if err == nil {
					t.Fatal("no error")
				}
				if !errors.Is(err, checkpoint.ErrMalformed) || !strings.Contains(err.Error(), want) {
					t.Errorf("pipe %v: error %q: want ErrMalformed mentioning %q", pipe, err, want)
				}
				// Memory in proportion to the input, whatever it claims.
				if budget := 4<<20 + 64*uint64(len(test.in)); bytes > budget {
					t.Errorf("pipe %v: allocated %d bytes for a %d-byte input (budget %d)", pipe, bytes, len(test.in), budget)
				}
			}
		})
	}
}

// TestUnknownKind: a layer kind the program does not register is not
// "malformed": the error says the checkpoint needs a program that
// registers it.
func TestUnknownKind(t *testing.T) {
	in := withHeader(ckpt(`{"format":"tapenet.sequential/v1","input":[2],"layers":[{"name":"scale1","kind":"scale","config":{"init":0.5}}]}`, `"scale1.gain":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`), make([]byte, 8))
	_, err := checkpoint.Read(bytes.NewReader(in), nil)
	if !errors.Is(err, graph.ErrUnknownKind) || errors.Is(err, checkpoint.ErrMalformed) || !strings.Contains(err.Error(), "needs a program that registers that kind") {
		t.Errorf("got %v", err)
	}
}

// TestReadStreamed reads a checkpoint from a reader that does not tell its
// length, and through a file.
func TestReadStreamed(t *testing.T) {
	good := checkpointBytes(t)
	want, err := checkpoint.Read(bytes.NewReader(good), nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, r := range []io.Reader{stream{bytes.NewReader(good)}, f} {
		m, err := checkpoint.Read(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range want.ParamNames() {
			if !slices.Equal(m.Param(name).Data().([]float32), want.Param(name).Data().([]float32)) {
				t.Errorf("%T: parameter %s differs", r, name)
			}
		}
	}
	st, err := checkpoint.ReadSafetensors(bytes.NewReader(good))
	if err != nil || !slices.Equal(st.Names, want.ParamNames()) {
		t.Errorf("ReadSafetensors: %v %v", st, err)
	}
}

// TestHeaderLowByte0x80: a header length whose first byte is a pickle's
// PROTO opcode is still a safetensors file.
func TestHeaderLowByte0x80(t *testing.T) {
	spec := `{"format":"tapenet.sequential/v1","input":[2],"layers":[{"name":"fc1","kind":"dense","config":{"units":2}},{"name":"softmax1","kind":"softmax"}]}`
	h := ckpt(spec, `"fc1.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"fc1.bias":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}`)
	for len(h)%256 != 0x80 {
		h += " "
	}
	in := withHeader(h, make([]byte, 24))
	if in[0] != 0x80 {
		t.Fatal("bad fixture")
	}
	if _, err := checkpoint.Read(bytes.NewReader(in), nil); err != nil {
		t.Fatal(err)
	}
}

func FuzzReadCheckpoint(f *testing.F) {
	f.Add(checkpointBytes(f))
	f.Add(withHeader(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(twoDense16384)
	f.Add(oneGiBNoData)
	f.Add(oneGiBClaimed)
	f.Add(withHeader(`{"__metadata__":{"format":"tapenet"},"__metadata__":{}}`, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m *graph.Model
		var err error
		// The bytes allocated stay in proportion to the input (a model
		// whose layers have no parameters costs some per layer).
		if n, budget := allocated(func() { m, err = checkpoint.Read(bytes.NewReader(b), nil) }), 4<<20+4096*uint64(len(b)); n > budget {
			t.Fatalf("allocated %d bytes for %d input bytes", n, len(b))
		}
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
	f.Add([]byte(`{"format":"tapenet.model/v2","inputs":[{"name":"x","shape":[3],"batch":4}],"layers":[{"name":"fc1","kind":"dense","config":{"units":2}},{"name":"l","kind":"log_softmax"}],"nodes":[{"layer":"fc1","inputs":["x"]},{"layer":"l","inputs":["fc1"]}],"outputs":["l"]}`))
	f.Add([]byte(`{"format":"tapenet.model/v2","inputs":[{"name":"ids","shape":[5],"dtype":"int64"},{"name":"x","shape":[5],"dtype":"float32"}],"layers":[{"name":"a","kind":"add"}],"nodes":[{"layer":"a","inputs":["ids","x"]}],"outputs":["a"]}`))
	f.Add([]byte(`{"format":"tapenet.model/v2","inputs":[{"name":"x","shape":[],"batch":3}],"layers":[{"name":"i","kind":"identity"}],"nodes":[{"layer":"i","inputs":["x"]}],"outputs":["i"]}`))
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

// TestEmbeddedWeightsKeepTheirBytes reads each checkpoint of the model
// zoo (tapenet.model/v2 specs, float32 inputs of a symbolic batch) and
// writes it back: the bytes must not change, so the typed inputs and fixed
// batches of the spec cost older models nothing.
func TestEmbeddedWeightsKeepTheirBytes(t *testing.T) {
	files, err := filepath.Glob("../../models/weights/*.safetensors")
	if err != nil || len(files) == 0 {
		t.Fatalf("no embedded weights found: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		m, err := checkpoint.Read(bytes.NewReader(b), nil)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var out bytes.Buffer
		if err := checkpoint.Write(&out, m); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), b) {
			t.Errorf("%s: written back as %d different bytes (was %d)", file, out.Len(), len(b))
		}
	}
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
