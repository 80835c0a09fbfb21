package seqdata

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// DateQuestionWidth is the width dataset/date.txt pads its questions to:
// the longest, "Wednesday, September 27, 2000", has 29 characters.
const DateQuestionWidth = 29

// DateFormats are the layouts of dataset/date.txt's questions, in Go's
// time notation: "2/10/93" (month/day/two-digit year), "Sep 30, 1981",
// "September 27, 1994" and "Tuesday, September 25, 1984". Each of the last
// three comes in lower case, title case or upper case.
var DateFormats = []string{"1/2/06", "Jan 2, 2006", "January 2, 2006", "Monday, January 2, 2006"}

// WriteDates writes n date questions in dataset/date.txt's layout: a date
// between 1970-01-01 and 2017-12-31 (the range of the book's file) in one
// of DateFormats (drawn uniformly; the named ones in lower, title or upper
// case, drawn uniformly), left-aligned in DateQuestionWidth columns, then
// "_" and the date as YYYY-MM-DD:
//
//	september 27, 1994           _1994-09-27
//	2/10/93                      _1993-02-10
//	TUESDAY, SEPTEMBER 25, 1984  _1984-09-25
//
// Seeded: the same seed writes the same file. Dates may repeat, as in the
// book's file.
func WriteDates(w io.Writer, n int, seed uint64) error {
	if n < 1 || n > 500000 {
		return fmt.Errorf("dates: n must be in [1, 500000], got %d", n)
	}
	rng := rand.New(rand.NewPCG(seed, 2017))
	first := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	days := int(time.Date(2017, 12, 31, 0, 0, 0, 0, time.UTC).Sub(first).Hours()/24) + 1
	bw := bufio.NewWriter(w)
	for i := 0; i < n; i++ {
		d := first.AddDate(0, 0, rng.IntN(days))
		f := rng.IntN(len(DateFormats))
		q := d.Format(DateFormats[f])
		if f > 0 {
			switch rng.IntN(3) {
			case 0:
				q = strings.ToLower(q)
			case 2:
				q = strings.ToUpper(q)
			}
		}
		if _, err := fmt.Fprintf(bw, "%-*s_%s\n", DateQuestionWidth, q, d.Format("2006-01-02")); err != nil {
			return err
		}
	}
	return bw.Flush()
}
