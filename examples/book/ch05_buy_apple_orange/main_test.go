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
	want := [][]string{{"price", "715"}, {"dApple", "2.2"}, {"dApple_num", "110"}, {"dOrange", "3.3000000000000003"}, {"dOrange_num", "165"}, {"dTax", "650"}}
	rows := bookex.ParseTable(out.String(), "price", "dApple", "dApple_num", "dOrange", "dOrange_num", "dTax")
	for _, w := range want {
		if got := rows[w[0]]; !slices.Equal(got, []string{w[1], w[1]}) {
			t.Errorf("%s: book and tapenet columns %v, want %s twice:\n%s", w[0], got, w[1], out.String())
		}
	}
}
