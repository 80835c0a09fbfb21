package main

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/internal/testutil"
	"github.com/tapenet/tapenet/viz"
)

func TestShow(t *testing.T) {
	for _, tc := range []struct {
		name          string
		args          []string
		digits, scale int
		columns       int
	}{
		{"defaults", nil, 32, 3, 8},
		{"count and columns", []string{"--count", "7", "--columns", "3", "--scale", "2"}, 7, 2, 3},
		{"train split, one label", []string{"--split", "train", "--label", "7", "--count", "5", "--from", "100"}, 5, 3, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "d.png")
			var so, se bytes.Buffer
			if code := cli.Run("show", run, append(tc.args, "--out", out), &so, &se); code != 0 {
				t.Fatalf("exit %d: %s", code, se.String())
			}
			img := testutil.DecodePNG(t, out)
			found := viz.FindDigits(img)
			if len(found) != tc.digits {
				t.Fatalf("%d digits in the picture, want %d", len(found), tc.digits)
			}
			cols := 0
			for _, r := range found {
				if r.Dx() != 28*tc.scale || r.Dy() != 28*tc.scale {
					t.Fatalf("digit %v, want %d pixels square", r, 28*tc.scale)
				}
				if testutil.Dark(img, r) == 0 {
					t.Fatalf("digit %v has no ink", r)
				}
				// The label: a line of text under the digit.
				capt := image.Rect(r.Min.X-10, r.Max.Y+2, r.Max.X+10, r.Max.Y+20)
				if testutil.Dark(img, capt) == 0 {
					t.Fatalf("no label under digit %v", r)
				}
				if r.Min.Y == found[0].Min.Y {
					cols++
				}
			}
			if cols != tc.columns {
				t.Fatalf("%d digits in the first row, want %d", cols, tc.columns)
			}
		})
	}
}

func TestShowErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--count", "0"}, 2, "--count"},
		{[]string{"--scale", "40"}, 2, "--scale"},
		{[]string{"--split", "val"}, 2, "--split"},
		{[]string{"--label", "10"}, 2, "--label"},
		{[]string{"--from", "10000"}, 2, "--from"},
		{[]string{"--columns", "0"}, 2, "--columns"},
		{[]string{"--out", filepath.Join(dir, "missing", "d.png")}, 1, "missing"},
		{[]string{"--out", dir}, 2, dir + " is a folder"},
		{[]string{"--data", filepath.Join(dir, "nowhere")}, 1, "nowhere"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var so, se bytes.Buffer
			code := cli.Run("show", run, tc.args, &so, &se)
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
