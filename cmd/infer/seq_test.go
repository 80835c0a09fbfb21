package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/numpyio"
)

// A sequence model's bad inputs through --input: an id outside the
// vocabulary, a sequence longer than the model's positions, a length
// above the sequence's: one line each, exit 1, nothing written.
func TestSequenceInputErrors(t *testing.T) {
	dir := t.TempDir()
	ids := graph.Input("ids", 6).As(graph.Int64)
	lengths := graph.Input("lengths").As(graph.Int64)
	h := graph.Apply(&graph.Embedding{Vocab: 10, Dim: 4}, ids)
	h = graph.Apply(&graph.PositionalEmbedding{MaxLen: 6}, h)
	h = graph.Apply(&graph.LSTM{Units: 3, Bidirectional: true}, h, lengths)
	m, err := graph.NewModel([]*graph.Tensor{ids, lengths}, []*graph.Tensor{h})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	writeModel(t, filepath.Join(dir, "seq.safetensors"), m)
	int64s := func(name string, shape []int, v ...int64) {
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		writeNPY(t, filepath.Join(dir, name), numpyio.Array{Shape: shape, Data: f, DType: "int64", Ints: v})
	}
	int64s("ok.npy", []int{2, 6}, 1, 2, 3, 4, 5, 6, 9, 8, 7, 0, 0, 0)
	int64s("vocab.npy", []int{2, 6}, 1, 2, 3, 4, 5, 6, 9, 10, 7, 0, 0, 0)
	int64s("negative.npy", []int{2, 6}, 1, 2, -3, 4, 5, 6, 9, 8, 7, 0, 0, 0)
	int64s("long.npy", []int{2, 7}, 1, 2, 3, 4, 5, 6, 7, 9, 8, 7, 0, 0, 0, 0)
	int64s("len.npy", []int{2}, 6, 3)
	int64s("len7.npy", []int{2}, 6, 7)
	if _, se, code := infer(t, dir, "--model", "seq.safetensors", "--input", "ids=ok.npy", "--input", "lengths=len.npy"); code != 0 {
		t.Fatalf("good input: exit %d: %s", code, se)
	}
	for _, tc := range []struct {
		ids, lengths, want string
	}{
		{"vocab.npy", "len.npy", "layer embedding1: embedding: input value out of range: id 10 outside the vocabulary of 10"},
		{"negative.npy", "len.npy", "id -3 outside the vocabulary of 10"},
		{"long.npy", "len.npy", `--input long.npy: input "ids" takes int64 (N, 6); got int64 (2, 7)`},
		{"ok.npy", "len7.npy", "layer lstm1: lstm: input value out of range: length 7 of sample 1 is outside [0, 6]"},
	} {
		_, se, code := infer(t, dir, "--model", "seq.safetensors", "--input", "ids="+tc.ids, "--input", "lengths="+tc.lengths, "--output", "o.npy")
		if code != 1 || !strings.Contains(se, tc.want) || strings.Count(se, "\n") != 1 {
			t.Errorf("%s %s: exit %d %q, want 1 and one line with %q", tc.ids, tc.lengths, code, se, tc.want)
		}
		if written, _ := filepath.Glob(filepath.Join(dir, "o.npy*")); len(written) > 0 {
			t.Errorf("%s: %v written", tc.ids, written)
		}
		t.Logf("%s", se)
	}
}
