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

const fixtureText = "the king took the car . you say goodbye and i say hello"

// The book's Rnnlm forward in numpy (float64, from the same float16
// weights) gives the same five words per step in the same order and the
// same probabilities to the printed 5 decimals (±1e-5).
func TestMatchesNumpy(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"--params", "../testdata/Rnnlm.pkl", "--vocab", "../testdata/cbow_params.pkl", "--text", fixtureText}, &out, nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../testdata/ch06_expected.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if !strings.Contains(want[0], fixtureText) {
		t.Fatalf("fixture was made for %q", want[0])
	}
	want = want[1:]
	got := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("%d lines, numpy %d:\n%s", len(got), len(want), out.String())
	}
	for i := range got {
		gf, ef := strings.Fields(got[i]), strings.Fields(want[i])
		if len(gf) != len(ef) || gf[0] != ef[0] {
			t.Fatalf("line %d: %q, numpy %q", i+1, got[i], want[i])
		}
		for k := 2; k < len(gf); k++ {
			gw, gp, _ := strings.Cut(gf[k], ":")
			ew, ep, _ := strings.Cut(ef[k], ":")
			g, _ := strconv.ParseFloat(gp, 64)
			e, _ := strconv.ParseFloat(ep, 64)
			if gw != ew || math.Abs(g-e) > 1.01e-5 {
				t.Errorf("line %d: %q, numpy %q", i+1, got[i], want[i])
			}
		}
	}
}

// TestGenerateMatchesNumpy: the book's RnnlmGen.generate in numpy
// (testdata/make_generate.py), seeded with np.random.seed, writes the same
// words, skipped words and all.
func TestGenerateMatchesNumpy(t *testing.T) {
	data, err := os.ReadFile("testdata/generate_expected.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d cases in the fixture", len(lines))
	}
	for _, line := range lines {
		head, want, _ := strings.Cut(line, ": ")
		f := strings.Fields(head) // seed start size skip
		skip := f[3]
		if skip == "-" {
			skip = ""
		}
		var out bytes.Buffer
		args := []string{"--params", "../testdata/Rnnlm.pkl", "--vocab", "../testdata/cbow_params.pkl",
			"--generate", f[2], "--start", f[1], "--seed", f[0], "--skip", skip}
		if err := run(args, &out, nil); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(out.String()); got != want {
			t.Errorf("%s:\n got   %s\n numpy %s", head, got, want)
		}
		n, _ := strconv.Atoi(f[2])
		if got := len(strings.Fields(out.String())); got != n {
			t.Errorf("%s: %d words", head, got)
		}
		for _, w := range strings.Fields(out.String()) {
			if skip != "" && strings.Contains(","+skip+",", ","+w+",") {
				t.Errorf("%s: generated the skipped word %q", head, w)
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	cbow, err := os.ReadFile("../testdata/cbow_params.pkl")
	if err != nil {
		t.Fatal(err)
	}
	notList := filepath.Join(dir, "dict.pkl")
	if err := os.WriteFile(notList, cbow, 0o644); err != nil {
		t.Fatal(err)
	}
	ok := []string{"--params", "../testdata/Rnnlm.pkl", "--vocab", "../testdata/cbow_params.pkl"}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--text", "the"}, cli.ExitUsage, "are required"},
		{append(ok, "--text", "the", "--generate", "5"), cli.ExitUsage, "one of --text and --generate"},
		{ok, cli.ExitUsage, "one of --text and --generate"},
		{append(ok, "--generate", "-1"), cli.ExitUsage, "--generate not negative"},
		{append(ok, "--generate", "5", "--start", "zebra"), cli.ExitFailure, `--start: word "zebra" is not in the vocabulary`},
		{append(ok, "--generate", "5", "--seed", "x"), cli.ExitUsage, "seed"},
		{append(ok, "--text", "the zebra"), cli.ExitFailure, `word "zebra" is not in the vocabulary`},
		{[]string{"--params", notList, "--vocab", "../testdata/cbow_params.pkl", "--text", "the"}, cli.ExitFailure, "want a list of numpy arrays"},
		{[]string{"--params", "../testdata/cbow_params.pkl", "--vocab", "../testdata/Rnnlm.pkl", "--text", "the"}, cli.ExitFailure, "not a dict of word_vecs"},
		{[]string{"--params", "../testdata/Rnnlm_short.pkl", "--vocab", "../testdata/cbow_params.pkl", "--text", "the"}, cli.ExitFailure, "5 arrays, want Rnnlm's 6"},
		{[]string{"--params", "../testdata/Rnnlm_badshape.pkl", "--vocab", "../testdata/cbow_params.pkl", "--text", "the"}, cli.ExitFailure, "array 2 (lstm Wh) has shape [64 16], the model wants [16 64]"},
	} {
		var stderr bytes.Buffer
		code := cli.Run("ch06_rnnlm", run, c.args, &bytes.Buffer{}, &stderr)
		msg := stderr.String()
		if code != c.code || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line with %q", c.args, code, msg, c.code, c.want)
		}
	}
}
