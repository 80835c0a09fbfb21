package serve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/imageprep"
)

// model is one model a Server serves: its inputs and outputs as the
// protocol sees them, and the batcher that runs it.
type model struct {
	name    string
	m       *graph.Model
	inputs  []graph.InputSpec
	inPer   []int // values per sample of each input
	outputs []string
	outPer  []int // values per sample of each output
	meaning graph.Meaning
	fixed   int // the fixed batch of the inputs (InputSpec.Batch), 0 if symbolic
	batch   *batcher
	warmed  chan struct{} // closed once the workers compiled the model (or failed)
	closed  atomic.Bool
	once    sync.Once
}

// ActivationBudget is the default Options.ActivationBudget: the bytes of
// float32 activations that the compiled graphs of one model may hold, over
// every padded batch size a worker compiles (1, 2, 4, ... MaxBatch) and
// every worker. It is the CLI's per-batch budget (128 MiB) at the sizes a
// server keeps compiled (their sum is about twice the largest).
const ActivationBudget = 256 << 20

// buckets returns the padded batch sizes of a batcher of maxBatch.
func buckets(maxBatch int) []int {
	var out []int
	for s := 1; s < maxBatch; s *= 2 {
		out = append(out, s)
	}
	return append(out, maxBatch)
}

// activationBytes returns the float32 activations that workers holding
// graphs for every bucket up to maxBatch keep, for a model of
// sampleValues values per sample.
func activationBytes(maxBatch, workers, sampleValues int) int64 {
	total := int64(0)
	for _, s := range buckets(maxBatch) {
		total += int64(s)
	}
	return total * int64(workers) * 4 * int64(max(sampleValues, 1))
}

// newModel checks m against the options and starts its workers.
func newModel(name string, m *graph.Model, opt Options, observe func(string, int, time.Duration)) (*model, error) {
	md := &model{name: name, m: m, inputs: m.Inputs(), outputs: m.Outputs(), meaning: m.OutputMeaning(0)}
	if len(md.inputs) == 0 {
		return nil, fmt.Errorf("serve: model %s has no inputs", name)
	}
	for i, in := range md.inputs {
		if accepted(in.DType) == nil {
			return nil, fmt.Errorf("serve: model %s input %q has element type %s; the server feeds float32 and int64 inputs", name, in.Name, in.DType.Or())
		}
		if in.Batch > 0 {
			if i > 0 && md.fixed != in.Batch || i > 0 && md.fixed == 0 {
				return nil, fmt.Errorf("serve: model %s input %q has a fixed batch of %d and another input does not share it", name, in.Name, in.Batch)
			}
			md.fixed = in.Batch
		} else if md.fixed > 0 {
			return nil, fmt.Errorf("serve: model %s input %q has a symbolic batch and input %q a fixed one of %d", name, in.Name, md.inputs[0].Name, md.fixed)
		}
		md.inPer = append(md.inPer, product(in.Shape))
	}
	for i := range md.outputs {
		md.outPer = append(md.outPer, product(m.OutputShape(i)))
	}
	maxBatch := opt.MaxBatch
	if md.fixed > 0 {
		maxBatch = md.fixed // every run is the model's own batch
	}
	if need := activationBytes(maxBatch, opt.Workers, m.SampleValues()); need > opt.ActivationBudget {
		most := 0
		for b := 1; b <= maxBatch && activationBytes(b, opt.Workers, m.SampleValues()) <= opt.ActivationBudget; b++ {
			most = b
		}
		if md.fixed > 0 || most == 0 {
			return nil, fmt.Errorf("serve: model %s: %d KiB of activations per sample; %d workers at batch %d hold %d MiB, over the activation budget of %d MiB (--activation-budget); not even batch 1 fits", name, 4*m.SampleValues()>>10, opt.Workers, maxBatch, need>>20, opt.ActivationBudget>>20)
		}
		return nil, fmt.Errorf("serve: model %s at --max-batch %d with %d workers holds about %d MiB of activations (%d KiB per sample, graphs for batches 1..%d), over the activation budget of %d MiB (--activation-budget); at most --max-batch %d fits", name, maxBatch, opt.Workers, need>>20, 4*m.SampleValues()>>10, maxBatch, opt.ActivationBudget>>20, most)
	}
	md.batch = newBatcher(m, opt.Workers, maxBatch, opt.MaxDelay, opt.QueueSize, func(n int, d time.Duration) { observe(name, n, d) })
	md.warmed = make(chan struct{})
	go func() {
		md.batch.warm.Wait()
		close(md.warmed)
	}()
	return md, nil
}

