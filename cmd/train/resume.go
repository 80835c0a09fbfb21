package main

import (
	"encoding/json"
	"fmt"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/train"
)

// savedFlags are the flags a --checkpoint file records and --resume
// restores: everything that shapes the run, not where its outputs go;
// modelFlags are fixed by the resumed model.
var (
	savedFlags = []string{
		"arch", "hidden", "activation", "dropout", "optimizer", "lr", "momentum", "weight-decay",
		"no-decay-bias-norm", "clip-norm", "schedule", "gamma", "decay-epochs", "warmup", "augment",
		"epochs", "batch-size", "seed", "data", "limit", "validation", "patience",
	}
	modelFlags = []string{"arch", "hidden", "activation", "dropout"}
)

// resumed is a run read back from a --resume file.
type resumed struct {
	model *graph.Model
	state *train.State
}

// readResume reads a --resume file and applies its settings to every flag
// not given on the command line; the model's own flags may not change.
func readResume(path string, fs *cli.Flags) (*resumed, error) {
	m, st, err := train.Resume(path)
	if err != nil {
		return nil, fmt.Errorf("--resume: %w", err)
	}
	var settings map[string]string
	if err := json.Unmarshal([]byte(train.FitExtra(st)["settings"]), &settings); err != nil {
		return nil, fmt.Errorf("--resume %s: settings: %w", path, err)
	}
	if err := fs.Restore(settings, savedFlags, modelFlags); err != nil {
		return nil, fmt.Errorf("--resume %s: %w", path, err)
	}
	return &resumed{model: m, state: st}, nil
}

func settingsJSON(fs *cli.Flags) string {
	b, _ := json.Marshal(fs.Settings(savedFlags)) // a map of strings always encodes
	return string(b)
}
