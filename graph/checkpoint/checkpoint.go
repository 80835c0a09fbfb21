package checkpoint

import (
	"bytes"
	"cmp"
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

// maxData caps the data section: graph.MaxParams float32 values.
const maxData = 4 * graph.MaxParams

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

// header is a checked safetensors header: what the file promises.
type header struct {
	meta    map[string]string // "spec" is in spec
	spec    []byte
	tensors []span         // in data order, contiguous from offset 0
	byName  map[string]int // index into tensors
	hlen    int64          // bytes of JSON
	data    int64          // bytes of data the header describes
	avail   int64          // bytes after the 8-byte length, -1 if unknown
}

type span struct {
	name string
	e    tensorEntry
}

// size returns the file size the header describes.
func (h *header) size() int64 { return 8 + h.hlen + h.data }

// ReadSafetensors parses a safetensors file whose tensors are all F32. It
// checks the header (size cap, no name twice, offsets contiguous, in bounds
// and matching each shape) before allocating the data, and that exactly
// the bytes the header describes follow it. When r tells its length (a
// *bytes.Reader, a file), the header's promises are checked against it
// before anything of their size is read; otherwise memory grows only with
// the bytes actually read.
func ReadSafetensors(r io.Reader) (*Safetensors, error) {
	h, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	st := &Safetensors{Metadata: h.meta, Shapes: map[string][]int{}, Values: map[string][]float32{}}
	if h.spec != nil {
		st.Metadata["spec"] = string(h.spec)
	}
	vals, err := h.readData(r)
	if err != nil {
		return nil, err
	}
	for i, s := range h.tensors {
		st.Names = append(st.Names, s.name)
		st.Shapes[s.name] = slices.Clone(s.e.Shape)
		st.Values[s.name] = vals[i]
	}
	return st, nil
}

// remaining returns how many bytes r has left to read, or -1 if it cannot
// tell without reading.
func remaining(r io.Reader) int64 {
	switch r := r.(type) {
	case interface{ Len() int }: // *bytes.Reader, *bytes.Buffer, *strings.Reader
		return int64(r.Len())
	case io.Seeker: // *os.File of a regular file
		cur, err := r.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		end, err := r.Seek(0, io.SeekEnd)
		if err != nil {
			return -1
		}
		if _, err := r.Seek(cur, io.SeekStart); err != nil {
			return -1
		}
		return end - cur
	}
	return -1
}

// readHeader reads and checks the length and the JSON header.
func readHeader(r io.Reader) (*header, error) {
	avail := remaining(r)
	var lenb [8]byte
	if _, err := io.ReadFull(r, lenb[:]); err != nil {
		if avail >= 0 {
			return nil, fmt.Errorf("%w: file is %d bytes, shorter than the 8-byte header length", ErrMalformed, avail)
		}
		return nil, fmt.Errorf("%w: header length: %v", ErrMalformed, unexpectedEOF(err))
	}
	h := &header{avail: avail}
	if avail >= 0 {
		h.avail -= 8
	}
	hlen := binary.LittleEndian.Uint64(lenb[:])
	if hlen < 2 || hlen > maxHeader {
		return nil, fmt.Errorf("%w: header length %d out of range (2 to %d): not a safetensors file", ErrMalformed, hlen, maxHeader)
	}
	h.hlen = int64(hlen)
	if h.avail >= 0 && h.hlen > h.avail {
		return nil, fmt.Errorf("%w: header length is %d bytes, but the file has only %d after it (%d in all)", ErrMalformed, hlen, h.avail, h.avail+8)
	}
	var hb []byte
	if h.avail >= 0 {
		hb = make([]byte, h.hlen) // checked against the file's length
		n, err := io.ReadFull(r, hb)
		hb = hb[:n]
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
		}
	} else {
		var err error
		if hb, err = io.ReadAll(io.LimitReader(r, h.hlen)); err != nil {
			return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
		}
	}
	if int64(len(hb)) != h.hlen {
		return nil, fmt.Errorf("%w: header length is %d bytes, but the file ends %d bytes after it (%d in all)", ErrMalformed, hlen, len(hb), 8+len(hb))
	}
	if err := h.decode(hb); err != nil {
		return nil, fmt.Errorf("%w: header JSON: %v", ErrMalformed, err)
	}
	slices.SortFunc(h.tensors, func(a, b span) int { return cmp.Compare(a.e.Offsets[0], b.e.Offsets[0]) })
	h.byName = make(map[string]int, len(h.tensors))
	for i, s := range h.tensors {
		size := int64(4)
		for _, d := range s.e.Shape {
			size *= int64(d)
		}
		if s.e.Offsets[0] != h.data || s.e.Offsets[1]-s.e.Offsets[0] != size {
			return nil, fmt.Errorf("%w: tensor %q: data_offsets %v do not follow on from %d with %d bytes for shape %v", ErrMalformed, s.name, s.e.Offsets, h.data, size, s.e.Shape)
		}
		h.data = s.e.Offsets[1]
		h.byName[s.name] = i
	}
	if h.data > maxData {
		return nil, fmt.Errorf("%w: header describes %d bytes of data (at most %d)", ErrMalformed, h.data, int64(maxData))
	}
	if h.avail >= 0 && h.avail-h.hlen != h.data {
		return nil, fmt.Errorf("%w: file is %d bytes, but its header describes %d (8 + %d of header + %d of data)", ErrMalformed, h.avail+8, h.size(), h.hlen, h.data)
	}
	return h, nil
}

