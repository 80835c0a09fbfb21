package main

import (
	"strings"
	"testing"
)

// --arch book-deep builds the book's DeepConvNet, with its dropout.
func TestArchBookDeep(t *testing.T) {
	m, err := (&options{arch: "book-deep"}).model([]int{1, 28, 28}, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.ParamCount(); n != 123552 {
		t.Errorf("book-deep has %d parameters, want 123,552", n)
	}
	dropouts := 0
	for _, l := range m.Layers() {
		if l.Layer.Kind() == "bookdropout" {
			dropouts++
		}
	}
	if dropouts != 2 {
		t.Errorf("book-deep has %d bookdropout layers, want 2", dropouts)
	}
	if _, err := (&options{arch: "deep"}).model([]int{1, 28, 28}, 10, 0); err == nil || !strings.Contains(err.Error(), "book-deep") {
		t.Errorf("unknown arch: %v, want an error listing book-deep", err)
	}
}
