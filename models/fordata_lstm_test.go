package models

import (
	"bytes"
	"encoding/json"
	"testing"
)

// On MNIST's shape, --arch lstm is RowLSTM; other shapes read rows as steps.
func TestForDataLSTM(t *testing.T) {
	want, err := RowLSTM()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ForData("lstm", []int{1, 28, 28}, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(want)
	b, _ := json.Marshal(got)
	if !bytes.Equal(a, b) {
		t.Errorf("ForData(lstm) spec\n%s\nwant RowLSTM's\n%s", b, a)
	}
	for _, tc := range []struct {
		in      []int
		classes int
		targets int
		params  int
	}{
		{[]int{20, 6}, 3, 0, 4*128*(6+128) + 8*128 + 128*3 + 3},
		{[]int{3, 8, 8}, 5, 0, 4*128*(8+128) + 8*128 + 128*5 + 5},
		{[]int{64}, 0, 2, 4*128*(8+128) + 8*128 + 128*2 + 2},
	} {
		m, err := ForData("lstm", tc.in, tc.classes, tc.targets)
		if err != nil {
			t.Errorf("ForData(lstm, %v): %v", tc.in, err)
			continue
		}
		if n := m.ParamCount(); n != tc.params {
			t.Errorf("ForData(lstm, %v): %d parameters, want %d", tc.in, n, tc.params)
		}
	}
	if _, err := ForData("lstm", []int{2, 3, 4, 5}, 3, 0); err == nil {
		t.Error("rank-4 samples: no error")
	}
}
