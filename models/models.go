// Package models holds ready-made tapenet architectures and the pretrained
// weights embedded in the binary.
//
// # Architectures
//
//	m, err := models.TwoLayerNet(784, 100, 10, "relu") // 784-100-10, softmax output
//	m, err := models.BookNet()                          // the book's 784-50-100-10 sigmoid net
//	m, err := models.ConvNet()                          // the book's SimpleConvNet
//	m, err := models.ResNet()                           // a small residual CNN
//
// # Pretrained models
//
// Open("mlp") returns the default model, a 784-256-10 ReLU net (98.19% on
// the MNIST test set), Open("convnet") the book's convnet (99.11%) and
// Open("resnet") the small residual CNN of ResNet (99.56%), all trained by
// cmd/train (the README gives the exact commands). Open
// also accepts the path of a checkpoint written by graph.WriteCheckpoint,
// and weights in the book's format (sample_weight.pkl, .npz; FromBook).
package models

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/numpyio"
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
func MLP(in int, hidden []int, out int, activation string) (*graph.Model, error) {
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
func TwoLayerNet(in, hidden, out int, activation string) (*graph.Model, error) {
	return MLP(in, []int{hidden}, out, activation)
}

// BookNet returns the book's chapter 3 network: 784 -> 50 -> 100 -> 10 with
// sigmoid hidden layers and a softmax output (45,360 parameters).
func BookNet() (*graph.Model, error) {
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
func Pretrained(name string) (*graph.Model, error) {
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

// OpenOptions configure Open.
type OpenOptions struct {
	// Activation is the hidden activation of a model read from book-format
	// weights (.pkl or .npz; default "sigmoid", as in the book). It is
	// ignored for checkpoints, which record their layers.
	Activation string
}

// Open returns the model named by ref: the name of an embedded model, or
// the path of a file: a tapenet checkpoint (.safetensors), or weights in the
// book's format (a pickle such as sample_weight.pkl, or an .npz archive,
// with arrays W1, b1, W2, b2, ...; see FromBook). The file's format is told
// from its first bytes. Errors name ref. At most one OpenOptions is used.
func Open(ref string, opts ...OpenOptions) (*graph.Model, error) {
	var opt OpenOptions
	if len(opts) > 0 {
		opt = opts[0]
	}
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
	var head [8]byte
	n, _ := io.ReadFull(f, head[:])
	if isNumpy(head[:n]) {
		arrays, err := numpyio.Load(ref)
		if err != nil {
			return nil, err // names the file
		}
		if opt.Activation == "" {
			opt.Activation = "sigmoid"
		}
		m, err := FromBook(arrays, opt.Activation)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", ref, err)
		}
		return m, nil
	}
	m, err := graph.ReadCheckpoint(io.MultiReader(bytes.NewReader(head[:n]), f), nil)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", ref, err)
	}
	return m, nil
}

// isNumpy reports whether a file starting with head is for numpyio.Load:
// a zip archive (.npz), a pickle (PROTO opcode) or an .npy array.
func isNumpy(head []byte) bool {
	for _, magic := range []string{"PK\x03\x04", "PK\x05\x06", "\x80", "\x93NUMPY"} {
		if bytes.HasPrefix(head, []byte(magic)) {
			return true
		}
	}
	return false
}
