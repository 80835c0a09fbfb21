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
)

// TestTrainsAndScores runs two epochs on 400 generated questions read back
// through --data: the loss must fall and each accuracy be a percentage.
func TestTrainsAndScores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "addition.txt")
	var buf bytes.Buffer
	if err := seqdata.WriteAddition(&buf, 400, 3); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"--data", path, "--epochs", "2", "--reverse"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`epoch (\d)  loss ([0-9.]+)  val acc ([0-9.]+)%`)
	m := re.FindAllStringSubmatch(out.String(), -1)
	if len(m) != 2 || !strings.Contains(out.String(), "360 train, 40 test") {
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
	if !(losses[1] < losses[0]) || losses[0] > 2.7 {
		t.Errorf("losses %v: want a falling loss starting near ln 13", losses)
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
		{[]string{"--peeky"}, "not implemented"},
		{[]string{"--epochs", "0"}, "--epochs"},
		{[]string{"--limit", "5"}, "no training or no test rows"},
	} {
		var out bytes.Buffer
		if err := run(tc.args, &out, &out); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.want)
		}
	}
}
