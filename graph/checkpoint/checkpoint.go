package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tapenet/tapenet/graph"
)

// ErrMalformed is wrapped by every error about malformed checkpoint bytes.
var ErrMalformed = errors.New("malformed checkpoint")

// Version is the format_version written to checkpoint metadata.
const Version = 1

// maxHeader caps the JSON header of a checkpoint, as the safetensors
// reference implementation does (100 MB).
const maxHeader = 100 << 20

type tensorEntry struct {
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// StatePrefix begins the name of every tensor and metadata key of a
// checkpoint that is not part of the model: the training state that
// WriteWithState adds and Read skips.
const StatePrefix = "__state__."

// State is what a checkpoint may carry beside the model, such as what a
// trainer needs to resume (train.Trainer.WriteCheckpoint fills it): named
// metadata strings and named float32 vectors.
type State struct {
	// Metadata holds strings, stored under "__state__.<key>" in the
	// header's __metadata__.
	Metadata map[string]string
	// Tensors holds vectors of at least one value, stored as 1-D F32
	// tensors named "__state__.<name>".
	Tensors map[string][]float32
}

// Write writes the model's architecture and weights to w as one
// safetensors file (https://github.com/huggingface/safetensors), readable by
// any safetensors reader. Byte by byte:
//
//	[0, 8)      N, the length of the header, uint64 little-endian.
//	[8, 8+N)    the header: a UTF-8 JSON object with its keys sorted,
//	            padded with spaces so that 8+N is a multiple of 8. For each
//	            parameter a key "<layer>.<param>" (e.g. "fc1.weight") whose
//	            value is {"dtype":"F32","shape":[d0,d1,...],
//	            "data_offsets":[b,e]}: the parameter occupies bytes [b, e)
//	            of the data section. The key "__metadata__" maps to string
//	            values: "format": "tapenet", "format_version": "1", and
//	            "spec": the model's Spec as JSON text (layer kinds and
//	            configs).
//	[8+N, end)  the data section: the parameters back to back in model
//	            order, each as float32 little-endian values in row-major
//	            order; a dense weight is (in, out), the transpose of
//	            PyTorch's nn.Linear.weight.
func Write(w io.Writer, m *graph.Model) error { return WriteWithState(w, m, nil) }

// WriteWithState writes the model as Write does and, when st is not nil,
// its state in the same file, which stays a plain safetensors file: any
// safetensors reader opens it (seeing the state as extra tensors), and Read
// rebuilds the model from it, skipping the state. The layout is Write's
// with two additions:
//
//	header      for each tensor of st, a key "__state__.<name>" with
//	            {"dtype":"F32","shape":[n],"data_offsets":[b,e]}; in
//	            "__metadata__", each metadata entry of st under
//	            "__state__.<key>".
//	data        after the parameters, the state tensors back to back in
//	            the sorted order of their names, float32 little-endian.
//
// A model parameter may not be named with the "__state__." prefix.
func WriteWithState(w io.Writer, m *graph.Model, st *State) error {
	spec, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	meta := map[string]string{
		"format":         "tapenet",
		"format_version": strconv.Itoa(Version),
		"spec":           string(spec),
	}
	header := map[string]any{"__metadata__": meta}
	var off int64
	var data [][]float32
	add := func(name string, shape []int, vals []float32) {
		n := int64(4 * len(vals))
		header[name] = tensorEntry{DType: "F32", Shape: shape, Offsets: [2]int64{off, off + n}}
		off += n
		data = append(data, vals)
	}
	for _, name := range m.ParamNames() {
		if strings.HasPrefix(name, StatePrefix) {
			return fmt.Errorf("checkpoint: parameter %s uses the reserved prefix %q", name, StatePrefix)
		}
		t := m.Param(name)
		add(name, []int(t.Shape()), t.Data().([]float32))
	}
	if st != nil {
		for _, k := range sortedKeys(st.Metadata) {
			meta[StatePrefix+k] = st.Metadata[k]
		}
		for _, k := range sortedKeys(st.Tensors) {
			v := st.Tensors[k]
			if len(v) == 0 {
				return fmt.Errorf("checkpoint: state tensor %q is empty", k)
			}
			add(StatePrefix+k, []int{len(v)}, v)
		}
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if pad := (8 - (8+len(hb))%8) % 8; pad > 0 {
		hb = append(hb, bytes.Repeat([]byte{' '}, pad)...)
	}
	buf := make([]byte, 8, 8+len(hb)+int(off))
	binary.LittleEndian.PutUint64(buf, uint64(len(hb)))
	buf = append(buf, hb...)
	for _, vals := range data {
		for _, v := range vals {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Safetensors is a parsed safetensors file of float32 tensors.
type Safetensors struct {
	// Metadata is the header's "__metadata__" map.
	Metadata map[string]string
	// Names lists the tensors in data order.
	Names []string
	// Shapes and Values hold each tensor's shape and row-major values.
	Shapes map[string][]int
	Values map[string][]float32
}

// ReadSafetensors parses a safetensors file whose tensors are all F32. It
// checks the header (size cap, offsets contiguous, in bounds and matching
// each shape) before allocating the data, and that exactly the bytes the
// header describes follow it.
func ReadSafetensors(r io.Reader) (*Safetensors, error) {
	var lenb [8]byte
	if _, err := io.ReadFull(r, lenb[:]); err != nil {
		return nil, fmt.Errorf("%w: header length: %v", ErrMalformed, unexpectedEOF(err))
	}
	hlen := binary.LittleEndian.Uint64(lenb[:])
	if hlen < 2 || hlen > maxHeader {
		return nil, fmt.Errorf("%w: header length %d out of range (2 to %d)", ErrMalformed, hlen, maxHeader)
	}
	hb, err := io.ReadAll(io.LimitReader(r, int64(hlen)))
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if uint64(len(hb)) != hlen {
		return nil, fmt.Errorf("%w: header claims %d bytes, file has %d", ErrMalformed, hlen, len(hb))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hb, &raw); err != nil {
		return nil, fmt.Errorf("%w: header JSON: %v", ErrMalformed, err)
	}
	st := &Safetensors{Metadata: map[string]string{}, Shapes: map[string][]int{}, Values: map[string][]float32{}}
	type span struct {
		name string
		e    tensorEntry
	}
	var spans []span
	for k, v := range raw {
		if k == "__metadata__" {
			if err := json.Unmarshal(v, &st.Metadata); err != nil {
				return nil, fmt.Errorf("%w: __metadata__: %v", ErrMalformed, err)
			}
			continue
		}
		var e tensorEntry
		if err := strictUnmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %v", ErrMalformed, k, err)
		}
		if e.DType != "F32" {
			return nil, fmt.Errorf("%w: tensor %q has dtype %q (only F32 is supported)", ErrMalformed, k, e.DType)
		}
		if len(e.Shape) > 0 {
			if err := checkShape(e.Shape); err != nil {
				return nil, fmt.Errorf("%w: tensor %q: %v", ErrMalformed, k, err)
			}
		}
		spans = append(spans, span{k, e})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].e.Offsets[0] < spans[j].e.Offsets[0] })
	var end int64
	for _, s := range spans {
		size := int64(4)
		for _, d := range s.e.Shape {
			size *= int64(d)
		}
		if s.e.Offsets[0] != end || s.e.Offsets[1]-s.e.Offsets[0] != size {
			return nil, fmt.Errorf("%w: tensor %q: data_offsets %v do not follow on from %d with %d bytes for shape %v", ErrMalformed, s.name, s.e.Offsets, end, size, s.e.Shape)
		}
		end = s.e.Offsets[1]
	}
	if end > 1<<34 {
		return nil, fmt.Errorf("%w: header claims %d bytes of data", ErrMalformed, end)
	}
	var data bytes.Buffer
	n, err := io.Copy(&data, io.LimitReader(r, end+1))
	if err != nil {
		return nil, fmt.Errorf("%w: data: %v", ErrMalformed, err)
	}
	if n != end {
		return nil, fmt.Errorf("%w: header describes %d bytes of data, file has %d", ErrMalformed, end, n)
	}
	b := data.Bytes()
	for _, s := range spans {
		chunk := b[s.e.Offsets[0]:s.e.Offsets[1]]
		vals := make([]float32, len(chunk)/4)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(chunk[4*i:]))
		}
		st.Names = append(st.Names, s.name)
		st.Shapes[s.name] = slices.Clone(s.e.Shape)
		st.Values[s.name] = vals
	}
	return st, nil
}

