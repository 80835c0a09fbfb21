package numpyio

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// f16Values are the float16 values gen_objects.py writes, as float32.
var f16Values = []float32{0.5, -1.25, 65504, float32(math.Ldexp(1, -24)), float32(math.Copysign(0, -1)), float32(math.Inf(1))}

func TestReadPickleArraysFloat16(t *testing.T) {
	for _, name := range []string{"obj_list_f16_p2.pkl", "obj_list_f16_p4.pkl", "obj_list_f16_p5.pkl"} {
		t.Run(name, func(t *testing.T) {
			as, err := ReadPickleArrays(bytes.NewReader(readFile(t, name)))
			if err != nil {
				t.Fatal(err)
			}
			if len(as) != 4 {
				t.Fatalf("%d arrays, want 4", len(as))
			}
			transposed := []float32{f16Values[0], f16Values[3], f16Values[1], f16Values[4], f16Values[2], f16Values[5]}
			for i, want := range []Array{
				{Shape: []int{2, 3}, Data: f16Values},
				{Shape: []int{3, 2}, Data: transposed},
				{Shape: []int{4}, Data: []float32{3.5, 3.5, 3.5, 3.5}},
				{Shape: []int{3, 2}, Data: []float32{0, 1, 2, 3, 4, 5}},
			} {
				got := as[i]
				if !slices.Equal(got.Shape, want.Shape) || len(got.Data) != len(want.Data) {
					t.Fatalf("array %d: shape %v, want %v", i, got.Shape, want.Shape)
				}
				for k := range want.Data {
					if math.Float32bits(got.Data[k]) != math.Float32bits(want.Data[k]) {
						t.Errorf("array %d[%d] = %v, want %v", i, k, got.Data[k], want.Data[k])
					}
				}
			}
		})
	}
}

func TestReadPickleObjectVocab(t *testing.T) {
	for _, name := range []string{"obj_vocab_p5.pkl", "obj_vocab_p2.pkl"} {
		obj, err := ReadPickleObject(bytes.NewReader(readFile(t, name)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d, ok := obj.(*Dict)
		if !ok || !slices.Equal(d.Keys, []string{"word_vecs", "word_to_id", "id_to_word"}) {
			t.Fatalf("%s: %#v", name, obj)
		}
		w2i := d.Values["word_to_id"].(*Dict)
		i2w := d.Values["id_to_word"].(*Dict)
		if !slices.Equal(w2i.Keys, []string{"you", "say", "."}) || w2i.Values["."] != int64(2) {
			t.Errorf("%s: word_to_id %v %v", name, w2i.Keys, w2i.Values)
		}
		if !slices.Equal(i2w.IntKeys, []int64{0, 1, 2}) || i2w.IntValues[1] != "say" || len(i2w.Keys) != 0 {
			t.Errorf("%s: id_to_word %v %v", name, i2w.IntKeys, i2w.IntValues)
		}
		if a := d.Values["word_vecs"].(Array); !slices.Equal(a.Data[:3], f16Values[:3]) {
			t.Errorf("%s: word_vecs %v", name, a.Data)
		}
	}
}

func TestReadPickleObjectStructures(t *testing.T) {
	obj, err := ReadPickleObject(bytes.NewReader(readFile(t, "obj_shared.pkl")))
	if err != nil {
		t.Fatal(err)
	}
	top := obj.([]any)
	a, b := top[0].([]any), top[1].([]any)
	if len(a) != 6 || a[0] != int64(1) || a[1] != 2.5 || a[2] != "x" || string(a[3].([]byte)) != "y" || a[4] != nil || a[5] != true {
		t.Errorf("shared list %#v", a)
	}
	if &a[0] != &b[0] || &top[2].(*Dict).Values["k"].([]any)[0] != &a[0] {
		t.Error("a list referenced three times was converted three times")
	}
	// Shared structures 30 deep are converted once per object, not per path.
	for _, name := range []string{"obj_tuple_dag.pkl", "obj_list_dag.pkl"} {
		obj, err := ReadPickleObject(bytes.NewReader(readFile(t, name)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for depth := 0; depth < 30; depth++ {
			l := obj.([]any)
			if len(l) != 2 {
				t.Fatalf("%s: depth %d: %d items", name, depth, len(l))
			}
			if a, b := l[0].([]any), l[1].([]any); len(a) > 0 && &a[0] != &b[0] {
				t.Fatalf("%s: depth %d: the two items are not one shared value", name, depth)
			}
			obj = l[1]
		}
	}
	for _, c := range []struct {
		file string
		err  error
		msg  string
	}{
		{"obj_cycle.pkl", ErrFormat, "list contains itself"},
		{"obj_deep.pkl", ErrLimit, "nested deeper than 32"},
	} {
		_, err := ReadPickleObject(bytes.NewReader(readFile(t, c.file)))
		if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %v with %q", c.file, err, c.err, c.msg)
		}
	}
	// ReadPickle (dicts of named arrays) still refuses int keys and lists.
	if _, err := ReadPickle(bytes.NewReader(readFile(t, "obj_mixed_keys.pkl"))); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "dict key of type int") {
		t.Errorf("ReadPickle of int keys: %v", err)
	}
	if _, err := ReadPickleArrays(bytes.NewReader(readFile(t, "obj_vocab_p5.pkl"))); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "top-level object is dict, want a list") {
		t.Errorf("ReadPickleArrays of a dict: %v", err)
	}
	if _, err := ReadPickleArrays(bytes.NewReader(readFile(t, "obj_shared.pkl"))); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "item 0 is list") {
		t.Errorf("ReadPickleArrays of lists: %v", err)
	}
	// The VM's refusals hold: no global outside the allow-list.
	if _, err := ReadPickleObject(bytes.NewReader(readFile(t, "evil_os_system_p4.pkl"))); err == nil || !classified(err) {
		t.Errorf("evil pickle: %v", err)
	}
}

func FuzzReadPickleObject(f *testing.F) {
	addSeeds(f, "obj_*.pkl", "small_*.pkl", "evil_*.pkl", "bad_*.pkl", "huge_*.pkl", "list_toplevel.pkl")
	f.Add([]byte("\x80\x04]\x94(h\x00h\x00h\x00e."))
	f.Fuzz(func(t *testing.T, b []byte) {
		var obj any
		var err error
		checkAlloc(t, 1<<20+512*uint64(len(b)), func() { obj, err = ReadPickleObject(bytes.NewReader(b)) })
		if err != nil {
			checkResult(t, nil, err)
			return
		}
		checkObject(t, obj, 0, map[any]bool{})
	})
}

// checkObject asserts that every array of a decoded object is consistent,
// visiting each shared list and dict once.
func checkObject(t *testing.T, x any, depth int, seen map[any]bool) {
	if depth > MaxPickleDepth+1 {
		t.Fatalf("object nested %d deep", depth)
	}
	switch x := x.(type) {
	case Array:
		checkResult(t, map[string]Array{"a": x}, nil)
	case []any:
		if len(x) == 0 || seen[&x[0]] {
			return
		}
		seen[&x[0]] = true
		for _, y := range x {
			checkObject(t, y, depth+1, seen)
		}
	case *Dict:
		if seen[x] {
			return
		}
		seen[x] = true
		for _, y := range x.Values {
			checkObject(t, y, depth+1, seen)
		}
		for _, y := range x.IntValues {
			checkObject(t, y, depth+1, seen)
		}
	}
}
