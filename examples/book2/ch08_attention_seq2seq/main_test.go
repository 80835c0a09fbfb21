package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/examples/book2/internal/book2"
	"github.com/tapenet/tapenet/examples/book2/internal/seqdata"
)

type expected struct {
	Predictions []string
	Right, Test int
	MinGap      float64 `json:"min_gap"`
	Picks       []int
	Maps        [][][]float64
	Randints    map[string][]int
}

func readExpected(t *testing.T) expected {
	t.Helper()
	raw, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	if len(e.Predictions) != e.Test || e.Test == 0 || len(e.Maps) != 5 {
		t.Fatalf("expected.json: %d predictions for %d questions, %d maps", len(e.Predictions), e.Test, len(e.Maps))
	}
	return e
}

// TestBookParams evaluates the fixture AttentionSeq2seq.pkl (the book's
// save_params format, trained briefly; testdata/make_fixture.py) and
// compares every greedy answer with the book's generate in numpy, answer
// for answer, and the accuracy.
func TestBookParams(t *testing.T) {
	e := readExpected(t)
	dir := t.TempDir()
	preds, pic := filepath.Join(dir, "pred.txt"), filepath.Join(dir, "map.png")
	var out bytes.Buffer
	err := run([]string{"--params", "testdata/AttentionSeq2seq.pkl", "--data", "testdata/date_small.txt",
		"--predictions", preds, "--attention", pic}, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d test questions, val acc %.3f%% (%d right)", e.Test, 100*float64(e.Right)/float64(e.Test), e.Right)
	if !strings.Contains(out.String(), want) {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	raw, err := os.ReadFile(preds)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(got) != len(e.Predictions) {
		t.Fatalf("%d predictions, numpy %d", len(got), len(e.Predictions))
	}
	for i := range got {
		if got[i] != e.Predictions[i] {
			t.Errorf("question %d: %q, numpy %q", i, got[i], e.Predictions[i])
		}
	}
	f, err := os.Open(pic)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 29*18*3 || b.Dy() < 10*18*2 {
		t.Errorf("attention picture %v: want three maps of 29 x 10 cells across and two rows", b)
	}
}

// TestAttentionMaps compares the weights drawn for the figure with
// visualize_attention.py's, computed in numpy: the same five questions
// and every weight within 1e-4.
func TestAttentionMaps(t *testing.T) {
	e := readExpected(t)
	for n, want := range e.Randints {
		k, _ := strconv.Atoi(n)
		if got := seqdata.RandInts(k, 5, 1984); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("randint(0, %d) x5 after seed 1984: %v, numpy %v", k, got, want)
		}
	}
	d, err := seqdata.Load("testdata/date_small.txt", 1984)
	if err != nil {
		t.Fatal(err)
	}
	s := &session{d: d, lo: d.Split, hi: d.N(), v: len(d.Chars), steps: d.ALen - 1}
	m, dim, h, err := s.load("testdata/AttentionSeq2seq.pkl")
	if err != nil {
		t.Fatal(err)
	}
	mp, err := s.attentionMaps(m, dim, h)
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for i, r := range mp.Rows {
		if r-s.lo != e.Picks[i] {
			t.Fatalf("map %d of test row %d, numpy %d", i, r-s.lo, e.Picks[i])
		}
		for j, row := range e.Maps[i] {
			for c, w := range row {
				worst = math.Max(worst, math.Abs(float64(mp.Weights[i][j*d.QLen+c])-w))
			}
		}
	}
	if worst > 1e-4 {
		t.Errorf("attention weights differ from numpy's by up to %g", worst)
	}
}

// TestTrainsAndScores trains two epochs of a small model on 600 generated
// dates: the loss must fall from about ln 59 and the accuracies be
// percentages.
func TestTrainsAndScores(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"--generate", "600", "--epochs", "2", "--hidden", "32"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`epoch (\d)  loss ([0-9.]+)  val acc ([0-9.]+)%`)
	m := re.FindAllStringSubmatch(out.String(), -1)
	if len(m) != 2 || !strings.Contains(out.String(), "540 train, 60 test questions, vocabulary 59") {
		t.Fatalf("output:\n%s", out.String())
	}
	var losses []float64
	for _, e := range m {
		l, _ := strconv.ParseFloat(e[2], 64)
		a, _ := strconv.ParseFloat(e[3], 64)
		if a < 0 || a > 100 {
			t.Errorf("accuracy %v%%", a)
		}
		losses = append(losses, l)
	}
	if !(losses[1] < losses[0]) || losses[0] > 4.1 {
		t.Errorf("losses %v: want a falling loss starting below ln 59", losses)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("2/10/93                      _1993-02-10\nno mark\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := "testdata/date_small.txt"
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--params", "testdata/AttentionSeq2seq_badshape.pkl", "--data", data}, 1,
			"array 8 (affine W) has shape [32 59], the model of a 59-character vocabulary wants [64 59]"},
		{[]string{"--params", "../testdata/Rnnlm.pkl", "--data", data}, 1, "6 arrays, want AttentionSeq2seq's 10"},
		{[]string{"--params", "../testdata/cbow_params.pkl", "--data", data}, 1, "cbow_params.pkl"},
		{[]string{"--params", "testdata/AttentionSeq2seq.pkl", "--data", bad}, 1, "line 2: no '_'"},
		{[]string{"--params", filepath.Join(dir, "missing.pkl"), "--data", data}, 1, "missing.pkl"},
		{[]string{"--params", "testdata/AttentionSeq2seq.pkl"}, 2, "--params needs --data"},
		{[]string{"--predictions", filepath.Join(dir, "p.txt")}, 2, "--predictions needs --params"},
		{[]string{"--epochs", "0"}, 2, "--epochs"},
		{[]string{"--params", "testdata/AttentionSeq2seq.pkl", "--data", data, "--save", filepath.Join(dir, "s.pkl")}, 2, "not with --params"},
		{[]string{"--data", data, "--limit", "5"}, 1, "no training or no test rows"},
	} {
		var stderr bytes.Buffer
		code := cli.Run("ch08_attention_seq2seq", run, tc.args, &bytes.Buffer{}, &stderr)
		msg := stderr.String()
		if code != tc.code || !strings.Contains(msg, tc.want) || strings.Count(strings.TrimSpace(msg), "\n") > 0 && tc.code == 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q on one line", tc.args, code, msg, tc.code, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "p.txt")); err == nil {
		t.Error("a refused run left a predictions file")
	}
}

