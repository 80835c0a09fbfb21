package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gorgonia.org/tensor"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/models"
	"github.com/tapenet/tapenet/numpyio"
)

// inputArg is one --input: an optional input name and a file.
type inputArg struct{ name, path string }

// parseInput parses --input [NAME=]FILE.npy|.npz.
func parseInput(s string) (inputArg, error) {
	name, path, ok := strings.Cut(s, "=")
	if !ok {
		name, path = "", s
	}
	if path == "" || (ok && name == "") {
		return inputArg{}, cli.Usagef("--input %q: want [NAME=]FILE.npy or FILE.npz", s)
	}
	return inputArg{name, path}, nil
}

// runArrays runs the model on the arrays of --input and writes or prints
// its outputs.
func runArrays(o options, stdout io.Writer) error {
	var args []inputArg
	for _, s := range o.inputs {
		a, err := parseInput(s)
		if err != nil {
			return err
		}
		args = append(args, a)
	}
	if o.output != "" {
		ext := strings.ToLower(filepath.Ext(o.output))
		if ext != ".npy" && ext != ".npz" {
			return cli.Usagef("--output %s: want a .npy or .npz file", o.output)
		}
		if err := cli.CheckOutputs(cli.Output{Flag: "--output", Path: o.output}); err != nil {
			return err
		}
	}
	m, err := models.Open(o.model, models.OpenOptions{Activation: o.activation})
	if err != nil {
		return err
	}
	if o.output != "" && strings.EqualFold(filepath.Ext(o.output), ".npy") && len(m.Outputs()) != 1 {
		return cli.Usagef("--output %s: model %s has %d outputs (%s); write them to an .npz", o.output, o.model, len(m.Outputs()), strings.Join(m.Outputs(), ", "))
	}
	arrays, err := matchInputs(m.Inputs(), args)
	if err != nil {
		return err
	}
	xs := make([]*tensor.Dense, len(arrays))
	for i, in := range m.Inputs() {
		if xs[i], err = inputTensor(in, arrays[i]); err != nil {
			return err
		}
	}
	if _, err := m.CheckInputs(xs); err != nil {
		return fmt.Errorf("model %s: %w", o.model, err)
	}
	outs, err := predictBatches(graph.NewPredictor(m), m, xs, o.batch)
	if err != nil {
		return fmt.Errorf("model %s: %w", o.model, err)
	}
	names := m.Outputs()
	res := make(map[string]numpyio.Array, len(outs))
	for i, out := range outs {
		a, err := outputArray(out)
		if err != nil {
			return fmt.Errorf("model %s: output %s: %w", o.model, names[i], err)
		}
		res[names[i]] = a
	}
	if o.output != "" {
		err := cli.WriteFile(o.output, func(w io.Writer) error {
			if strings.EqualFold(filepath.Ext(o.output), ".npy") {
				return numpyio.WriteNPY(w, res[names[0]])
			}
			return numpyio.WriteNPZ(w, names, res)
		})
		if err != nil {
			return err
		}
	}
	return printOutputs(stdout, o, names, res)
}

// namedArray is an array read from a file, and where it came from.
type namedArray struct {
	numpyio.Array
	from string // FILE, or FILE:NAME for an .npz entry
}

