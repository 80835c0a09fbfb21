package main

import (
	"bytes"
	"io"
	"slices"
	"testing"

	"github.com/tapenet/tapenet/examples/book/internal/bookex"
)

// tapenet prints what the book's script prints, value for value.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	rows := bookex.ParseTable(out.String(), "price", "dApple", "dApple_num", "dTax")
	for _, want := range [][]string{{"price", "220"}, {"dApple", "2.2"}, {"dApple_num", "110"}, {"dTax", "200"}} {
		if got := rows[want[0]]; !slices.Equal(got, []string{want[1], want[1]}) {
			t.Errorf("%s: book and tapenet columns %v, want %s twice:\n%s", want[0], got, want[1], out.String())
		}
	}
}