// ready reports whether the model is compiled and not unloaded.
func (md *model) ready() bool {
	select {
	case <-md.warmed:
		return md.batch.warmErr == nil && !md.closed.Load()
	default:
		return false
	}
}

// close stops the model's workers; queued requests fail with ErrStopping.
func (md *model) close() {
	md.once.Do(func() {
		md.closed.Store(true)
		md.batch.close()
	})
}

// takesImage reports whether the image endpoint and page apply: one
// float32 input of 28x28 values and a first output of class scores.
func (md *model) takesImage() bool {
	return len(md.inputs) == 1 && md.inputs[0].DType.Or() == graph.Float32 && md.fixed == 0 &&
		md.inPer[0] == imageprep.Side*imageprep.Side && md.meaning.Classes()
}

// metadata is the answer to GET /v2/models/{name}: shapes with -1 for the
// symbolic batch.
func (md *model) metadata() modelMetadata {
	out := modelMetadata{Name: md.name, Versions: []string{modelVersion}, Platform: "tapenet"}
	batch := -1
	if md.fixed > 0 {
		batch = md.fixed
	}
	for _, in := range md.inputs {
		out.Inputs = append(out.Inputs, tensorMetadata{Name: in.Name, Datatype: wireType(in.DType), Shape: append([]int{batch}, in.Shape...)})
	}
	for i, name := range md.outputs {
		out.Outputs = append(out.Outputs, tensorMetadata{Name: name, Datatype: "FP32", Shape: append([]int{batch}, md.m.OutputShape(i)...)})
	}
	return out
}

// inference is a request in any of the protocol's forms (JSON, JSON with
// binary tensors, gRPC), before it is checked against the model.
type inference struct {
	id        string
	inputs    []inferInput
	outputs   []inferOutput // none: all
	binaryAll bool          // binary_data_output
}

// inferInput is one input tensor of a request: its data in one of three
// forms.
type inferInput struct {
	name, datatype string
	shape          []int64
	json           rawData // JSON "data"
	raw            []byte  // binary data (HTTP's binary extension, gRPC's raw_input_contents)
	hasRaw         bool
	typed          *values // gRPC's typed contents, decoded
}

// inferOutput is one requested output.
type inferOutput struct {
	name    string
	binary  *bool // binary_data; nil: the request's default
	classes int   // classification count; 0: the tensor itself
}

// prepared is a request checked against the model: inputs decoded.
type prepared struct {
	xs     []values
	n      int
	wants  []want
	answer int64 // bytes the answer may take, at most
	memory int64 // bytes the request holds in flight, at most
}

// want is one output to answer.
type want struct {
	index   int
	binary  bool
	classes int
}

