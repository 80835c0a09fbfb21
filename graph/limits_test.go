package graph_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/graph"
)

// TestFromSpecParams: the loader sees every parameter's name and shape
// before anything is allocated; its error comes back as it is, and the
// values it gives become the model's own.
func TestFromSpecParams(t *testing.T) {
	spec := []byte(`{"format":"tapenet.sequential/v1","input":[3],"layers":[{"name":"fc1","kind":"dense","config":{"units":2}},{"name":"bn","kind":"batchnorm"}]}`)
	var got []graph.ParamInfo
	stop := errors.New("stop")
	_, err := graph.FromSpecParams(spec, nil, func(ps []graph.ParamInfo) ([][]float32, error) {
		got = ps
		return nil, stop
	})
	if err != stop {
		t.Fatalf("the loader's error came back as %v", err)
	}
	var names []string
	for _, p := range got {
		names = append(names, fmt.Sprintf("%s%v%v", p.Name, p.Shape, p.Buffer))
	}
	if want := "fc1.weight[3 2]false fc1.bias[2]false bn.weight[2]false bn.bias[2]false bn.running_mean[2]true bn.running_var[2]true"; strings.Join(names, " ") != want {
		t.Errorf("loader saw %s\nwant %s", strings.Join(names, " "), want)
	}
	vals := [][]float32{{1, 2, 3, 4, 5, 6}, {7, 8}, {1, 1}, {0, 0}, {0, 0}, {1, 1}}
	m, err := graph.FromSpecParams(spec, nil, func(ps []graph.ParamInfo) ([][]float32, error) { return vals, nil })
	if err != nil {
		t.Fatal(err)
	}
	if w := m.Param("fc1.weight").Data().([]float32); &w[0] != &vals[0][0] || !slices.Equal(m.Param("fc1.bias").Data().([]float32), []float32{7, 8}) {
		t.Error("the model does not hold the loader's values")
	}
	for _, bad := range [][][]float32{vals[:2], append([][]float32{{1}}, vals[1:]...)} {
		if _, err := graph.FromSpecParams(spec, nil, func([]graph.ParamInfo) ([][]float32, error) { return bad, nil }); err == nil {
			t.Error("a loader's values of the wrong count or size were accepted")
		}
	}
}

// TestSpecCounts: a spec of more than MaxLayers layers or nodes is refused
// before its layers are decoded; a layer kind the registry lacks wraps
// ErrUnknownKind.
func TestSpecCounts(t *testing.T) {
	many := func(key string, n int) []byte {
		var b strings.Builder
		fmt.Fprintf(&b, `{"format":"tapenet.model/v2","inputs":[{"name":"x","shape":[2]}],"%s":[`, key)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"name":"r","kind":"relu","layer":"r","inputs":["x"]}`)
		}
		b.WriteString(`]}`)
		return []byte(b.String())
	}
	for _, key := range []string{"layers", "nodes"} {
		_, err := graph.FromSpec(many(key, graph.MaxLayers+1), nil)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d %s", graph.MaxLayers, key)) {
			t.Errorf("%s: %v", key, err)
		}
	}
	_, err := graph.FromSpec([]byte(`{"format":"tapenet.sequential/v1","input":[2],"layers":[{"name":"s","kind":"scale"}]}`), nil)
	if !errors.Is(err, graph.ErrUnknownKind) || !strings.Contains(err.Error(), `unknown layer kind "scale"`) {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestSampleValues(t *testing.T) {
	m, err := graph.NewSequential([]int{1, 6, 6}, &graph.Conv2D{Filters: 2, Kernel: 3}, graph.ReLU{}, graph.Flatten{}, &graph.Dense{Units: 5})
	if err != nil {
		t.Fatal(err)
	}
	// input 36, conv 2x4x4 = 32, relu 32, flatten 32, dense 5
	if got := m.SampleValues(); got != 36+32+32+32+5 {
		t.Errorf("SampleValues = %d", got)
	}
}
