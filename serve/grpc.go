package serve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/tapenet/tapenet/serve/inferencepb"
)

// GRPCServer returns a gRPC server answering the Open Inference Protocol's
// gRPC form (inference.GRPCInferenceService, KServe's grpc_predict_v2) for
// s's models: ServerLive, ServerReady, ModelReady, ServerMetadata,
// ModelMetadata and ModelInfer, with typed contents or
// raw_input_contents in and raw_output_contents out (as Triton answers),
// the classification parameter, and the same limits as HTTP. Run it with
// ServeGRPC, or register more services on it first.
func (s *Server) GRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	base := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(int(min(s.opt.MaxBodyBytes, math.MaxInt32))),
		grpc.MaxSendMsgSize(int(min(s.opt.MaxAnswerBytes+1<<20, math.MaxInt32))),
		grpc.ConnectionTimeout(s.opt.ReadTimeout),
		grpc.UnaryInterceptor(s.metrics.grpcInterceptor(s.known)),
	}
	gs := grpc.NewServer(append(base, opts...)...)
	pb.RegisterGRPCInferenceServiceServer(gs, &grpcService{s: s})
	return gs
}

// ServeGRPC serves gs on ln until ctx ends, then stops gracefully: calls
// in flight finish (up to Options.ShutdownTimeout), new ones are refused.
func (s *Server) ServeGRPC(ctx context.Context, gs *grpc.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- gs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.stopping.Store(true)
	done := make(chan struct{})
	go func() {
		gs.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(s.opt.ShutdownTimeout):
		gs.Stop()
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

type grpcService struct {
	pb.UnimplementedGRPCInferenceServiceServer
	s *Server
}

// grpcError turns an error into a gRPC status of the matching code.
func grpcError(err error) error {
	code, msg := statusOf(err)
	c := codes.Internal
	switch code {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		c = codes.InvalidArgument
	case http.StatusNotFound:
		c = codes.NotFound
	case http.StatusRequestEntityTooLarge:
		c = codes.ResourceExhausted
	case http.StatusServiceUnavailable:
		c = codes.Unavailable
	case 499:
		c = codes.Canceled
	case http.StatusRequestTimeout:
		c = codes.DeadlineExceeded
	}
	return status.Error(c, msg)
}

func (g *grpcService) ServerLive(context.Context, *pb.ServerLiveRequest) (*pb.ServerLiveResponse, error) {
	return &pb.ServerLiveResponse{Live: !g.s.closed.Load()}, nil
}

func (g *grpcService) ServerReady(context.Context, *pb.ServerReadyRequest) (*pb.ServerReadyResponse, error) {
	return &pb.ServerReadyResponse{Ready: g.s.isReady()}, nil
}

func (g *grpcService) ModelReady(_ context.Context, r *pb.ModelReadyRequest) (*pb.ModelReadyResponse, error) {
	md, err := g.s.findModel(r.GetName(), r.GetVersion())
	if err != nil {
		return nil, grpcError(err)
	}
	return &pb.ModelReadyResponse{Ready: md.ready() && !g.s.stopping.Load()}, nil
}

func (g *grpcService) ServerMetadata(context.Context, *pb.ServerMetadataRequest) (*pb.ServerMetadataResponse, error) {
	var ext []string
	for _, e := range g.s.extensions() {
		if e != "binary_tensor_data" { // an HTTP extension; gRPC has raw contents
			ext = append(ext, e)
		}
	}
	return &pb.ServerMetadataResponse{Name: "tapenet", Version: g.s.opt.Version, Extensions: ext}, nil
}

func tensorsMetadata(ts []tensorMetadata) []*pb.ModelMetadataResponse_TensorMetadata {
	out := make([]*pb.ModelMetadataResponse_TensorMetadata, len(ts))
	for i, t := range ts {
		shape := make([]int64, len(t.Shape))
		for k, d := range t.Shape {
			shape[k] = int64(d)
		}
		out[i] = &pb.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: shape}
	}
	return out
}

func (g *grpcService) ModelMetadata(_ context.Context, r *pb.ModelMetadataRequest) (*pb.ModelMetadataResponse, error) {
	md, err := g.s.findModel(r.GetName(), r.GetVersion())
	if err != nil {
		return nil, grpcError(err)
	}
	m := md.metadata()
	return &pb.ModelMetadataResponse{Name: m.Name, Versions: m.Versions, Platform: m.Platform, Inputs: tensorsMetadata(m.Inputs), Outputs: tensorsMetadata(m.Outputs)}, nil
}

// typedContents decodes an input's typed contents into the model's
// element type.
func typedContents(dt string, c *pb.InferTensorContents) (*values, error) {
	switch dt {
	case "FP32":
		f := c.GetFp32Contents()
		if k := nonFinite(f); k >= 0 {
			return nil, fmt.Errorf("element %d is %v; inputs must be finite", k, f[k])
		}
		return &values{f: f}, nil
	case "UINT8":
		u := c.GetUintContents()
		f := make([]float32, len(u))
		for k, v := range u {
			if v > 255 {
				return nil, fmt.Errorf("element %d is %d, not a UINT8 (0-255)", k, v)
			}
			f[k] = float32(v) / 255
		}
		return &values{f: f}, nil
	case "INT64":
		i := c.GetInt64Contents()
		if i == nil {
			i = []int64{}
		}
		return &values{i: i}, nil
	case "INT32":
		src := c.GetIntContents()
		i := make([]int64, len(src))
		for k, v := range src {
			i[k] = int64(v)
		}
		return &values{i: i}, nil
	}
	return nil, fmt.Errorf("datatype %s has no typed contents here", dt)
}

// grpcInference turns a ModelInferRequest into the server's request form.
func grpcInference(r *pb.ModelInferRequest) (*inference, error) {
	raw := r.GetRawInputContents()
	if len(raw) > 0 && len(raw) != len(r.GetInputs()) {
		return nil, badRequest("%d raw_input_contents for %d inputs: give one per input, in order", len(raw), len(r.GetInputs()))
	}
	inf := &inference{id: r.GetId(), binaryAll: true}
	for k, in := range r.GetInputs() {
		x := inferInput{name: in.GetName(), datatype: in.GetDatatype(), shape: in.GetShape()}
		switch {
		case len(raw) > 0:
			if in.GetContents() != nil {
				return nil, badRequest("input %q has contents and raw_input_contents; give one", in.GetName())
			}
			x.raw, x.hasRaw = raw[k], true
		case in.GetContents() == nil:
			return nil, badRequest("input %q: no contents and no raw_input_contents", in.GetName())
		case !isInputType(in.GetDatatype()):
			x.typed = &values{} // the model's check names the datatype
		default:
			v, err := typedContents(in.GetDatatype(), in.GetContents())
			if err != nil {
				return nil, badRequest("input %q: %v", in.GetName(), err)
			}
			x.typed = v
		}
		inf.inputs = append(inf.inputs, x)
	}
	for _, o := range r.GetOutputs() {
		out := inferOutput{name: o.GetName()}
		if p, ok := o.GetParameters()["classification"]; ok {
			k := p.GetInt64Param()
			if k < 1 {
				return nil, badRequest("output %q: classification must be an int64_param of at least 1", o.GetName())
			}
			out.classes = int(min(k, 1<<30))
		}
		inf.outputs = append(inf.outputs, out)
	}
	return inf, nil
}

// isInputType reports a datatype some model input takes.
func isInputType(dt string) bool {
	switch dt {
	case "FP32", "UINT8", "INT64", "INT32":
		return true
	}
	return false
}

func (g *grpcService) ModelInfer(ctx context.Context, r *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	if g.s.draining.Load() {
		return nil, status.Error(codes.Unavailable, "server shutting down")
	}
	md, err := g.s.findModel(r.GetModelName(), r.GetModelVersion())
	if err != nil {
		return nil, grpcError(err)
	}
	req, err := grpcInference(r)
	if err != nil {
		return nil, grpcError(err)
	}
	p, err := md.prepare(req, &g.s.opt)
	if err != nil {
		return nil, grpcError(err)
	}
	release, err := g.s.acquire(ctx, p.memory, "the request's tensors and answer")
	if err != nil {
		return nil, grpcError(err)
	}
	defer release()
	outs, err := md.run(ctx, p)
	if err != nil {
		return nil, grpcError(err)
	}
	resp := &pb.ModelInferResponse{ModelName: md.name, ModelVersion: modelVersion, Id: req.id}
	for _, o := range md.answer(p, outs) {
		shape := make([]int64, len(o.shape))
		for k, d := range o.shape {
			shape[k] = int64(d)
		}
		resp.Outputs = append(resp.Outputs, &pb.ModelInferResponse_InferOutputTensor{Name: o.name, Datatype: o.datatype, Shape: shape})
		if o.strs != nil {
			resp.RawOutputContents = append(resp.RawOutputContents, appendBytes(nil, o.strs))
		} else {
			resp.RawOutputContents = append(resp.RawOutputContents, appendFP32(make([]byte, 0, 4*len(o.f)), o.f))
		}
	}
	return resp, nil
}
