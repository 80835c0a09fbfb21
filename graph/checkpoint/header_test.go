package checkpoint

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
)

// FuzzUnquote: the header's string decoder agrees with encoding/json on
// every literal both accept, and accepts nothing encoding/json refuses.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`""`, `"a"`, `"\"kind\":\"dense\""`, `"\u00e9\ud83d\ude00"`, `"\ud800x"`, `"\/\b\f\n\r\t"`, `"\x"`, "\"\x01\"", `"\u12"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := unquote(b)
		var want string
		jerr := json.Unmarshal(b, &want)
		if err == nil && jerr != nil {
			t.Fatalf("unquote accepts %q, encoding/json does not: %v", b, jerr)
		}
		if err == nil && got != want {
			t.Fatalf("unquote(%q) = %q, encoding/json gives %q", b, got, want)
		}
		inPlace, err2 := unquoteInPlace(slices.Clone(b))
		if (err == nil) != (err2 == nil) || (err == nil && string(inPlace) != got) {
			t.Fatalf("unquoteInPlace(%q) = %q, %v; unquote gives %q, %v", b, inPlace, err2, got, err)
		}
	})
}

// FuzzScanObject: an object of string values that the scanner reads is
// the one encoding/json reads, when it has no key twice.
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{`{}`, ` {"a":"b"} `, `{"a":"b","c":"d"}`, `{"a":"b","a":"c"}`, `{"a":"b",}`, `{"a":"b"}x`, `{"a\"b":"}"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := map[string]string{}
		dup := false
		err := scanObject(b, func(k string, v []byte) error {
			s, err := unquote(v)
			if err != nil {
				return err
			}
			if _, ok := got[k]; ok {
				dup = true
			}
			got[k] = s
			return nil
		})
		if err != nil || dup {
			return
		}
		var want map[string]string
		if jerr := json.Unmarshal(b, &want); jerr != nil {
			t.Fatalf("scanObject accepts %q, encoding/json does not: %v", b, jerr)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("scanObject(%q) = %v, encoding/json gives %v", b, got, want)
		}
	})
}