// matchInputs assigns arrays of the --input files to the model's inputs:
// NAME=FILE gives input NAME the file's array (of an .npz, its entry NAME
// or its only one); an .npz without NAME gives each input the entry of its
// name (a model of one input takes the only entry too); an .npy without
// NAME goes to the input of its base name, or to the only input.
func matchInputs(specs []graph.InputSpec, args []inputArg) ([]namedArray, error) {
	if len(args) == 0 {
		return nil, cli.Usagef("--input: give an array for each model input")
	}
	index := map[string]int{}
	var names []string
	for i, in := range specs {
		index[in.Name] = i
		names = append(names, in.Name)
	}
	got := make([]namedArray, len(specs))
	set := make([]bool, len(specs))
	assign := func(name string, a namedArray) error {
		i, ok := index[name]
		if !ok {
			return cli.Usagef("--input %s: the model has no input %q (its inputs: %s)", a.from, name, strings.Join(names, ", "))
		}
		if set[i] {
			return cli.Usagef("--input %s: input %q is already given by %s", a.from, name, got[i].from)
		}
		got[i], set[i] = a, true
		return nil
	}
	for _, arg := range args {
		file, err := numpyio.Load(arg.path)
		if err != nil {
			return nil, fmt.Errorf("--input: %w", err) // names the file
		}
		keys := make([]string, 0, len(file))
		for k := range file {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		npz := strings.EqualFold(filepath.Ext(arg.path), ".npz") || len(keys) != 1
		switch {
		case arg.name != "":
			k := arg.name
			if _, ok := file[k]; !ok {
				if len(keys) != 1 {
					return nil, cli.Usagef("--input %s=%s: the file has no array %q (it has %s)", arg.name, arg.path, k, strings.Join(keys, ", "))
				}
				k = keys[0]
			}
			if err := assign(arg.name, namedArray{file[k], entryName(arg.path, k, npz)}); err != nil {
				return nil, err
			}
		case len(specs) == 1 && len(keys) == 1:
			if err := assign(specs[0].Name, namedArray{file[keys[0]], entryName(arg.path, keys[0], npz)}); err != nil {
				return nil, err
			}
		default:
			for _, k := range keys {
				if _, ok := index[k]; !ok && npz {
					return nil, cli.Usagef("--input %s: array %q is not a model input (its inputs: %s); name it with NAME=FILE", arg.path, k, strings.Join(names, ", "))
				}
				if err := assign(k, namedArray{file[k], entryName(arg.path, k, npz)}); err != nil {
					return nil, err
				}
			}
		}
	}
	for i, ok := range set {
		if !ok {
			return nil, cli.Usagef("--input: no array for model input %q (give %s=FILE.npy or an .npz entry of that name)", specs[i].Name, specs[i].Name)
		}
	}
	return got, nil
}

// entryName names an array for messages: FILE, or FILE:NAME in an .npz.
func entryName(path, key string, npz bool) string {
	if npz {
		return path + ":" + key
	}
	return path
}

// wantShape words the shape an input takes: (N, 784) or (4, 10) for a
// fixed batch.
func wantShape(in graph.InputSpec) string {
	dims := []string{"N"}
	if in.Batch > 0 {
		dims[0] = fmt.Sprint(in.Batch)
	}
	for _, d := range in.Shape {
		dims = append(dims, fmt.Sprint(d))
	}
	return "(" + strings.Join(dims, ", ") + ")"
}

// pyShape words a shape as numpy does: (3,), (2, 4).
func pyShape(s []int) string {
	dims := make([]string, len(s))
	for i, d := range s {
		dims[i] = fmt.Sprint(d)
	}
	if len(s) == 1 {
		return "(" + dims[0] + ",)"
	}
	return "(" + strings.Join(dims, ", ") + ")"
}

// inputTensor checks an array against a model input (element type, shape)
// and returns it as a tensor of the input's type.
func inputTensor(in graph.InputSpec, a namedArray) (*tensor.Dense, error) {
	dt := a.DType
	if dt == "" {
		dt = "float32"
	}
	want := in.DType.Or()
	bad := func(why string) error {
		return fmt.Errorf("--input %s: input %q takes %s %s; got %s %s%s", a.from, in.Name, want, wantShape(in), dt, pyShape(a.Shape), why)
	}
	shapeOK := len(a.Shape) == len(in.Shape)+1 && slices.Equal(a.Shape[1:], in.Shape) && a.Shape[0] > 0 && (in.Batch == 0 || a.Shape[0] == in.Batch)
	integer := strings.HasPrefix(dt, "int") || strings.HasPrefix(dt, "uint")
	var ok bool
	switch want {
	case graph.Float32, graph.Float64:
		ok = strings.HasPrefix(dt, "float")
	case graph.Int64, graph.Int32:
		ok = integer
	case graph.Bool:
		ok = dt == "bool"
	}
	switch {
	case !ok:
		return nil, bad("")
	case !shapeOK:
		hint := ""
		if slices.Equal(a.Shape, in.Shape) {
			hint = " (one sample: add a first axis of 1)"
		}
		return nil, bad(hint)
	}
	shape := tensor.WithShape(a.Shape...)
	switch want {
	case graph.Float64:
		v := make([]float64, len(a.Data))
		for i, f := range a.Data {
			v[i] = float64(f)
		}
		return tensor.New(shape, tensor.WithBacking(v)), nil
	case graph.Int64, graph.Int32:
		v := make([]int64, len(a.Data))
		for i, f := range a.Data {
			v[i] = int64(f)
			if a.Ints != nil {
				v[i] = a.Ints[i]
			}
			if want == graph.Int32 && (v[i] < math.MinInt32 || v[i] > math.MaxInt32) {
				return nil, bad(fmt.Sprintf(": value %d at %d does not fit int32", v[i], i))
			}
		}
		if want == graph.Int64 {
			return tensor.New(shape, tensor.WithBacking(v)), nil
		}
		v32 := make([]int32, len(v))
		for i, x := range v {
			v32[i] = int32(x)
		}
		return tensor.New(shape, tensor.WithBacking(v32)), nil
	case graph.Bool:
		v := make([]bool, len(a.Data))
		for i, f := range a.Data {
			v[i] = f != 0
		}
		return tensor.New(shape, tensor.WithBacking(v)), nil
	}
	return tensor.New(shape, tensor.WithBacking(a.Data)), nil
}

// predictBatches runs the inputs through the model in batches of at most
// batch samples (a model of a fixed batch in one run) and returns each
// output for all samples.
func predictBatches(pr *graph.Predictor, m *graph.Model, xs []*tensor.Dense, batch int) ([]*tensor.Dense, error) {
	n := xs[0].Shape()[0]
	if m.FixedBatch() > 0 || n <= batch {
		return pr.Predict(xs...)
	}
	var parts [][]*tensor.Dense
	for from := 0; from < n; from += batch {
		to := min(from+batch, n)
		sub := make([]*tensor.Dense, len(xs))
		for i, x := range xs {
			sub[i] = graph.SampleRange(x, from, to)
		}
		outs, err := pr.Predict(sub...)
		if err != nil {
			return nil, err
		}
		parts = append(parts, outs)
	}
	res := make([]*tensor.Dense, len(parts[0]))
	for i := range res {
		if m.OutputNode(i).Batch > 0 {
			return pr.Predict(xs...) // an output of a fixed axis 0: not batched
		}
		rest := make([]*tensor.Dense, 0, len(parts)-1)
		for _, p := range parts[1:] {
			rest = append(rest, p[i])
		}
		c, err := parts[0][i].Concat(0, rest...)
		if err != nil {
			return nil, fmt.Errorf("output %d: %w", i, err)
		}
		res[i] = c
	}
	return res, nil
}

// outputArray converts an output tensor to a numpy array of its own type
// (float32, float64, int64, int32; bool as float32 0/1).
func outputArray(t *tensor.Dense) (numpyio.Array, error) {
	t, err := graph.Contiguous(t)
	if err != nil {
		return numpyio.Array{}, err
	}
	a := numpyio.Array{Shape: slices.Clone([]int(t.Shape()))}
	switch v := t.Data().(type) {
	case []float32:
		a.Data, a.DType = slices.Clone(v), "float32"
	case []float64:
		a.DType = "float64"
		a.Data = make([]float32, len(v))
		for i, x := range v {
			a.Data[i] = float32(x)
		}
	case []int64:
		a.DType, a.Ints = "int64", slices.Clone(v)
		a.Data = make([]float32, len(v))
		for i, x := range v {
			a.Data[i] = float32(x)
		}
	case []int32:
		a.DType = "int32"
		a.Ints, a.Data = make([]int64, len(v)), make([]float32, len(v))
		for i, x := range v {
			a.Ints[i], a.Data[i] = int64(x), float32(x)
		}
	case []bool:
		a.DType = "float32"
		a.Data = make([]float32, len(v))
		for i, x := range v {
			if x {
				a.Data[i] = 1
			}
		}
	default:
		return numpyio.Array{}, fmt.Errorf("values of type %v cannot be written", t.Dtype())
	}
	if len(a.Shape) == 0 {
		a.Shape = []int{}
	}
	return a, nil
}

// outputInfo is one output in the --json answer of an --input run.
type outputInfo struct {
	Name   string    `json:"name"`
	Shape  []int     `json:"shape"`
	DType  string    `json:"dtype"`
	Values []float64 `json:"values,omitempty"`
}

// printOutputs reports the outputs: their names, shapes and types, and
// their values unless they were written to --output.
func printOutputs(w io.Writer, o options, names []string, res map[string]numpyio.Array) error {
	bw := bufio.NewWriter(w)
	if o.json {
		infos := make([]outputInfo, len(names))
		for i, n := range names {
			a := res[n]
			infos[i] = outputInfo{Name: n, Shape: a.Shape, DType: a.DType}
			if o.output == "" {
				infos[i].Values = make([]float64, len(a.Data))
				for k, v := range a.Data {
					infos[i].Values[k] = float64(v)
					if a.Ints != nil {
						infos[i].Values[k] = float64(a.Ints[k])
					}
				}
			}
		}
		b, err := json.Marshal(struct {
			Model   string       `json:"model"`
			Output  string       `json:"output,omitempty"`
			Outputs []outputInfo `json:"outputs"`
		}{o.model, o.output, infos})
		if err != nil {
			return fmt.Errorf("--json: %w", err) // a NaN or an infinity among the values
		}
		bw.Write(append(b, '\n'))
		return bw.Flush()
	}
	for _, n := range names {
		a := res[n]
		fmt.Fprintf(bw, "output %s: %s %s", n, a.DType, pyShape(a.Shape))
		if o.output != "" {
			fmt.Fprintf(bw, " written to %s\n", o.output)
			continue
		}
		fmt.Fprintln(bw)
		cols := 1
		if len(a.Shape) > 1 {
			cols = len(a.Data) / max(a.Shape[0], 1)
		}
		for r := 0; r*cols < len(a.Data); r++ {
			for c := range cols {
				if c > 0 {
					bw.WriteByte(' ')
				}
				k := r*cols + c
				if a.Ints != nil {
					fmt.Fprint(bw, a.Ints[k])
				} else {
					fmt.Fprint(bw, a.Data[k])
				}
			}
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}