// decode parses the header JSON: an object of tensor entries and an
// optional "__metadata__" object of strings. A key given twice, at either
// level, is an error (encoding/json would keep the last).
func (h *header) decode(hb []byte) error {
	seen := map[string]bool{}
	err := scanObject(hb, func(key string, val []byte) error {
		if seen[key] {
			if key == "__metadata__" {
				return fmt.Errorf("__metadata__ appears twice")
			}
			return fmt.Errorf("tensor %q appears twice", key)
		}
		seen[key] = true
		if key == "__metadata__" {
			h.meta = map[string]string{}
			return scanObject(val, func(k string, v []byte) error {
				if _, dup := h.meta[k]; dup {
					return fmt.Errorf("__metadata__: key %q appears twice", k)
				}
				s, err := unquoteInPlace(v) // v is the header's own buffer
				if err != nil {
					return fmt.Errorf("__metadata__: %q: %v", k, err)
				}
				if k == "spec" {
					h.spec = s // may be large: kept as bytes, not copied again
					s = nil
				}
				h.meta[k] = string(s)
				return nil
			})
		}
		var e tensorEntry
		if err := strictUnmarshal(val, &e); err != nil {
			return fmt.Errorf("tensor %q: %v", key, err)
		}
		if e.DType != "F32" {
			return fmt.Errorf("tensor %q has dtype %q (only F32 is supported)", key, e.DType)
		}
		if len(e.Shape) > 0 {
			if err := checkShape(e.Shape); err != nil {
				return fmt.Errorf("tensor %q: %v", key, err)
			}
		}
		h.tensors = append(h.tensors, span{key, e})
		return nil
	})
	if err != nil {
		return err
	}
	if h.meta == nil {
		h.meta = map[string]string{}
	}
	return nil
}

// readData reads the data section into one slice per tensor, in data
// order. When the file's length is known it was checked by readHeader and
// each slice is allocated at its size; otherwise slices grow as bytes
// arrive, so a short stream allocates little whatever its header claims.
func (h *header) readData(r io.Reader) ([][]float32, error) {
	vals := make([][]float32, len(h.tensors))
	buf := make([]byte, min(h.data, 1<<20))
	var read int64
	for i, s := range h.tensors {
		n := int((s.e.Offsets[1] - s.e.Offsets[0]) / 4)
		c := n
		if h.avail < 0 {
			c = min(n, len(buf)/4)
		}
		v := make([]float32, 0, c)
		for len(v) < n {
			k := min(len(buf), 4*(n-len(v)))
			got, err := io.ReadFull(r, buf[:k])
			read += int64(got)
			if err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					return nil, fmt.Errorf("%w: file ends %d bytes into the %d bytes of data its header describes (tensor %q)", ErrMalformed, read, h.data, s.name)
				}
				return nil, fmt.Errorf("%w: data: %v", ErrMalformed, err)
			}
			for j := 0; j < k; j += 4 {
				v = append(v, math.Float32frombits(binary.LittleEndian.Uint32(buf[j:])))
			}
		}
		vals[i] = v
	}
	var one [1]byte
	if n, _ := io.ReadFull(r, one[:]); n > 0 {
		return nil, fmt.Errorf("%w: bytes follow the %d bytes of data the header describes", ErrMalformed, h.data)
	}
	return vals, nil
}

