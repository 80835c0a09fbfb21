package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
)

// savedFlags are the flags a --checkpoint file records and --resume
// restores: everything that shapes the run, not where its outputs go.
var savedFlags = []string{
	"arch", "hidden", "activation", "dropout", "optimizer", "lr", "momentum", "weight-decay",
	"no-decay-bias-norm", "clip-norm", "schedule", "gamma", "decay-epochs", "warmup", "augment",
	"epochs", "batch-size", "seed", "data", "limit", "validation", "patience",
}

// modelFlags are fixed by the resumed model.
var modelFlags = []string{"arch", "hidden", "activation", "dropout"}

// settingsOf records the values of savedFlags.
func settingsOf(fs *cli.Flags) map[string]string {
	s := map[string]string{}
	for _, name := range savedFlags {
		s[name] = flagValue(fs, name)
	}
	return s
}

// flagValue is a flag's value as Set takes it (slices without brackets).
func flagValue(fs *cli.Flags, name string) string {
	v := fs.Lookup(name).Value.String()
	if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
		v = v[1 : len(v)-1]
	}
	return v
}

// resumed is a run read back from a --resume file.
type resumed struct {
	model    *graph.Model
	state    *train.State
	settings map[string]string
}

// readResume reads a --resume file and applies its settings to every flag
// not given on the command line; the model's own flags may not change.
func readResume(path string, fs *cli.Flags) (*resumed, error) {
	m, st, err := train.Resume(path)
	if err != nil {
		return nil, fmt.Errorf("--resume: %w", err)
	}
	r := &resumed{model: m, state: st}
	if err := json.Unmarshal([]byte(train.FitExtra(st)["settings"]), &r.settings); err != nil {
		return nil, fmt.Errorf("--resume %s: settings: %w", path, err)
	}
	for _, name := range savedFlags {
		v, ok := r.settings[name]
		if !ok {
			return nil, fmt.Errorf("--resume %s: setting %s missing", path, name)
		}
		if fs.Changed(name) {
			for _, mf := range modelFlags {
				if name == mf && flagValue(fs, name) != v {
					return nil, cli.Usagef("--%s cannot change on --resume: the saved model has %s %s", name, name, v)
				}
			}
			continue
		}
		if flagValue(fs, name) == v {
			continue // the default: leave the flag unchanged
		}
		if err := fs.Set(name, v); err != nil {
			return nil, fmt.Errorf("--resume %s: setting %s=%q: %w", path, name, v, err)
		}
	}
	return r, nil
}
