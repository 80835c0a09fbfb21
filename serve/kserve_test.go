package serve

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestParseData(t *testing.T) {
	for _, test := range []struct {
		name, data, dtype string
		shape             []int
		want              []float32
		err               string
	}{
		{"flat", "[1, 2.5, -3e-2, 0, 1E2, -0]", "FP32", []int{2, 3}, []float32{1, 2.5, -0.03, 0, 100, 0}, ""},
		{"nested", "[[1,2,3],[4,5,6]]", "FP32", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}, ""},
		{"deeply nested", " [ [ [1] , [2] ] ] ", "FP32", []int{1, 2, 1}, []float32{1, 2}, ""},
		{"uint8", "[0, 255, 51]", "UINT8", []int{1, 3}, []float32{0, 1, 0.2}, ""},
		{"empty", "[]", "FP32", []int{1, 3}, nil, "data has 0 elements where the shape wants 3"},
		{"short", "[1,2]", "FP32", []int{1, 3}, nil, "data has 2 elements where the shape wants 3"},
		{"long", "[1,2,3,4]", "FP32", []int{1, 3}, nil, "more than the 3 elements"},
		{"ragged", "[[1,2,3],[4,5]]", "FP32", []int{2, 3}, nil, "data has 2 elements where the shape wants 3"},
		{"mixed", "[[1,2,3],4,5,6]", "FP32", []int{2, 3}, nil, "want an array"},
		{"too deep", "[[[1],[2],[3]],[[4],[5],[6]]]", "FP32", []int{2, 3}, nil, `"[" is not a number`},
		{"trailing comma", "[1,2,3,]", "FP32", []int{1, 3}, nil, "malformed array"},
		{"leading comma", "[,1,2,3]", "FP32", []int{1, 3}, nil, `"," is not a number`},
		{"missing comma", "[1 2 3]", "FP32", []int{1, 3}, nil, "malformed array"},
		{"leading zero", "[01,2,3]", "FP32", []int{1, 3}, nil, `"01" is not a number`},
		{"hex", "[0x10,2,3]", "FP32", []int{1, 3}, nil, `"0x10" is not a number`},
		{"inf", "[inf,2,3]", "FP32", []int{1, 3}, nil, `"inf" is not a number`},
		{"overflow", "[3.5e38,2,3]", "FP32", []int{1, 3}, nil, "outside the FP32 range"},
		{"uint8 negative", "[-1,2,3]", "UINT8", []int{1, 3}, nil, "-1 is not a UINT8"},
		{"after the array", "[1,2,3] x", "FP32", []int{1, 3}, nil, "unexpected bytes after the array"},
		{"object", `{"a":1}`, "FP32", []int{1, 3}, nil, "data must be a JSON array"},
		{"unterminated", "[1,2", "FP32", []int{1, 3}, nil, "malformed array"},
	} {
		t.Run(test.name, func(t *testing.T) {
			total := 1
			for _, d := range test.shape {
				total *= d
			}
			got, err := parseData([]byte(test.data), test.shape, total, test.dtype)
			if test.err != "" {
				if err == nil || !strings.Contains(err.Error(), test.err) {
					t.Fatalf("got %v, %v; want error %q", got, err, test.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(test.want) {
				t.Fatalf("got %v, want %v", got, test.want)
			}
			for i := range got {
				if math.Abs(float64(got[i]-test.want[i])) > 1e-7 {
					t.Fatalf("got %v, want %v", got, test.want)
				}
			}
		})
	}
}

func TestSampleShapes(t *testing.T) {
	for _, test := range []struct {
		in   []int
		want string
	}{
		{[]int{784}, "[[784] [1 28 28] [28 28]]"},
		{[]int{1, 28, 28}, "[[1 28 28] [784] [28 28]]"},
		{[]int{4}, "[[4]]"},
	} {
		if got := sampleShapes(test.in); fmtShapes(got) != test.want {
			t.Errorf("sampleShapes(%v) = %v, want %s", test.in, got, test.want)
		}
	}
}

func fmtShapes(s [][]int) string {
	b, _ := json.Marshal(s)
	return strings.NewReplacer(",", " ", "[[", "[[", "]]", "]]").Replace(string(b))
}

// Any bytes as a tensor's data: an error, or exactly the shape's count of
// finite values that encoding/json reads the same.
func FuzzParseData(f *testing.F) {
	for _, seed := range []string{"[1,2,3,4,5,6]", "[[1,2,3],[4,5,6]]", "[[1,2,3],[4,5]]", "[1e39,0,0,0,0,0]", "[-0.0,1E-2,2,3,4,5]", "[[[1]]]", "[NaN]", "["} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, uint8s bool) {
		dtype := "FP32"
		if uint8s {
			dtype = "UINT8"
		}
		got, err := parseData(data, []int{2, 3}, 6, dtype)
		if err != nil {
			return
		}
		if len(got) != 6 {
			t.Fatalf("%d values for a shape of 6", len(got))
		}
		var flat []float64
		if json.Unmarshal(data, &flat) != nil {
			flat = nil
			var nested [][]float64
			if err := json.Unmarshal(data, &nested); err != nil {
				t.Fatalf("accepted what encoding/json refuses: %q: %v", data, err)
			}
			for _, row := range nested {
				flat = append(flat, row...)
			}
		}
		for i, v := range got {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("value %d is %v", i, v)
			}
			want := float32(flat[i])
			if uint8s {
				want = float32(flat[i]) / 255
			}
			if math.Abs(float64(v-want)) > 1e-6*math.Max(1, math.Abs(float64(want))) {
				t.Fatalf("value %d: %v, encoding/json reads %v", i, v, flat[i])
			}
		}
	})
}
