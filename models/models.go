// Package models holds ready-made tapenet architectures and the pretrained
// weights embedded in the binary.
//
// # Architectures
//
//	m, err := models.TwoLayerNet(784, 100, 10, "relu") // 784-100-10, softmax output
//	m, err := models.BookNet()                          // the book's 784-50-100-10 sigmoid net
//
// # Pretrained models
//
// Open("mlp") returns the default model: a two-layer net trained by
// cmd/train (see the README for the exact command); Open also accepts the
// path of a checkpoint written by graph.WriteCheckpoint.
package models

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/tapenet/tapenet/graph"
)

//go:embed weights
var weights embed.FS

// Default is the name of the model cmd/infer runs when none is given.
const Default = "mlp"

// Activations lists the hidden activations Activation accepts.
func Activations() []string { return []string{"sigmoid", "relu", "tanh", "step", "identity"} }

// Activation returns the activation layer of the given name.
func Activation(name string) (graph.Layer, error) {
	switch name {
	case "sigmoid":
		return graph.Sigmoid{}, nil
	case "relu":
		return graph.ReLU{}, nil
	case "tanh":
		return graph.Tanh{}, nil
	case "step":
		return graph.Step{}, nil
	case "identity":
		return graph.Identity{}, nil
	}
	return nil, fmt.Errorf("unknown activation %q (want %s)", name, strings.Join(Activations(), ", "))
}

// initFor returns the Dense initialiser suited to an activation: He for
// ReLU, Xavier for the others (the book's chapter 6 advice).
func initFor(activation string) string {
	if activation == "relu" {
		return "he"
	}
	return "xavier"
}

// MLP returns a multi-layer perceptron over inputs of size in: one Dense
// layer per hidden size, each followed by the activation, then a Dense
// layer of out units and a softmax.
func MLP(in int, hidden []int, out int, activation string) (*graph.Sequential, error) {
	act, err := Activation(activation)
	if err != nil {
		return nil, err
	}
	var layers []graph.Layer
	for _, h := range hidden {
		layers = append(layers, &graph.Dense{Units: h, Init: initFor(activation)}, act)
	}
	layers = append(layers, &graph.Dense{Units: out, Init: initFor(activation)}, graph.Softmax{})
	return graph.NewSequential([]int{in}, layers...)
}

// TwoLayerNet returns the book's TwoLayerNet: in -> hidden (activation) ->
// out (softmax).
func TwoLayerNet(in, hidden, out int, activation string) (*graph.Sequential, error) {
	return MLP(in, []int{hidden}, out, activation)
}

// BookNet returns the book's chapter 3 network: 784 -> 50 -> 100 -> 10 with
// sigmoid hidden layers and a softmax output (45,360 parameters).
func BookNet() (*graph.Sequential, error) {
	return MLP(784, []int{50, 100}, 10, "sigmoid")
}

// Names returns the names of the embedded pretrained models.
func Names() []string {
	entries, _ := weights.ReadDir("weights")
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".safetensors"); ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// Pretrained returns the embedded model of the given name.
func Pretrained(name string) (*graph.Sequential, error) {
	data, err := weights.ReadFile("weights/" + name + ".safetensors")
	if err != nil {
		return nil, fmt.Errorf("no embedded model %q (have %s)", name, strings.Join(Names(), ", "))
	}
	m, err := graph.ReadCheckpoint(bytes.NewReader(data), nil)
	if err != nil {
		return nil, fmt.Errorf("embedded model %s: %w", name, err)
	}
	return m, nil
}

// Open returns the model named by ref: the name of an embedded model, or
// the path of a tapenet checkpoint (.safetensors). Errors name ref.
func Open(ref string) (*graph.Sequential, error) {
	if !strings.ContainsAny(ref, `/\.`) {
		return Pretrained(ref)
	}
	f, err := os.Open(ref)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("model %s: no such file (embedded models: %s)", ref, strings.Join(Names(), ", "))
		}
		return nil, fmt.Errorf("model %s: %w", ref, err)
	}
	defer f.Close()
	m, err := graph.ReadCheckpoint(f, nil)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", ref, err)
	}
	return m, nil
}
