package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/examples/book2/internal/seqdata"
	"github.com/tapenet/tapenet/graph"
	"gorgonia.org/tensor"
)

// TestTrainsAndScores runs two epochs on 400 generated questions read back
// through --data, plain and peeky: the loss must fall and each accuracy be
// a percentage.
func TestTrainsAndScores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "addition.txt")
	var buf bytes.Buffer
	if err := seqdata.WriteAddition(&buf, 400, 3); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, flags := range [][]string{{"--reverse"}, {"--reverse", "--peeky"}} {
		trainsAndScores(t, append([]string{"--data", path, "--epochs", "2"}, flags...))
	}
}

func trainsAndScores(t *testing.T, args []string) {
	t.Helper()
	var out bytes.Buffer
	if err := run(args, &out, &out); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`epoch (\d)  loss ([0-9.]+)  val acc ([0-9.]+)%`)
	m := re.FindAllStringSubmatch(out.String(), -1)
	if len(m) != 2 || !strings.Contains(out.String(), "360 train, 40 test") || !strings.Contains(out.String(), "book (figure 7-26") {
		t.Fatalf("%v: output:\n%s", args, out.String())
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
	if !(losses[1] < losses[0]) || losses[0] > 2.7 {
		t.Errorf("%v: losses %v: want a falling loss starting near ln 13", args, losses)
	}
}

// TestStepperAnswersEqualWhole: the answers of the stateful Stepper equal
// greedy decoding by the whole model (the decoder is causal: run it with
// the answer so far and read step j), for the plain and the peeky model.
func TestStepperAnswersEqualWhole(t *testing.T) {
	var buf bytes.Buffer
	if err := seqdata.WriteAddition(&buf, 60, 5); err != nil {
		t.Fatal(err)
	}
	d, err := seqdata.Read(&buf, 1984)
	if err != nil {
		t.Fatal(err)
	}
	start, s := d.IDs['_'], d.ALen-1
	for _, peeky := range []bool{false, true} {
		m, err := model(len(d.Chars), d.QLen, s, peeky)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(11)
		q, _, _ := tensors(d, 0, d.N(), true)
		got, err := answers(m, q, s, start)
		if err != nil {
			t.Fatal(err)
		}
		k := d.N()
		pr := graph.NewPredictor(m)
		in := make([]float32, k*s)
		for r := 0; r < k; r++ {
			in[r*s] = float32(start)
		}
		distinct := map[int]bool{}
		for j := 0; j < s; j++ {
			out, err := pr.Predict(q, tensor.New(tensor.WithShape(k, s), tensor.WithBacking(append([]float32(nil), in...))))
			if err != nil {
				t.Fatal(err)
			}
			y := out[0].Float32s()
			v := len(d.Chars)
			for r := 0; r < k; r++ {
				row := y[(r*s+j)*v : (r*s+j+1)*v]
				best := 0
				for c, p := range row {
					if p > row[best] {
						best = c
					}
				}
				if got[r][j] != best {
					t.Fatalf("peeky %v: question %d, step %d: stepper %d, whole model %d", peeky, r, j, got[r][j], best)
				}
				distinct[best] = true
				if j+1 < s {
					in[r*s+j+1] = float32(best)
				}
			}
		}
		if len(distinct) < 2 {
			t.Errorf("peeky %v: every answer character is the same; the comparison says little", peeky)
		}
	}
}

func TestBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(bad, []byte("1+1  _2  \nno mark\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", bad}, "line 2: no '_'"},
		{[]string{"--data", filepath.Join(t.TempDir(), "missing.txt")}, "missing.txt"},
		{[]string{"--epochs", "0"}, "--epochs"},
		{[]string{"--limit", "5"}, "no training or no test rows"},
	} {
		var out bytes.Buffer
		if err := run(tc.args, &out, &out); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.want)
		}
	}
}
