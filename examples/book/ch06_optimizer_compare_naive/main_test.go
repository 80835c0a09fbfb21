package main

import (
	"bytes"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/internal/testutil"
)

// SGD on f has a closed form: x_k = -7·(1 − lr/10)^k, y_k = 2·(1 − 2·lr)^k.
// Both tapenet's SGD and the book's rule follow it.
func TestSGDClosedForm(t *testing.T) {
	const lr = 0.95
	ours, err := tapenetPath(methods[0].tapenet(), lr, 30)
	if err != nil {
		t.Fatal(err)
	}
	book := bookPath(newBookSGD(lr), 30)
	for k := range 31 {
		want := point{-7 * math.Pow(1-lr/10, float64(k)), 2 * math.Pow(1-2*lr, float64(k))}
		if math.Abs(book[k].x-want.x) > 1e-12 || math.Abs(book[k].y-want.y) > 1e-12 {
			t.Errorf("book's rule, step %d: %v, want %v", k, book[k], want)
		}
		if math.Abs(ours[k].x-want.x) > 1e-5 || math.Abs(ours[k].y-want.y) > 1e-5 {
			t.Errorf("tapenet, step %d: %v, want %v", k, ours[k], want)
		}
	}
}

// Every optimiser of graph/train follows the book's rule, step by step,
// to float32 precision (Adam within 1e-4: its ε weighs differently).
func TestPathsFollowTheBook(t *testing.T) {
	for _, m := range methods {
		ours, err := tapenetPath(m.tapenet(), m.lr, 30)
		if err != nil {
			t.Fatal(err)
		}
		book := bookPath(m.book(m.lr), 30)
		tol := 2e-6
		if m.name == "Adam" {
			tol = 1e-4
		}
		for k := range ours {
			if math.Abs(ours[k].x-book[k].x) > tol || math.Abs(ours[k].y-book[k].y) > tol {
				t.Errorf("%s, step %d: tapenet %v, the book's rule %v", m.name, k, ours[k], book[k])
				break
			}
		}
		// Each reaches the valley floor: f falls from 4.45 to under 0.11.
		if end := ours[30]; f(end.x, end.y) > 0.11 {
			t.Errorf("%s ends at %v, f = %g", m.name, end, f(end.x, end.y))
		}
	}
}

func TestRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "fig.png")
	var buf bytes.Buffer
	if err := run([]string{"--out", out}, &buf, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SGD(lr=0.95)", "Momentum(lr=0.1)", "AdaGrad(lr=1.5)", "Adam(lr=0.3)", "(-0.350393, 0.084782)"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, buf.String())
		}
	}
	if b := testutil.DecodePNG(t, out).Bounds(); b.Dx() != 800 || b.Dy() != 800 {
		t.Errorf("figure %v, want 800x800", b)
	}
	if err := run([]string{"--steps", "0"}, io.Discard, io.Discard); err == nil {
		t.Error("--steps 0 accepted")
	}
}
