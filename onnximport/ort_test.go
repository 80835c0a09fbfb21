package onnximport_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/internal/testutil"
)

// ONNX Runtime runs in Node.js (npm onnxruntime-node, installed for the
// export package's tests): these helpers run many models in one node
// process through testdata/ort_jobs.js.

// ortDir returns the folder whose node_modules holds onnxruntime-node:
// $TAPENET_ORT_DIR, else ../export/testdata/ort. It skips the test when
// node or the package is missing (and fails when TAPENET_ORT_DIR names a
// folder without it).
func ortDir(t *testing.T) string {
	return testutil.ORTDir(t, filepath.Join("..", "export", "testdata", "ort"))
}

// ortInput is one model input for ONNX Runtime: name, values and dims
// (batch first).
type ortInput struct {
	Name string
	Data []float32
	Dims []int
}

// ortJob runs one model over inputs in batches of Batch.
type ortJob struct {
	Model  []byte
	Batch  int
	Inputs []ortInput
}

// ortResult holds a job's outputs in the session's order, or the error
// ONNX Runtime gave.
type ortResult struct {
	Outputs []ortOutput
	Err     string
}

type ortOutput struct {
	Name string
	Dims []int
	Data []float32
}

// runORT runs the jobs in one node process and returns their results and
// the runtime's version.
func runORT(t *testing.T, jobs []ortJob) ([]ortResult, string) {
	t.Helper()
	dir := ortDir(t)
	script, _ := filepath.Abs(filepath.Join("testdata", "ort_jobs.js"))
	tmp := t.TempDir()
	type jin struct {
		Name string `json:"name"`
		File string `json:"file"`
		Dims []int  `json:"dims"`
	}
	type jjob struct {
		Model  string `json:"model"`
		Batch  int    `json:"batch"`
		Inputs []jin  `json:"inputs"`
		Out    string `json:"out"`
	}
	var spec struct {
		Jobs []jjob `json:"jobs"`
	}
	for k, j := range jobs {
		model := filepath.Join(tmp, fmt.Sprintf("m%d.onnx", k))
		if err := os.WriteFile(model, j.Model, 0o644); err != nil {
			t.Fatal(err)
		}
		jj := jjob{Model: model, Batch: j.Batch, Out: filepath.Join(tmp, fmt.Sprintf("out%d", k))}
		for i, in := range j.Inputs {
			file := filepath.Join(tmp, fmt.Sprintf("in%d_%d.f32", k, i))
			if err := os.WriteFile(file, f32bytes(in.Data), 0o644); err != nil {
				t.Fatal(err)
			}
			jj.Inputs = append(jj.Inputs, jin{in.Name, file, in.Dims})
		}
		spec.Jobs = append(spec.Jobs, jj)
	}
	jobsFile := filepath.Join(tmp, "jobs.json")
	b, _ := json.Marshal(spec)
	if err := os.WriteFile(jobsFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", script, jobsFile)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node ort_jobs.js: %v: %s", err, stderr.String())
	}
	var res struct {
		Version string `json:"ort_version"`
		Results []struct {
			Outputs []struct {
				Name string `json:"name"`
				Dims []int  `json:"dims"`
				File string `json:"file"`
			} `json:"outputs"`
			Error string `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ORT output: %v", err)
	}
	results := make([]ortResult, len(res.Results))
	for k, r := range res.Results {
		results[k].Err = r.Error
		for _, o := range r.Outputs {
			raw, err := os.ReadFile(o.File)
			if err != nil {
				t.Fatal(err)
			}
			results[k].Outputs = append(results[k].Outputs, ortOutput{Name: o.Name, Dims: o.Dims, Data: f32values(raw)})
		}
	}
	return results, res.Version
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func f32values(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for k := range v {
		v[k] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*k:]))
	}
	return v
}

// maxAbsDiff returns the largest absolute difference of two equally long
// slices (+Inf if their lengths differ, or a NaN meets a number).
func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for k := range a {
		x, y := float64(a[k]), float64(b[k])
		if math.IsNaN(x) != math.IsNaN(y) {
			return math.Inf(1)
		}
		if !math.IsNaN(x) {
			d = max(d, math.Abs(x-y))
		}
	}
	return d
}

// argmaxRows returns the index of the largest value of each row of width
// classes.
func argmaxRows(v []float32, classes int) []int {
	var out []int
	for r := 0; (r+1)*classes <= len(v); r++ {
		row := v[r*classes : (r+1)*classes]
		best := 0
		for j := range row {
			if row[j] > row[best] {
				best = j
			}
		}
		out = append(out, best)
	}
	return out
}

func countDiff(a, b []int) int {
	n := max(len(a), len(b)) - min(len(a), len(b))
	for k := range min(len(a), len(b)) {
		if a[k] != b[k] {
			n++
		}
	}
	return n
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.TrimSpace(err.Error())
}
