package serve

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// The Open Inference Protocol (KServe v2) REST messages, as published in
// kserve/kserve docs/predict-api/v2/required_api.md.

// serverMetadata is the answer to GET /v2.
type serverMetadata struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Extensions []string `json:"extensions"`
}

// tensorMetadata describes one input or output of a model.
type tensorMetadata struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"` // -1: variable (the batch)
}

// modelMetadata is the answer to GET /v2/models/{name}.
type modelMetadata struct {
	Name     string           `json:"name"`
	Versions []string         `json:"versions,omitempty"`
	Platform string           `json:"platform"`
	Inputs   []tensorMetadata `json:"inputs"`
	Outputs  []tensorMetadata `json:"outputs"`
}

// inferRequest is the body of POST /v2/models/{name}/infer.
type inferRequest struct {
	ID         string          `json:"id,omitempty"`
	Parameters map[string]any  `json:"parameters,omitempty"`
	Inputs     []requestInput  `json:"inputs"`
	Outputs    []requestOutput `json:"outputs,omitempty"`
}

type requestInput struct {
	Name       string         `json:"name"`
	Shape      []int64        `json:"shape"`
	Datatype   string         `json:"datatype"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       rawData        `json:"data"`
}

type requestOutput struct {
	Name       string         `json:"name"`
	Parameters map[string]any `json:"parameters,omitempty"`
}

// inferResponse is the answer to a successful inference request.
type inferResponse struct {
	ModelName    string           `json:"model_name"`
	ModelVersion string           `json:"model_version,omitempty"`
	ID           string           `json:"id,omitempty"`
	Outputs      []responseOutput `json:"outputs"`
}

type responseOutput struct {
	Name       string         `json:"name"`
	Shape      []int          `json:"shape"`
	Datatype   string         `json:"datatype"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       any            `json:"data,omitempty"` // []float32, or []string for a classification; none when binary
}

// errorResponse is the body of every error answer: {"error": "..."}.
type errorResponse struct {
	Error string `json:"error"`
}

// rawData keeps a tensor's "data" as bytes, parsed once its shape and
// datatype are known.
type rawData []byte

// UnmarshalJSON keeps the bytes.
func (d *rawData) UnmarshalJSON(b []byte) error {
	*d = append((*d)[:0], b...)
	return nil
}

// errData marks a malformed "data" array.
var errData = errors.New("data")

// parseData reads a tensor's "data" (row-major, flat or nested exactly to
// shape) of exactly total elements of dtype FP32 or UINT8, as float32
// model inputs: FP32 values as they are (they must be finite), UINT8 pixel
// values divided by 255. It never reads more than total elements.
func parseData(raw []byte, shape []int, total int, dtype string) ([]float32, error) {
	v, err := parseValues(raw, shape, total, dtype)
	return v.f, err
}

// parseValues is parseData for every datatype a model input takes: FP32
// and UINT8 as float32, INT64 and INT32 as int64.
func parseValues(raw []byte, shape []int, total int, dtype string) (values, error) {
	p := dataParser{b: raw, dtype: dtype, total: total}
	if dtype == "INT64" || dtype == "INT32" {
		p.ints = make([]int64, 0, total)
	} else {
		p.out = make([]float32, 0, total)
	}
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != '[' {
		return values{}, fmt.Errorf("data must be a JSON array of %d numbers, flat or nested as the shape %v", total, shape)
	}
	// Flat, or nested: told by what the outer array holds first.
	j := p.i + 1
	for j < len(p.b) && isSpace(p.b[j]) {
		j++
	}
	var err error
	if j < len(p.b) && p.b[j] == '[' {
		err = p.nested(shape)
	} else {
		err = p.array(total, "")
	}
	if err != nil {
		return values{}, err
	}
	p.space()
	if p.i != len(p.b) {
		return values{}, fmt.Errorf("%w: unexpected bytes after the array", errData)
	}
	if p.n() != total {
		return values{}, fmt.Errorf("data has %d elements, shape %v needs %d", p.n(), shape, total)
	}
	return values{f: p.out, i: p.ints}, nil
}

type dataParser struct {
	b     []byte
	i     int
	dtype string
	total int
	out   []float32 // FP32, UINT8
	ints  []int64   // INT64, INT32
}

// n returns the number of elements read so far.
func (p *dataParser) n() int { return len(p.out) + len(p.ints) }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *dataParser) space() {
	for p.i < len(p.b) && isSpace(p.b[p.i]) {
		p.i++
	}
}

