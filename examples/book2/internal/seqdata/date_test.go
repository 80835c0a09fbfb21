package seqdata

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"time"
)

// bookDateLines are lines of the book's dataset/date.txt, one of each
// layout and case seen in it.
var bookDateLines = []string{
	"september 27, 1994           _1994-09-27",
	"August 19, 2003              _2003-08-19",
	"2/10/93                      _1993-02-10",
	"3/27/16                      _2016-03-27",
	"TUESDAY, SEPTEMBER 25, 1984  _1984-09-25",
	"JUN 17, 2013                 _2013-06-17",
	"Sep 30, 1981                 _1981-09-30",
	"mar 3, 2007                  _2007-03-03",
	"Wednesday, February 26, 1997 _1997-02-26",
	"thursday, june 5, 2008       _2008-06-05",
	"AUGUST 11, 1986              _1986-08-11",
}

// parseDateLine reads a line back: the question parsed with one of the
// layouts (whatever its case) must give the answer's date, and re-printing
// the date in that layout and case must give the question again.
func parseDateLine(t *testing.T, line string) (layout int) {
	t.Helper()
	if len(line) != DateQuestionWidth+11 || line[DateQuestionWidth] != '_' {
		t.Fatalf("%q: want %d question columns, '_' and 10 answer characters", line, DateQuestionWidth)
	}
	q, a := strings.TrimRight(line[:DateQuestionWidth], " "), line[DateQuestionWidth+1:]
	want, err := time.Parse("2006-01-02", a)
	if err != nil {
		t.Fatalf("%q: answer: %v", line, err)
	}
	for i, f := range DateFormats {
		for _, c := range []func(string) string{strings.ToLower, func(s string) string { return s }, strings.ToUpper} {
			if s := want.Format(f); c(s) == q {
				return i
			}
		}
	}
	t.Fatalf("%q: question is not the answer's date in any layout", line)
	return -1
}

func TestDateLayoutsCoverBook(t *testing.T) {
	for _, l := range bookDateLines {
		parseDateLine(t, l)
	}
}

func TestWriteDates(t *testing.T) {
	var a, b bytes.Buffer
	if err := WriteDates(&a, 3000, 7); err != nil {
		t.Fatal(err)
	}
	if err := WriteDates(&b, 3000, 7); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same seed wrote different files")
	}
	counts := make([]int, len(DateFormats))
	cases := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(a.Bytes()))
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		counts[parseDateLine(t, line)]++
		q := line[:DateQuestionWidth]
		switch {
		case strings.ToLower(q) == q && strings.ToUpper(q) != q:
			cases["lower"]++
		case strings.ToUpper(q) == q && strings.ToLower(q) != q:
			cases["upper"]++
		case strings.ToUpper(q) != q:
			cases["title"]++
		}
	}
	if n != 3000 {
		t.Fatalf("%d lines, want 3000", n)
	}
	for i, c := range counts {
		if c < 600 || c > 900 {
			t.Errorf("layout %q: %d of 3000 lines, want about 750", DateFormats[i], c)
		}
	}
	for _, k := range []string{"lower", "title", "upper"} {
		if cases[k] < 600 {
			t.Errorf("%s case: %d lines, want about 750", k, cases[k])
		}
	}
	d, err := Read(bytes.NewReader(a.Bytes()), 1984)
	if err != nil {
		t.Fatal(err)
	}
	if d.QLen != DateQuestionWidth || d.ALen != 11 || d.N() != 3000 || d.Split != 2700 {
		t.Errorf("load_data: qlen %d alen %d n %d split %d", d.QLen, d.ALen, d.N(), d.Split)
	}
	if err := WriteDates(&a, 0, 1); err == nil {
		t.Error("n = 0: no error")
	}
}