// Read reads a checkpoint written by Write (or WriteWithState, whose state
// it skips) and rebuilds its model, decoding layer kinds with reg
// (Builtin() when nil). Every parameter of the model must be present with
// its exact shape, and no other tensor but state.
func Read(r io.Reader, reg *graph.Registry) (*graph.Model, error) {
	m, _, err := ReadWithState(r, reg)
	return m, err
}

// ReadWithState is Read that also returns the state stored by
// WriteWithState, or nil when the file holds none.
func ReadWithState(r io.Reader, reg *graph.Registry) (*graph.Model, *State, error) {
	st, err := ReadSafetensors(r)
	if err != nil {
		return nil, nil, err
	}
	if f := st.Metadata["format"]; f != "tapenet" {
		return nil, nil, fmt.Errorf("%w: metadata format is %q, not a tapenet checkpoint", ErrMalformed, f)
	}
	if v := st.Metadata["format_version"]; v != strconv.Itoa(Version) {
		return nil, nil, fmt.Errorf("%w: format_version %q not supported (want %d)", ErrMalformed, v, Version)
	}
	m, err := graph.FromSpec([]byte(st.Metadata["spec"]), reg)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var state *State
	var names []string
	for _, name := range st.Names {
		if k, ok := strings.CutPrefix(name, StatePrefix); ok {
			if state == nil {
				state = &State{Metadata: map[string]string{}, Tensors: map[string][]float32{}}
			}
			if len(st.Shapes[name]) != 1 {
				return nil, nil, fmt.Errorf("%w: state tensor %s has shape %v, want one dimension", ErrMalformed, name, st.Shapes[name])
			}
			state.Tensors[k] = st.Values[name]
			continue
		}
		names = append(names, name)
	}
	for key, v := range st.Metadata {
		if k, ok := strings.CutPrefix(key, StatePrefix); ok {
			if state == nil {
				state = &State{Metadata: map[string]string{}, Tensors: map[string][]float32{}}
			}
			state.Metadata[k] = v
		}
	}
	order := m.ParamNames()
	if len(names) != len(order) {
		return nil, nil, fmt.Errorf("%w: %d tensors %v, model has %d parameters %v", ErrMalformed, len(names), names, len(order), order)
	}
	for _, name := range order {
		vals, ok := st.Values[name]
		if !ok {
			return nil, nil, fmt.Errorf("%w: parameter %s missing", ErrMalformed, name)
		}
		if err := m.SetParam(name, st.Shapes[name], vals); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	return m, state, nil
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// checkShape accepts tensor shapes of 1 to 6 positive dimensions and at
// most graph.MaxElements values.
func checkShape(shape []int) error {
	if len(shape) > 6 {
		return fmt.Errorf("shape %v: more than 6 dimensions", shape)
	}
	n := 1
	for _, d := range shape {
		if d < 1 || d > graph.MaxElements {
			return fmt.Errorf("shape %v: dimension %d out of range", shape, d)
		}
		n *= d
		if n > graph.MaxElements {
			return fmt.Errorf("shape %v: more than %d elements", shape, graph.MaxElements)
		}
	}
	return nil
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