// nested reads an array nested to shape, each level of its exact length.
func (p *dataParser) nested(shape []int) error {
	if len(shape) == 1 {
		return p.array(shape[0], fmt.Sprintf(" (a nested row must have %d elements)", shape[0]))
	}
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != '[' {
		return fmt.Errorf("data near element %d: want an array (data is flat, or nested as deep as the shape)", p.n())
	}
	p.i++
	for k := 0; ; k++ {
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			if k != shape[0] {
				return fmt.Errorf("data near element %d: a nested array has %d entries, the shape wants %d", p.n(), k, shape[0])
			}
			p.i++
			return nil
		}
		if k > 0 {
			if p.i >= len(p.b) || p.b[p.i] != ',' {
				return fmt.Errorf("%w: malformed array near element %d", errData, p.n())
			}
			p.i++
		}
		if k >= shape[0] {
			return fmt.Errorf("data near element %d: a nested array has more than %d entries, as the shape wants", p.n(), shape[0])
		}
		if err := p.nested(shape[1:]); err != nil {
			return err
		}
	}
}

// array reads an array of at most n numbers; hint explains a wrong count.
func (p *dataParser) array(n int, hint string) error {
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != '[' {
		return fmt.Errorf("data near element %d: want an array (data is flat, or nested as deep as the shape)", p.n())
	}
	p.i++
	for k := 0; ; k++ {
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			if k != n {
				return fmt.Errorf("data has %d elements where the shape wants %d%s", k, n, hint)
			}
			p.i++
			return nil
		}
		if k > 0 {
			if p.i >= len(p.b) || p.b[p.i] != ',' {
				return fmt.Errorf("%w: malformed array near element %d", errData, p.n())
			}
			p.i++
			p.space()
			if p.i < len(p.b) && p.b[p.i] == ']' {
				return fmt.Errorf("%w: malformed array near element %d (a comma before ']')", errData, p.n())
			}
		}
		if k >= n || p.n() >= p.total {
			return fmt.Errorf("data has more than the %d elements the shape wants%s", n, hint)
		}
		if err := p.number(); err != nil {
			return err
		}
	}
}

// number reads one element.
func (p *dataParser) number() error {
	start := p.i
	for p.i < len(p.b) && !isSpace(p.b[p.i]) && p.b[p.i] != ',' && p.b[p.i] != ']' && p.b[p.i] != '[' {
		p.i++
	}
	tok := string(p.b[start:p.i])
	k := p.n()
	if !jsonNumber(tok) {
		if len(tok) > 24 {
			tok = tok[:24] + "..."
		}
		if tok == "" && p.i < len(p.b) {
			tok = string(p.b[p.i])
		}
		return fmt.Errorf("data element %d: %s is not a number (NaN and infinities are not allowed)", k, strconv.Quote(tok))
	}
	switch p.dtype {
	case "INT64", "INT32":
		bits := 64
		if p.dtype == "INT32" {
			bits = 32
		}
		v, err := strconv.ParseInt(tok, 10, bits)
		if err != nil {
			return fmt.Errorf("data element %d: %s is not an %s", k, tok, p.dtype)
		}
		p.ints = append(p.ints, v)
	case "UINT8":
		v, err := strconv.ParseUint(tok, 10, 8)
		if err != nil {
			return fmt.Errorf("data element %d: %s is not a UINT8 (an integer 0-255)", k, tok)
		}
		p.out = append(p.out, float32(v)/255)
	default: // FP32
		v, err := strconv.ParseFloat(tok, 32)
		if err != nil {
			return fmt.Errorf("data element %d: %s is outside the FP32 range", k, tok)
		}
		p.out = append(p.out, float32(v))
	}
	return nil
}

// jsonNumber reports whether s is a number by JSON's grammar.
func jsonNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// sampleShapes returns the per-sample shapes a request may use for a model
// of per-sample shape in: the model's own, flat, and for 784 values the
// image forms (1, 28, 28) and (28, 28).
func sampleShapes(in []int) [][]int {
	size := product(in)
	shapes := [][]int{in}
	for _, s := range [][]int{{size}, {1, 28, 28}, {28, 28}} {
		if product(s) == size && !slices.ContainsFunc(shapes, func(t []int) bool { return slices.Equal(s, t) }) {
			shapes = append(shapes, s)
		}
	}
	return shapes
}
