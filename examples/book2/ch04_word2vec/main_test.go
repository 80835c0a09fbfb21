package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/cli"
)

// compareBookOutput checks out against the numpy output want line by line:
// the same lines and words, and each " word: score" within tol.
func compareBookOutput(t *testing.T, out, want string, tol float64) {
	t.Helper()
	got, exp := strings.Split(strings.TrimRight(out, "\n"), "\n"), strings.Split(strings.TrimRight(want, "\n"), "\n")
	if len(got) != len(exp) {
		t.Fatalf("%d lines, numpy printed %d:\n%s", len(got), len(exp), out)
	}
	for i := range got {
		gw, gs, gok := strings.Cut(got[i], ": ")
		ew, es, eok := strings.Cut(exp[i], ": ")
		if gok != eok || gw != ew {
			t.Errorf("line %d: %q, numpy %q", i+1, got[i], exp[i])
			continue
		}
		if !gok {
			continue
		}
		g, err1 := strconv.ParseFloat(gs, 64)
		e, err2 := strconv.ParseFloat(es, 64)
		if err1 != nil || err2 != nil || math.Abs(g-e) > tol {
			t.Errorf("line %d: %q, numpy %q", i+1, got[i], exp[i])
		}
	}
}

// The numpy re-implementation of the book's CBOW wrote the fixture and ran
// eval.py's queries on it: the same words in the same order, the scores to
// float64 rounding.
func TestEvalMatchesNumpy(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"--params", "../testdata/cbow_params.pkl"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../testdata/ch04_expected.txt")
	if err != nil {
		t.Fatal(err)
	}
	compareBookOutput(t, out.String(), string(want), 1e-12)
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rnnlm, err := os.ReadFile("../testdata/Rnnlm.pkl")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, cli.ExitUsage, "--params is required"},
		{[]string{"--params", filepath.Join(dir, "missing.pkl")}, cli.ExitFailure, "no such file"},
		{[]string{"--params", write("list.pkl", rnnlm)}, cli.ExitFailure, "not a dict of word_vecs"},
		{[]string{"--params", write("junk.pkl", []byte("not a pickle"))}, cli.ExitFailure, "does not start with the PROTO opcode"},
		{[]string{"--params", "../testdata/cbow_params.pkl", "--top", "0"}, cli.ExitUsage, "--top must be positive"},
	} {
		var stderr bytes.Buffer
		code := cli.Run("ch04_word2vec", run, c.args, &bytes.Buffer{}, &stderr)
		msg := stderr.String()
		if code != c.code || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line with %q", c.args, code, msg, c.code, c.want)
		}
	}
}