// FuzzLoadParams feeds any bytes to --params: a model or one error, never
// a panic.
func FuzzLoadParams(f *testing.F) {
	for _, p := range []string{"testdata/AttentionSeq2seq.pkl", "testdata/AttentionSeq2seq_badshape.pkl", "../testdata/Rnnlm.pkl"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	d, err := seqdata.Load("testdata/date_small.txt", 1984)
	if err != nil {
		f.Fatal(err)
	}
	s := &session{d: d, lo: d.Split, hi: d.N(), v: len(d.Chars), steps: d.ALen - 1}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "p.pkl")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		m, _, _, err := s.load(path)
		if (m == nil) == (err == nil) {
			t.Fatalf("model %v and error %v", m != nil, err)
		}
	})
}

// TestSaveRoundTrip writes a model in the book's format and reads it back
// with --params' loader: every parameter comes back as its float16
// rounding, the LSTM gates in place, the two biases summed into the book's
// one (and bias_hh zero).
func TestSaveRoundTrip(t *testing.T) {
	d, err := seqdata.Load("testdata/date_small.txt", 1984)
	if err != nil {
		t.Fatal(err)
	}
	s := &session{d: d, lo: d.Split, hi: d.N(), v: len(d.Chars), steps: d.ALen - 1}
	m, err := s.build(5, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(4) // nonzero biases too
	path := filepath.Join(t.TempDir(), "saved.pkl")
	if err := cli.WriteFile(path, func(w io.Writer) error { return saveBook(w, m, 5, 3) }); err != nil {
		t.Fatal(err)
	}
	back, dim, h, err := s.load(path)
	if err != nil || dim != 5 || h != 3 {
		t.Fatalf("load: %v (wordvec %d, hidden %d)", err, dim, h)
	}
	round := func(v float32) float32 { return float32(half16(book2.Float16(v))) }
	for _, name := range m.ParamNames() {
		want := append([]float32(nil), m.Param(name).Float32s()...)
		switch {
		case strings.HasSuffix(name, "bias_ih"):
			for i, v := range m.Param(strings.Replace(name, "_ih", "_hh", 1)).Float32s() {
				want[i] += v
			}
		case strings.HasSuffix(name, "bias_hh"):
			clear(want)
		}
		for i, v := range back.Param(name).Float32s() {
			if v != round(want[i]) {
				t.Fatalf("%s[%d]: %v, want float16(%v) = %v", name, i, v, want[i], round(want[i]))
			}
		}
	}
	var out bytes.Buffer
	if err := run([]string{"--data", "testdata/date_small.txt", "--limit", "200", "--epochs", "1", "--hidden", "16", "--save", path}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"--data", "testdata/date_small.txt", "--params", path}, &out, &out); err != nil || !strings.Contains(out.String(), "100 test questions") {
		t.Fatalf("evaluating the saved model: %v\n%s", err, out.String())
	}
}

func half16(h uint16) float64 {
	e, m := int(h>>10)&0x1f, float64(h&0x3ff)
	s := 1.0
	if h&0x8000 != 0 {
		s = -1
	}
	if e == 0 {
		return s * m * math.Pow(2, -24)
	}
	return s * (1 + m/1024) * math.Pow(2, float64(e-15))
}

// TestZeroSizes refuses params lists of empty embeddings or states, with
// the file named.
func TestZeroSizes(t *testing.T) {
	for _, dh := range [][2]int{{0, 2}, {2, 0}} {
		d, h, v := dh[0], dh[1], 59
		shapes := [][]int{{v, d}, {d, 4 * h}, {h, 4 * h}, {4 * h}, {v, d}, {d, 4 * h}, {h, 4 * h}, {4 * h}, {2 * h, v}, {v}}
		data := make([][]float32, len(shapes))
		for i, s := range shapes {
			data[i] = make([]float32, s[0]*append(s, 1)[1])
		}
		p := filepath.Join(t.TempDir(), "zero.pkl")
		if err := cli.WriteFile(p, func(w io.Writer) error { return book2.WriteParams(w, shapes, data) }); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		code := cli.Run("ch08_attention_seq2seq", run, []string{"--params", p, "--data", "testdata/date_small.txt"}, &bytes.Buffer{}, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), "zero.pkl") || !strings.Contains(stderr.String(), "must be positive") {
			t.Errorf("wordvec %d hidden %d: exit %d, %q", d, h, code, stderr.String())
		}
	}
}
