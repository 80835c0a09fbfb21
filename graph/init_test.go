package graph

import (
	"math"
	"strings"
	"testing"
)

// "normal:STD" draws N(0, STD²) whatever the fan-in (the book's
// weight_init_std); malformed forms are errors that say what is wanted.
func TestNormalInit(t *testing.T) {
	for _, test := range []struct {
		init    string
		wantStd float64
		wantErr string
	}{
		{init: "normal:0.01", wantStd: 0.01},
		{init: "normal:2", wantStd: 2},
		{init: "normal:", wantErr: "normal:STD"},
		{init: "normal:-1", wantErr: "positive"},
		{init: "normal:0", wantErr: "positive"},
		{init: "normal:NaN", wantErr: "positive"},
		{init: "normal:Inf", wantErr: "positive"},
		{init: "gauss", wantErr: "normal:STD"},
	} {
		m, err := NewSequential([]int{1, 8, 8}, &Conv2D{Filters: 50, Kernel: 3, Init: test.init}, &Dense{Units: 400, Init: test.init})
		if test.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), test.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", test.init, err, test.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", test.init, err)
		}
		m.Init(3)
		for _, name := range []string{"conv2d1.weight", "fc1.weight"} {
			var sum, sq float64
			v := m.Param(name).Data().([]float32)
			for _, x := range v {
				sum += float64(x)
				sq += float64(x) * float64(x)
			}
			mean := sum / float64(len(v))
			std := math.Sqrt(sq/float64(len(v)) - mean*mean)
			// Four standard errors of each estimate.
			se := test.wantStd / math.Sqrt(float64(len(v)))
			if math.Abs(std-test.wantStd) > 4*se/math.Sqrt2 || math.Abs(mean) > 4*se {
				t.Errorf("%s %s: mean %.3g std %.3g, want 0 and %g", test.init, name, mean, std, test.wantStd)
			}
		}
	}
}
