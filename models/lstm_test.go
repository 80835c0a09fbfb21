package models

import (
	"fmt"
	"testing"
)

func TestRowLSTM(t *testing.T) {
	m, err := RowLSTM()
	if err != nil {
		t.Fatal(err)
	}
	// nn.LSTM(28, 128): 4·128·(28+128) + 2·4·128; nn.Linear(128, 10): 1290.
	if got, want := m.ParamCount(), 4*128*(28+128)+2*4*128+1290; got != want {
		t.Errorf("%d parameters, want %d", got, want)
	}
	if got := fmt.Sprint(m.OutputShape(0)); got != "[10]" {
		t.Errorf("output shape %s, want [10]", got)
	}
}
