package main

import (
	"bytes"
	"encoding/json"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/internal/testutil"
	"github.com/tapenet/tapenet/viz"
)

func TestPictures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		shown func(wrong int) int
	}{
		{"all mistakes", []string{"--limit", "600"}, func(w int) int { return min(w, 40) }},
		{"at most 3", []string{"--limit", "600", "--errors-max", "3", "--batch-size", "128"}, func(w int) int { return min(w, 3) }},
		{"no mistakes", []string{"--limit", "3"}, func(w int) int { return min(w, 40) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			errs, conf := filepath.Join(dir, "errors.png"), filepath.Join(dir, "confusion.png")
			var so, se bytes.Buffer
			args := append(tc.args, "--json", "--errors", errs, "--confusion", conf)
			if code := cli.Run("infer", run, args, &so, &se); code != 0 {
				t.Fatalf("exit %d: %s", code, se.String())
			}
			var rep report
			if err := json.Unmarshal(so.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			wrong := rep.Samples - rep.Correct
			if tc.name == "no mistakes" && wrong != 0 {
				t.Fatalf("%d mistakes on the first 3 images: pick another case", wrong)
			}

			img := testutil.DecodePNG(t, errs)
			found := viz.FindDigits(img)
			if len(found) != tc.shown(wrong) {
				t.Fatalf("%d digits drawn for %d mistakes, want %d", len(found), wrong, tc.shown(wrong))
			}
			for _, r := range found {
				if testutil.Dark(img, r) == 0 {
					t.Fatalf("digit %v has no ink", r)
				}
				if capt := image.Rect(r.Min.X-20, r.Max.Y+2, r.Max.X+20, r.Max.Y+20); testutil.Dark(img, capt) == 0 {
					t.Fatalf("no caption under digit %v", r)
				}
			}
			if testutil.Dark(img, image.Rect(0, 0, img.Bounds().Dx(), 30)) == 0 {
				t.Fatal("no title line")
			}

			cimg := testutil.DecodePNG(t, conf)
			l, err := viz.ConfusionLayoutOf(rep.Confusion, viz.ConfusionOptions{Title: "x"})
			if err != nil {
				t.Fatal(err)
			}
			// The picture holds one cell per pair of classes, darker for
			// larger counts.
			if len(l.Cells) != 10 || l.Cells[9][9].Max.X > cimg.Bounds().Max.X || l.Cells[9][9].Max.Y > cimg.Bounds().Max.Y {
				t.Fatalf("confusion picture %v too small for a 10x10 grid", cimg.Bounds())
			}
			for i, row := range rep.Confusion {
				for j, v := range row {
					for k, w := range row {
						a, b := l.Cells[i][j], l.Cells[i][k]
						la, lb := testutil.Luma(cimg, a.Min.X+3, a.Min.Y+3), testutil.Luma(cimg, b.Min.X+3, b.Min.Y+3)
						if v < w && la <= lb {
							t.Fatalf("cell (%d,%d)=%d is not lighter than (%d,%d)=%d", i, j, v, i, k, w)
						}
					}
				}
			}
		})
	}
}

func TestPictureErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--errors", filepath.Join(dir, "no", "e.png")}, 1, "e.png"},
		{[]string{"--confusion", filepath.Join(dir, "no", "c.png")}, 1, "c.png"},
		{[]string{"--confusion", dir}, 2, dir + " is a folder"},
		{[]string{"--errors", "x.png", "--confusion", "./x.png"}, 2, "--errors and --confusion both name"},
		{[]string{"--errors", "e.png", "--errors-max", "0"}, 2, "--errors-max"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var so, se bytes.Buffer
			code := cli.Run("infer", run, append(tc.args, "--limit", "200"), &so, &se)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, se.String())
			}
			if msg := se.String(); strings.Count(msg, "\n") != 1 || !strings.Contains(msg, tc.msg) {
				t.Fatalf("want one line naming %q, got %q", tc.msg, msg)
			}
		})
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left files behind: %v", ents)
	}
}
