// Package models holds ready-made tapenet architectures and the pretrained
// weights embedded in the binary.
//
// # Architectures
//
//	m, err := models.TwoLayerNet(784, 100, 10, "relu") // 784-100-10, softmax output
//	m, err := models.BookNet()                          // the book's 784-50-100-10 sigmoid net
//	m, err := models.ConvNet()                          // the book's SimpleConvNet, He init
//	m, err := models.BookSimpleConvNet()                // the same, the book's init
//	m, err := models.BookDeepConvNet()                  // the book's chapter 8 DeepConvNet
//	m, err := models.ResNet()                           // a small residual CNN
//
// ForData builds the same architectures (mlp, book, convnet, resnet,
// book-deep) for any sample shape and task: a softmax head over the data's
// classes, or a regression head of one identity unit per target:
//
//	m, err := models.ForData("convnet", []int{3, 32, 32}, 5, 0) // colour images, 5 classes
//	m, err := models.ForData("mlp", []int{13}, 0, 1)            // 13 features, one target
//
// # Pretrained models
//
// Open("mlp") returns the default model, a 784-256-10 ReLU net (98.19% on
// the MNIST test set), Open("convnet") the book's convnet (99.11%) and
// Open("resnet") the small residual CNN of ResNet (99.58%), all trained by
// cmd/train (the README gives the exact commands). Open also accepts the
// path of a checkpoint written by checkpoint.Write (its layers decoded
// with Registry), weights in the book's format (sample_weight.pkl, the
// convnets' params.pkl and deep_convnet_params.pkl, .npz; FromBook), and
// ONNX models (as torch.onnx.export writes them; see package onnximport).
package models

import (
	"bytes"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/checkpoint"
	"github.com/tapenet/tapenet/internal/osfile"
	"github.com/tapenet/tapenet/numpyio"
	"github.com/tapenet/tapenet/onnximport"
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
	return mlp([]int{in}, hidden, head{classes: out}, activation)
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
	m, err := checkpoint.Read(bytes.NewReader(data), Registry())
	if err != nil {
		return nil, fmt.Errorf("embedded model %s: %w", name, err)
	}
	return m, nil
}

// OpenOptions configure Open.
type OpenOptions struct {
	// Activation is the hidden activation of a model read from book-format
	// weights (.pkl or .npz; default "sigmoid", as in the book). It is
	// ignored for checkpoints, which record their layers, and for the
	// book's convnets, whose hidden activation is ReLU.
	Activation string
}

// Open returns the model named by ref: the name of an embedded model, or
// the path of a file: a tapenet checkpoint (.safetensors; its layers
// decoded with Registry, so models imported from ONNX and the book's
// convnets reload), weights in the book's format (a pickle such as
// sample_weight.pkl, or an .npz archive, with arrays W1, b1, W2, b2, ...;
// see FromBook), or an ONNX model (onnximport.Read). Errors name ref. At
// most one OpenOptions is used.
//
// The file's format is told from its bytes (see Detect and
// onnximport.IsONNX; a .onnx extension also selects ONNX). Only a regular
// file is read: a named pipe or a device is refused without being opened.
// Book-format weights have their names and shapes checked from the file's
// headers before any array data is read or inflated.
func Open(ref string, opts ...OpenOptions) (*graph.Model, error) {
	var opt OpenOptions
	if len(opts) > 0 {
		opt = opts[0]
	}
	if !strings.ContainsAny(ref, `/\.`) {
		return Pretrained(ref)
	}
	f, size, err := osfile.Open(ref)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("model %s: no such file (embedded models: %s)", ref, strings.Join(Names(), ", "))
		}
		return nil, fmt.Errorf("model: %w", err) // names the file
	}
	defer f.Close()
	var head [16]byte
	n, err := io.ReadFull(f, head[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("model %s: %w", ref, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("model %s: %w", ref, err)
	}
	switch Detect(head[:n], size) {
	case Numpy:
		if opt.Activation == "" {
			opt.Activation = "sigmoid"
		}
		check := func(shapes map[string][]int) error {
			_, err := checkBook(shapes)
			return err
		}
		arrays, err := numpyio.Load(ref, numpyio.Options{Check: check})
		if err != nil {
			return nil, err // names the file
		}
		m, err := FromBook(arrays, opt.Activation)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", ref, err)
		}
		return m, nil
	case Safetensors:
		m, err := checkpoint.Read(f, Registry())
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", ref, err)
		}
		return m, nil
	}
	if onnximport.IsONNX(head[:n]) || strings.EqualFold(filepath.Ext(ref), ".onnx") {
		m, err := onnximport.Read(f)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", ref, err)
		}
		return m, nil
	}
	if n == 0 {
		return nil, fmt.Errorf("model %s: the file is empty", ref)
	}
	return nil, fmt.Errorf("model %s: not a model file: it starts with %q; want a tapenet checkpoint (safetensors), an ONNX model, an .npz archive, an .npy array or a pickle of protocol 2 to 5", ref, head[:min(n, 8)])
}

// Format is a kind of model file told by Detect.
type Format int

// The formats Detect tells apart.
const (
	Unknown     Format = iota
	Safetensors        // a safetensors file: a tapenet checkpoint
	Numpy              // an .npz archive, an .npy array or a pickle (package numpyio)
)

// Detect tells the format of a file of size bytes (-1 if unknown) from
// its first bytes (16 are enough). A safetensors file is recognised by its
// whole header shape: an 8-byte little-endian length N between 2 and 100
// MB, within the file, followed by '{'. That shape comes first: the low
// byte of N may be anything, 0x80 (a pickle's first byte) included, while
// a pickle's bytes never give an N that fits the file and a '{' at byte 8.
// Then the numpy formats by their magic: "PK\x03\x04" or "PK\x05\x06"
// (zip), "\x93NUMPY", and 0x80 followed by a protocol from 2 to 5 (pickle).
// A file that starts like a safetensors header (a '{' at byte 8) but whose
// length does not fit is still Safetensors, so that reading it explains
// what is wrong.
func Detect(head []byte, size int64) Format {
	st := len(head) > 8 && head[8] == '{'
	if st {
		n := binary.LittleEndian.Uint64(head)
		if n >= 2 && n <= 100<<20 && (size < 0 || n <= uint64(size-8)) {
			return Safetensors
		}
	}
	for _, magic := range []string{"PK\x03\x04", "PK\x05\x06", "\x93NUMPY"} {
		if bytes.HasPrefix(head, []byte(magic)) {
			return Numpy
		}
	}
	if numpyio.IsPickle(head) {
		return Numpy
	}
	if st {
		return Safetensors
	}
	return Unknown
}
