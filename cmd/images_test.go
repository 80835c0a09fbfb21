package cmd_test

import (
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/datasets"
	"github.com/tapenet/tapenet/internal/testutil"
)

// writeDrawings writes MNIST test digits 0..n-1 as 280x280 drawings, black
// on white at random sizes and positions, alternately PNG and JPEG, and
// returns their paths and labels.
func writeDrawings(t *testing.T, dir string, n int) ([]string, []int) {
	t.Helper()
	set, err := datasets.MNIST(datasets.Test, datasets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	var paths []string
	for i := range n {
		digit, err := set.Gray(i)
		if err != nil {
			t.Fatal(err)
		}
		img := testutil.Drawing(digit, 280, rng)
		ext := []string{"png", "jpg"}[i%2]
		p := filepath.Join(dir, fmt.Sprintf("digit%02d.%s", i, ext))
		writeImage(t, p, img)
		paths = append(paths, p)
	}
	return paths, set.Labels[:n]
}

func writeImage(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".jpg") {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 90})
	} else {
		err = png.Encode(f, img)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

// infer classifies drawn digits given as arguments: one line per file,
// the class first, then the top three probabilities in decreasing order.
func TestInferImages(t *testing.T) {
	dir := t.TempDir()
	paths, labels := writeDrawings(t, dir, 20)
	book, err := filepath.Abs("../numpyio/testdata/book.npz")
	if err != nil {
		t.Fatal(err)
	}
	for _, test := range []struct {
		name    string
		args    []string
		minGood int // of 20
	}{
		{"mlp, positional", paths, 19},
		{"convnet, --image", append([]string{"--model", "convnet"}, imageFlags(paths)...), 19},
		{"book weights", append([]string{"--model", book}, paths...), 0}, // stand-in weights: runs, no accuracy promised
	} {
		t.Run(test.name, func(t *testing.T) {
			out, stderr, code := run(t, dir, "infer", test.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != len(paths) {
				t.Fatalf("%d lines for %d files:\n%s", len(lines), len(paths), out)
			}
			good := 0
			for i, line := range lines {
				// /tmp/.../digit00.png: 7  (7: 0.9997  3: 0.0003  9: 0.0000)
				name, rest, ok := strings.Cut(line, ": ")
				if !ok || name != paths[i] {
					t.Fatalf("line %d %q does not start with the file name", i, line)
				}
				f := strings.Fields(strings.NewReplacer("(", "", ")", "", ":", "").Replace(rest))
				if len(f) != 7 {
					t.Fatalf("line %q: want the class and three class-probability pairs", line)
				}
				class, _ := strconv.Atoi(f[0])
				prev := 2.0
				for k := 0; k < 3; k++ {
					c, _ := strconv.Atoi(f[1+2*k])
					p, err := strconv.ParseFloat(f[2+2*k], 64)
					if err != nil || p > prev || p < 0 || (k == 0 && c != class) {
						t.Fatalf("line %q: top-3 not in decreasing order or not led by the class", line)
					}
					prev = p
				}
				if class == labels[i] {
					good++
				}
			}
			if good < test.minGood {
				t.Errorf("%d of %d drawings classified right, want at least %d:\n%s", good, len(paths), test.minGood, out)
			}
		})
	}
}

func imageFlags(paths []string) []string {
	var args []string
	for _, p := range paths {
		args = append(args, "--image", p)
	}
	return args
}

// --json gives one object per file; files that fail are reported with
// their error, the others still classified, and the exit status is 1.
func TestInferImagesJSON(t *testing.T) {
	dir := t.TempDir()
	paths, labels := writeDrawings(t, dir, 2)
	blank := filepath.Join(dir, "blank.png")
	white := image.NewGray(image.Rect(0, 0, 100, 100))
	for i := range white.Pix {
		white.Pix[i] = 255
	}
	writeImage(t, blank, white)
	text := filepath.Join(dir, "notes.png")
	os.WriteFile(text, []byte("not a picture"), 0o644)

	out, stderr, code := run(t, dir, "infer", "--json", paths[0], blank, text, paths[1])
	if code != 1 {
		t.Fatalf("exit %d, want 1 (two files failed)", code)
	}
	for _, want := range []string{"blank.png: image is blank", "notes.png: not a PNG", "2 of 4 images could not be classified"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 4 JSON lines:\n%s", out)
	}
	for i, line := range lines {
		var r struct {
			File  string `json:"file"`
			Class *int   `json:"class"`
			Top   []struct {
				Class       int     `json:"class"`
				Probability float64 `json:"probability"`
			} `json:"top"`
			Probabilities []float64 `json:"probabilities"`
			Error         string    `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, line)
		}
		switch i {
		case 1, 2:
			if r.Error == "" || r.Class != nil || r.Probabilities != nil {
				t.Errorf("failed file's line %s", line)
			}
			continue
		}
		want := labels[map[int]int{0: 0, 3: 1}[i]]
		sum := 0.0
		for _, p := range r.Probabilities {
			sum += p
		}
		if r.Class == nil || *r.Class != want || len(r.Top) != 3 || r.Top[0].Class != want || len(r.Probabilities) != 10 || math.Abs(sum-1) > 1e-4 {
			t.Errorf("line %s: want class %d, top 3, 10 probabilities summing to 1", line, want)
		}
	}
}
