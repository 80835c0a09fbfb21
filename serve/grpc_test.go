package serve_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tapenet/tapenet/serve"
	pb "github.com/tapenet/tapenet/serve/inferencepb"
)

// grpcClient serves srv's gRPC form on a real listener and returns a
// client connected to it.
func grpcClient(t *testing.T, srv *serve.Server) pb.GRPCInferenceServiceClient {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeGRPC(ctx, srv.GRPCServer(), ln) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeGRPC: %v", err)
		}
	})
	return pb.NewGRPCInferenceServiceClient(conn)
}

// The v2 protocol over gRPC from a Go client: health, metadata, and
// inference with typed contents and with raw_input_contents, answered in
// raw_output_contents with the model's float32 bits; classification;
// errors with their codes.
func TestGRPC(t *testing.T) {
	srv, _ := start(t, "mlp", serve.Options{})
	c := grpcClient(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if r, err := c.ServerLive(ctx, &pb.ServerLiveRequest{}); err != nil || !r.Live {
		t.Errorf("ServerLive: %v %v", r, err)
	}
	if r, err := c.ServerReady(ctx, &pb.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Errorf("ServerReady: %v %v", r, err)
	}
	if r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "mlp"}); err != nil || !r.Ready {
		t.Errorf("ModelReady: %v %v", r, err)
	}
	if r, err := c.ServerMetadata(ctx, &pb.ServerMetadataRequest{}); err != nil || r.Name != "tapenet" || !slices.Equal(r.Extensions, []string{"classification"}) {
		t.Errorf("ServerMetadata: %v %v", r, err)
	}
	md, err := c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "mlp"})
	if err != nil || len(md.Inputs) != 1 || md.Inputs[0].Name != "input" || md.Inputs[0].Datatype != "FP32" || !slices.Equal(md.Inputs[0].Shape, []int64{-1, 784}) || !slices.Equal(md.Outputs[0].Shape, []int64{-1, 10}) {
		t.Errorf("ModelMetadata: %v %v", md, err)
	}

	x := append(slices.Clone(sample(0)), sample(1)...)
	want := fp32Bytes(predict(t, loadModel("mlp"), x))
	typed := &pb.ModelInferRequest{ModelName: "mlp", Id: "g1", Inputs: []*pb.ModelInferRequest_InferInputTensor{{
		Name: "input", Datatype: "FP32", Shape: []int64{2, 784}, Contents: &pb.InferTensorContents{Fp32Contents: x},
	}}}
	raw := &pb.ModelInferRequest{ModelName: "mlp", Inputs: []*pb.ModelInferRequest_InferInputTensor{{
		Name: "input", Datatype: "FP32", Shape: []int64{2, 784},
	}}, RawInputContents: [][]byte{fp32Bytes(x)}}
	for name, req := range map[string]*pb.ModelInferRequest{"typed contents": typed, "raw_input_contents": raw} {
		r, err := c.ModelInfer(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.ModelName != "mlp" || r.Id != req.Id || len(r.Outputs) != 1 || r.Outputs[0].Name != "softmax1" || r.Outputs[0].Datatype != "FP32" || !slices.Equal(r.Outputs[0].Shape, []int64{2, 10}) {
			t.Errorf("%s: %v", name, r)
		}
		if len(r.RawOutputContents) != 1 || !bytes.Equal(r.RawOutputContents[0], want) {
			t.Errorf("%s: raw_output_contents differ from the model's float32 bits", name)
		}
	}
	pixels := make([]uint32, 784)
	pixelBytes := make([]byte, 784)
	asFP32 := make([]float32, 784)
	for i := range pixels {
		pixels[i] = uint32(i % 256)
		pixelBytes[i] = byte(i % 256)
		asFP32[i] = float32(pixels[i]) / 255
	}
	for name, in := range map[string]*pb.ModelInferRequest{
		"UINT8 uint_contents":      {ModelName: "mlp", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "UINT8", Shape: []int64{1, 784}, Contents: &pb.InferTensorContents{UintContents: pixels}}}},
		"UINT8 raw_input_contents": {ModelName: "mlp", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "UINT8", Shape: []int64{1, 784}}}, RawInputContents: [][]byte{pixelBytes}},
	} {
		r, err := c.ModelInfer(ctx, in)
		if err != nil || !bytes.Equal(r.RawOutputContents[0], fp32Bytes(predict(t, loadModel("mlp"), asFP32))) {
			t.Errorf("%s: %v", name, err)
		}
	}

	cls := &pb.ModelInferRequest{ModelName: "mlp", Inputs: typed.Inputs, Outputs: []*pb.ModelInferRequest_InferRequestedOutputTensor{{
		Name: "softmax1", Parameters: map[string]*pb.InferParameter{"classification": {ParameterChoice: &pb.InferParameter_Int64Param{Int64Param: 2}}},
	}}}
	r, err := c.ModelInfer(ctx, cls)
	if err != nil {
		t.Fatal(err)
	}
	probs := predict(t, loadModel("mlp"), x)
	var got []string
	for b := r.RawOutputContents[0]; len(b) >= 4; {
		n := binary.LittleEndian.Uint32(b)
		got, b = append(got, string(b[4:4+n])), b[4+n:]
	}
	if wantCls := append(top(probs[:10], 2), top(probs[10:], 2)...); r.Outputs[0].Datatype != "BYTES" || !slices.Equal(r.Outputs[0].Shape, []int64{2, 2}) || !slices.Equal(got, wantCls) {
		t.Errorf("classification: %v %q, want %q", r.Outputs[0], got, wantCls)
	}

	nan := slices.Clone(x)
	nan[5] = float32(math.NaN())
	for _, bad := range []struct {
		name string
		req  *pb.ModelInferRequest
		code codes.Code
		msg  string
	}{
		{"unknown model", &pb.ModelInferRequest{ModelName: "nope"}, codes.NotFound, `unknown model "nope"`},
		{"no data", &pb.ModelInferRequest{ModelName: "mlp", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{1, 784}}}}, codes.InvalidArgument, "no contents and no raw_input_contents"},
		{"short raw", &pb.ModelInferRequest{ModelName: "mlp", Inputs: raw.Inputs, RawInputContents: [][]byte{make([]byte, 100)}}, codes.InvalidArgument, "100 bytes of binary data"},
		{"NaN", &pb.ModelInferRequest{ModelName: "mlp", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{2, 784}, Contents: &pb.InferTensorContents{Fp32Contents: nan}}}}, codes.InvalidArgument, "element 5 is NaN"},
		{"FP64", &pb.ModelInferRequest{ModelName: "mlp", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP64", Shape: []int64{1, 784}, Contents: &pb.InferTensorContents{Fp64Contents: make([]float64, 784)}}}}, codes.InvalidArgument, `datatype "FP64" not supported`},
		{"output twice", &pb.ModelInferRequest{ModelName: "mlp", Inputs: typed.Inputs, Outputs: []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: "softmax1"}, {Name: "softmax1"}}}, codes.InvalidArgument, "named twice"},
		{"too many samples", &pb.ModelInferRequest{ModelName: "mlp", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "UINT8", Shape: []int64{2000, 784}}}, RawInputContents: [][]byte{make([]byte, 2000*784)}}, codes.ResourceExhausted, "at most 1024"},
	} {
		_, err := c.ModelInfer(ctx, bad.req)
		if st, _ := status.FromError(err); st.Code() != bad.code || !strings.Contains(st.Message(), bad.msg) {
			t.Errorf("%s: %v, want %v with %q", bad.name, err, bad.code, bad.msg)
		}
	}
	if _, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "mlp", Version: "7"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown version: %v", err)
	}
}
