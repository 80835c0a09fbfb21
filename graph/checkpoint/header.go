package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The header's two levels of objects are read by a small scanner rather
// than encoding/json: it refuses a key given twice (encoding/json keeps the
// last), and it reads the one big string value, the model spec, at the
// speed of a byte search, so a 100 MB header is refused or read in a
// fraction of a second. The values of tensor entries, which are small, go
// to encoding/json.

// scanObject calls f with each key and the raw bytes of its value, in
// order, for the JSON object that b holds (surrounding white space
// allowed). It checks the object's syntax, not its values'.
func scanObject(b []byte, f func(key string, val []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errors.New("want a JSON object")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		if skipSpace(b, i+1) != len(b) {
			return fmt.Errorf("offset %d: bytes after the object", i+1)
		}
		return nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return fmt.Errorf("offset %d: want a key", i)
		}
		end, err := stringEnd(b, i)
		if err != nil {
			return err
		}
		key, err := unquote(b[i:end])
		if err != nil {
			return fmt.Errorf("offset %d: key: %v", i, err)
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return fmt.Errorf("offset %d: want ':' after key %q", i, key)
		}
		i = skipSpace(b, i+1)
		vend, err := valueEnd(b, i)
		if err != nil {
			return fmt.Errorf("key %q: %v", key, err)
		}
		if err := f(key, b[i:vend]); err != nil {
			return err
		}
		i = skipSpace(b, vend)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			if skipSpace(b, i+1) != len(b) {
				return fmt.Errorf("offset %d: bytes after the object", i+1)
			}
			return nil
		}
		return fmt.Errorf("offset %d: want ',' or '}'", i)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the offset just past the JSON string starting at b[i]
// ('"'). It is a plain byte loop: a spec string has an escape every few
// bytes, where a search call per escape would cost more than the bytes.
func stringEnd(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j + 1, nil
		case '\\':
			j++ // skip the escaped byte
		}
	}
	return 0, fmt.Errorf("offset %d: unterminated string", i)
}

// valueEnd returns the offset just past the JSON value starting at b[i]:
// a string, or an object or array (brackets matched, strings skipped), or
// a scalar (up to the next delimiter). Values other than strings are
// checked by whoever decodes them.
func valueEnd(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("missing value")
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := stringEnd(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("offset %d: unterminated %c", i, b[i])
	}
	j := i
	for j < len(b) && bytes.IndexByte([]byte(",}] \t\r\n"), b[j]) < 0 {
		j++
	}
	return j, nil
}

// unquote decodes a JSON string literal (quotes included), refusing
// control characters, unknown escapes and invalid UTF-8.
func unquote(s []byte) (string, error) {
	b, err := unquoteBytes(s)
	return string(b), err
}

// unquoteBytes is unquote returning bytes, which alias s when the literal
// has no escapes.
func unquoteBytes(s []byte) ([]byte, error) { return unquoteTo(s, false) }

// unquoteInPlace is unquoteBytes writing the decoded bytes over s itself
// (unescaping only shortens): the spec of a big header costs no copy.
func unquoteInPlace(s []byte) ([]byte, error) { return unquoteTo(s, true) }

func unquoteTo(s []byte, inPlace bool) ([]byte, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return nil, errors.New("want a string")
	}
	s = s[1 : len(s)-1]
	if !utf8.Valid(s) {
		return nil, errors.New("string is not valid UTF-8")
	}
	k := bytes.IndexByte(s, '\\')
	if k < 0 {
		k = len(s)
	}
	for _, c := range s[:k] {
		if c < 0x20 || c == '"' {
			return nil, errors.New("control character or unescaped quote in string")
		}
	}
	if k == len(s) {
		return s, nil
	}
	var out []byte
	if inPlace {
		out = s[:k] // appends write at or behind the byte being read
	} else {
		out = make([]byte, k, len(s)) // unescaping only shortens
		copy(out, s[:k])
	}
	for i := k; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' {
			return nil, errors.New("control character or unescaped quote in string")
		}
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 >= len(s) {
			return nil, errors.New("bad escape")
		}
		i++
		switch c = s[i]; c {
		case '"', '\\', '/':
			out = append(out, c)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, err := hex4(s[i+1:])
			if err != nil {
				return nil, err
			}
			i += 4 // at the last hex digit
			if utf16.IsSurrogate(r) {
				// A pair is two escapes; anything else is U+FFFD, as
				// encoding/json decodes it.
				d := utf8.RuneError
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if r2, err := hex4(s[i+3:]); err == nil {
						d = utf16.DecodeRune(r, r2)
					}
				}
				if d != utf8.RuneError {
					i += 6
				}
				r = d
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, fmt.Errorf("bad escape \\%c", c)
		}
	}
	return out, nil
}

func hex4(s []byte) (rune, error) {
	if len(s) < 4 {
		return 0, errors.New(`bad \u escape`)
	}
	v, err := strconv.ParseUint(string(s[:4]), 16, 16)
	if err != nil {
		return 0, errors.New(`bad \u escape`)
	}
	return rune(v), nil
}