func badRequest(format string, args ...any) error {
	return &requestError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// prepare checks a request against the model and decodes its inputs.
// binaryOK says whether binary outputs are possible (HTTP); gRPC answers
// raw tensors in its own way.
func (md *model) prepare(req *inference, opt *Options) (*prepared, error) {
	names := make([]string, len(md.inputs))
	for i, in := range md.inputs {
		names[i] = in.Name
	}
	if len(req.inputs) == 0 {
		return nil, badRequest("request has no inputs; model %s takes %s", md.name, joinQuoted(names))
	}
	p := &prepared{xs: make([]values, len(md.inputs)), n: -1}
	seen := make([]bool, len(md.inputs))
	for _, in := range req.inputs {
		i := slices.Index(names, in.name)
		if i < 0 {
			return nil, badRequest("unknown input %q (model %s takes %s)", in.name, md.name, joinQuoted(names))
		}
		if seen[i] {
			return nil, badRequest("input %q given twice", in.name)
		}
		seen[i] = true
		x, n, err := md.input(i, in, opt)
		if err != nil {
			return nil, err
		}
		if p.n >= 0 && n != p.n {
			return nil, badRequest("input %q has %d samples, input %q %d: every input needs the same batch", in.name, n, req.inputs[0].name, p.n)
		}
		p.n, p.xs[i] = n, x
	}
	for i, ok := range seen {
		if !ok {
			return nil, badRequest("input %q is missing (model %s takes %s)", names[i], md.name, joinQuoted(names))
		}
	}
	if err := md.wanted(req, p); err != nil {
		return nil, err
	}
	if p.answer > opt.MaxAnswerBytes {
		return nil, &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the answer would take up to %d bytes, more than the limit of %d (--max-answer): ask for fewer samples or outputs, binary_data, or a classification", p.answer, opt.MaxAnswerBytes)}
	}
	// Decoded inputs (and their copy into a batch), every output's rows
	// (and their copy out of the batch), and the answer.
	for i, x := range p.xs {
		size := int64(4)
		if x.i != nil {
			size = 8
		}
		p.memory += 2 * size * int64(p.n) * int64(md.inPer[i])
	}
	for _, per := range md.outPer {
		p.memory += 2 * 4 * int64(p.n) * int64(per)
	}
	p.memory += p.answer
	return p, nil
}

// input decodes request input in as model input i and returns its values
// and number of samples.
func (md *model) input(i int, in inferInput, opt *Options) (values, int, error) {
	spec := md.inputs[i]
	if !slices.Contains(accepted(spec.DType), in.datatype) {
		return values{}, 0, badRequest("input %q: datatype %q not supported; model %s takes %s (%s)", in.name, in.datatype, md.name, strings.Join(accepted(spec.DType), " or "), acceptedNote(spec.DType))
	}
	allowed := [][]int{spec.Shape}
	if spec.DType.Or() == graph.Float32 {
		allowed = sampleShapes(spec.Shape)
	}
	lead := -1
	if md.fixed > 0 {
		lead = md.fixed
	}
	want := func() string {
		var forms []string
		for _, sh := range allowed {
			forms = append(forms, fmtShape(append([]int{lead}, sh...)))
		}
		return strings.Join(forms, " or ")
	}
	if len(in.shape) < 2 && !(len(in.shape) == 1 && len(spec.Shape) == 0) {
		return values{}, 0, badRequest("input %q: shape %s, want %s (batch first)", in.name, fmtShape(in.shape), want())
	}
	shape := make([]int, len(in.shape))
	for k, d := range in.shape {
		if d < 1 || d > math.MaxInt32 {
			return values{}, 0, badRequest("input %q: shape %s has a dimension below 1 or above 2^31", in.name, fmtShape(in.shape))
		}
		shape[k] = int(d)
	}
	if !slices.ContainsFunc(allowed, func(a []int) bool { return slices.Equal(a, shape[1:]) }) || (md.fixed > 0 && shape[0] != md.fixed) {
		return values{}, 0, badRequest("input %q: shape %s, want %s (batch first)", in.name, fmtShape(in.shape), want())
	}
	n := shape[0]
	if n > opt.MaxSamples {
		return values{}, 0, &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("input %q: %d samples, at most %d in one request (--max-samples)", in.name, n, opt.MaxSamples)}
	}
	total := n * md.inPer[i]
	var x values
	var err error
	switch {
	case in.typed != nil:
		x = *in.typed
		if x.len() != total {
			err = fmt.Errorf("%d elements, shape %v needs %d", x.len(), shape, total)
		}
	case in.hasRaw:
		x, err = decodeBinary(in.raw, in.datatype, total)
	case len(in.json) == 0 || string(in.json) == "null":
		return values{}, 0, badRequest("input %q: no data", in.name)
	default:
		x, err = parseValues(in.json, shape, total, in.datatype)
	}
	if err != nil {
		return values{}, 0, badRequest("input %q: %v", in.name, err)
	}
	return x, n, nil
}