// Read reads a checkpoint written by Write (or WriteWithState, whose state
// it skips) and rebuilds its model, decoding layer kinds with reg
// (graph.DefaultRegistry() when nil). Every parameter of the model must be present with
// its exact shape, and no other tensor but state.
//
// Nothing is allocated for what the file only claims: the header is
// checked first (its length, then each tensor against the bytes present
// when r tells its length), then the model is built from the spec with no
// parameter allocated and its parameters' names and shapes compared with
// the header's tensors, and only then is the data read, straight into the
// model's parameters. A spec of more than graph.MaxLayers layers or nodes
// is refused after skimming that many.
//
// A layer kind reg does not hold gives an error wrapping
// graph.ErrUnknownKind (not ErrMalformed): the checkpoint may be valid,
// written by a program that registered that kind.
func Read(r io.Reader, reg *graph.Registry) (*graph.Model, error) {
	m, _, err := ReadWithState(r, reg)
	return m, err
}

// ReadWithState is Read that also returns the state stored by
// WriteWithState, or nil when the file holds none.
func ReadWithState(r io.Reader, reg *graph.Registry) (*graph.Model, *State, error) {
	h, err := readHeader(r)
	if err != nil {
		return nil, nil, err
	}
	if f := h.meta["format"]; f != "tapenet" {
		return nil, nil, fmt.Errorf("%w: metadata format is %q, not a tapenet checkpoint", ErrMalformed, f)
	}
	if v := h.meta["format_version"]; v != strconv.Itoa(Version) {
		return nil, nil, fmt.Errorf("%w: format_version %q not supported (want %d)", ErrMalformed, v, Version)
	}
	var state *State
	newState := func() {
		if state == nil {
			state = &State{Metadata: map[string]string{}, Tensors: map[string][]float32{}}
		}
	}
	for key, v := range h.meta {
		if k, ok := strings.CutPrefix(key, StatePrefix); ok {
			newState()
			state.Metadata[k] = v
		}
	}
	load := func(params []graph.ParamInfo) ([][]float32, error) {
		for _, p := range params {
			i, ok := h.byName[p.Name]
			if !ok {
				return nil, fmt.Errorf("%w: parameter %s missing (the model has %d parameters, the file %d tensors)", ErrMalformed, p.Name, len(params), len(h.tensors))
			}
			if got := h.tensors[i].e.Shape; !slices.Equal(got, p.Shape) {
				return nil, fmt.Errorf("%w: tensor %s has shape %v, the model wants %v", ErrMalformed, p.Name, got, p.Shape)
			}
		}
		want := map[string]bool{}
		for _, p := range params {
			want[p.Name] = true
		}
		for _, s := range h.tensors {
			if strings.HasPrefix(s.name, StatePrefix) {
				if len(s.e.Shape) != 1 {
					return nil, fmt.Errorf("%w: state tensor %s has shape %v, want one dimension", ErrMalformed, s.name, s.e.Shape)
				}
				continue
			}
			if !want[s.name] {
				return nil, fmt.Errorf("%w: tensor %q is not a parameter of the model", ErrMalformed, s.name)
			}
		}
		vals, err := h.readData(r)
		if err != nil {
			return nil, err
		}
		for i, s := range h.tensors {
			if k, ok := strings.CutPrefix(s.name, StatePrefix); ok {
				newState()
				state.Tensors[k] = vals[i]
			}
		}
		out := make([][]float32, len(params))
		for i, p := range params {
			out[i] = vals[h.byName[p.Name]]
		}
		return out, nil
	}
	m, err := graph.FromSpecParams(h.spec, reg, load)
	switch {
	case errors.Is(err, graph.ErrUnknownKind):
		return nil, nil, fmt.Errorf("checkpoint: %w; the checkpoint needs a program that registers that kind (graph.RegisterDefault, or a registry passed to checkpoint.Read)", err)
	case errors.Is(err, ErrMalformed):
		return nil, nil, err
	case err != nil:
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
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
