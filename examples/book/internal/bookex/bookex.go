// Package bookex holds what the examples of examples/book share: printing
// the book's numbers beside tapenet's, and Python's formatting of floats.
package bookex

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Row is one line of a comparison: a quantity, the book's value as the
// book prints it, and tapenet's.
type Row struct {
	Name, Book, Tapenet string
}

// WriteTable prints rows as aligned columns under a header.
func WriteTable(w io.Writer, header Row, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, r := range append([]Row{header}, rows...) {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Book, r.Tapenet)
	}
	return tw.Flush()
}

// Shortest formats x with the fewest digits that read back as x, as
// Python's print does for a float ("2.2", "3.3000000000000003"), whole
// numbers without a decimal point ("200", as the book's integers print).
func Shortest(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// PyInt formats int(x) as Python prints it: x truncated toward zero.
func PyInt(x float64) string { return strconv.FormatFloat(math.Trunc(x), 'f', 0, 64) }

// Close reports whether a and b agree to within a relative tolerance.
func Close(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// ParseTable returns the rows of a table printed by WriteTable whose
// first column is one of names (the fields of each line; a name or value
// containing spaces is not supported), for tests.
func ParseTable(out string, names ...string) map[string][]string {
	rows := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && slices.Contains(names, f[0]) {
			rows[f[0]] = f[1:]
		}
	}
	return rows
}