func acceptedNote(d graph.DType) string {
	if d.Or() == graph.Float32 {
		return "UINT8 values are pixels, divided by 255"
	}
	return "INT32 values are widened"
}

// wanted resolves the requested outputs: every output when none is named;
// a name that is unknown or repeated is an error. It sets p.wants and
// p.answer, the bound on the answer's bytes.
func (md *model) wanted(req *inference, p *prepared) error {
	add := func(i int, binary bool, classes int) {
		p.wants = append(p.wants, want{index: i, binary: binary, classes: classes})
		per := int64(md.outPer[i])
		n := int64(p.n)
		switch {
		case classes > 0 && binary:
			p.answer += n * int64(classes) * classStringBytes
		case classes > 0:
			p.answer += n * int64(classes) * (classStringBytes + 3)
		case binary:
			p.answer += n * per * 4
		default:
			p.answer += n * per * jsonValueBytes
		}
		p.answer += 256 // the output's JSON header
	}
	p.answer = 256
	if len(req.outputs) == 0 {
		for i := range md.outputs {
			add(i, req.binaryAll, 0)
		}
		return nil
	}
	seen := make([]bool, len(md.outputs))
	for _, o := range req.outputs {
		i := slices.Index(md.outputs, o.name)
		if i < 0 {
			return badRequest("unknown output %q (model %s has %s)", o.name, md.name, joinQuoted(md.outputs))
		}
		if seen[i] {
			return badRequest("output %q named twice", o.name)
		}
		seen[i] = true
		if o.classes < 0 || o.classes > md.outPer[i] {
			return badRequest("output %q: classification %d, want 1 to %d (its values per sample)", o.name, o.classes, md.outPer[i])
		}
		binary := req.binaryAll
		if o.binary != nil {
			binary = *o.binary
		}
		add(i, binary, o.classes)
	}
	return nil
}

// run queues the prepared request and waits for the model's outputs.
func (md *model) run(ctx context.Context, p *prepared) ([][]float32, error) {
	if md.closed.Load() {
		return nil, &requestError{http.StatusServiceUnavailable, fmt.Sprintf("model %s is unloaded", md.name)}
	}
	outs, err := md.batch.submit(ctx, p.xs, p.n)
	if errors.Is(err, ErrStopping) && md.closed.Load() {
		return nil, &requestError{http.StatusServiceUnavailable, fmt.Sprintf("model %s was unloaded", md.name)}
	}
	return outs, err
}

// outputTensor is one answered output in protocol-neutral form.
type outputTensor struct {
	name     string
	datatype string // FP32, or BYTES for a classification
	shape    []int
	f        []float32
	strs     []string
	binary   bool
}

// answer turns the model's outputs into the requested tensors.
func (md *model) answer(p *prepared, outs [][]float32) []outputTensor {
	res := make([]outputTensor, 0, len(p.wants))
	for _, w := range p.wants {
		t := outputTensor{name: md.outputs[w.index], binary: w.binary}
		if w.classes > 0 {
			t.datatype, t.shape = "BYTES", []int{p.n, w.classes}
			t.strs = classify(outs[w.index], md.outPer[w.index], w.classes)
		} else {
			t.datatype = "FP32"
			t.shape = append([]int{p.n}, md.m.OutputShape(w.index)...)
			t.f = outs[w.index]
		}
		res = append(res, t)
	}
	return res
}
