package cli

import (
	"errors"
	"io"
	"maps"
	"strings"
	"testing"
)

func settingsFlags() (*Flags, *[]int, *string, *float64) {
	fs := NewFlags("t", "", io.Discard)
	hidden := fs.IntSlice("hidden", []int{256}, "")
	opt := fs.String("optimizer", "adam", "")
	lr := fs.Float64("lr", 0, "")
	return fs, hidden, opt, lr
}

// Settings and Restore round-trip: the saved values apply to the flags
// not given again, a given flag wins, a fixed flag may not change.
func TestSettingsRestore(t *testing.T) {
	names := []string{"hidden", "optimizer", "lr"}
	fs, _, _, _ := settingsFlags()
	if err := fs.Parse([]string{"--hidden", "32,16", "--lr", "0.5"}); err != nil {
		t.Fatal(err)
	}
	saved := fs.Settings(names)
	if want := map[string]string{"hidden": "32,16", "optimizer": "adam", "lr": "0.5"}; !maps.Equal(saved, want) {
		t.Fatalf("settings %v, want %v", saved, want)
	}
	fs, hidden, opt, lr := settingsFlags()
	if err := fs.Parse([]string{"--optimizer", "sgd"}); err != nil {
		t.Fatal(err)
	}
	if err := fs.Restore(saved, names, []string{"hidden"}); err != nil {
		t.Fatal(err)
	}
	if len(*hidden) != 2 || (*hidden)[0] != 32 || (*hidden)[1] != 16 || *opt != "sgd" || *lr != 0.5 {
		t.Errorf("restored hidden %v, optimizer %s, lr %v", *hidden, *opt, *lr)
	}
	for _, test := range []struct {
		args  []string
		saved map[string]string
		want  string
		usage bool
	}{
		{[]string{"--hidden", "8"}, saved, "--hidden cannot change: the saved run has hidden 32,16", true},
		{nil, map[string]string{"hidden": "1", "optimizer": "sgd"}, "setting lr missing", false},
		{nil, map[string]string{"hidden": "x", "optimizer": "sgd", "lr": "1"}, `setting hidden="x"`, false},
	} {
		fs, _, _, _ := settingsFlags()
		if err := fs.Parse(test.args); err != nil {
			t.Fatal(err)
		}
		err := fs.Restore(test.saved, names, []string{"hidden"})
		var ue *UsageError
		if err == nil || !strings.Contains(err.Error(), test.want) || errors.As(err, &ue) != test.usage {
			t.Errorf("%v %v: %v, want %q (usage %t)", test.args, test.saved, err, test.want, test.usage)
		}
	}
}
