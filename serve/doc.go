// Package serve serves tapenet models over HTTP and gRPC.
//
// A Server (New for one model, NewRepository for a directory of them)
// answers:
//
//   - the Open Inference Protocol (KServe v2) REST API: GET /v2/health/live,
//     GET /v2/health/ready (200 once every model is compiled), GET /v2
//     (server metadata; extensions "binary_tensor_data", "classification"
//     and, for a repository, "model_repository"), GET /v2/models/{name}
//     (inputs and outputs from the model: names, datatypes FP32 or INT64,
//     shapes with -1 for the symbolic batch, or the fixed batch),
//     GET /v2/models/{name}/ready and POST /v2/models/{name}/infer, also
//     under /v2/models/{name}/versions/1/. Every model input must be given
//     once (FP32, or UINT8 pixels divided by 255, for float32 inputs;
//     INT64 or INT32 for int64 inputs), data flat or nested; the request's
//     id is echoed. Errors are {"error": "..."}: 400 for a malformed request
//     (an unknown or repeated input or output name among them), 404 for an
//     unknown model, 413 for a body, tensor or answer over the limits, 422
//     for an answer JSON cannot carry (NaN or an infinity: ask for binary
//     data), 408/400/499 for failures on the client's side (a read timeout,
//     an aborted upload, a client that left; never counted as 5xx), 503
//     (with Retry-After) when the queue or the memory budget is full or the
//     server is stopping.
//   - Triton's binary tensor extension: an input's "binary_data_size"
//     parameter and the Inference-Header-Content-Length header (the JSON
//     header's length; the tensors follow it in the order of the inputs,
//     little-endian, row-major); outputs as binary with "binary_data": true
//     or the request's "binary_data_output", answered in the same form.
//     And the classification extension: "classification": k on an output
//     answers BYTES of shape [N, k], "value:index" for its k highest values.
//   - gRPC (GRPCServer, ServeGRPC): inference.GRPCInferenceService of
//     KServe's grpc_predict_v2.proto (package inferencepb): ServerLive,
//     ServerReady, ModelReady, ServerMetadata, ModelMetadata, ModelInfer
//     with typed contents or raw_input_contents, answered in
//     raw_output_contents, with the same checks and limits.
//   - Triton's model repository extension, for NewRepository:
//     POST /v2/repository/index, /v2/repository/models/{name}/load (reads
//     the file again) and /unload.
//   - POST /v1/classify (and /v1/models/{name}/classify): an image (the raw
//     body, or a multipart form's "image" file) framed by package imageprep
//     as MNIST's digits were made; the answer is the class, the
//     probabilities (from the output's graph.Meaning) and the 28x28 picture
//     the model saw (a base64 PNG). A blank image is 422. Only models of one
//     float input of 784 values whose first output means classes take
//     images; the page is served only if one does.
//   - GET /: a draw-a-digit page, embedded in the binary.
//   - GET /metrics: Prometheus metrics from a registry of the server's own:
//     tapenet_http_requests_total{model,route,code},
//     tapenet_http_request_duration_seconds{model,route},
//     tapenet_grpc_requests_total{model,method,code},
//     tapenet_http_requests_in_flight, tapenet_batch_size{model} and
//     tapenet_model_run_seconds{model}, with the Go and process collectors.
//     The model label is a served model's name or empty, never raw input.
//
// # Dynamic batching
//
// Concurrent requests are gathered into batches as Triton's dynamic
// batcher does: a worker takes the first queued request and then waits up
// to Options.MaxDelay for more, until Options.MaxBatch samples. With no
// delay (the default, as Triton's) it takes the requests already queued.
// Several workers (Options.Workers) per model each run their own
// graph.Predictor over the one shared model. Batches are padded with zeros
// up to a power of two so each worker compiles a handful of graphs, all
// during warm-up, before the server reports ready. A full queue answers 503
// at once.
//
// # Bounds
//
// Memory follows the bytes a request brings and the answer it asks for:
//   - bodies (Options.MaxBodyBytes, checked against Content-Length) and
//     samples per request (Options.MaxSamples); data arrays are parsed
//     without reading past the element count the shape announces;
//   - the answer: its size is estimated from the samples and the outputs
//     asked for before the model runs; over Options.MaxAnswerBytes it is a
//     413;
//   - uploaded images: the header's size and colour model give the bytes
//     decoding will allocate (imageprep.DecodeCost: 13 a pixel for a 16-bit
//     RGBA PNG), refused over Options.MaxDecodeMemory, and at most
//     Options.MaxDecodes images decode at once;
//   - in flight: every request takes its estimate (body, tensors, outputs,
//     answer, decoded image) from Options.MaxMemory and waits up to
//     Options.MemoryWait for room, then 503;
//   - the model: a model whose compiled graphs (every padded batch size,
//     every worker) would hold more float32 activations than
//     Options.ActivationBudget does not start; the error names the budget
//     and the largest --max-batch that fits.
//
// # Shutdown
//
// When Serve's context ends it reports not ready and, for Options.Drain,
// answers new requests on kept-alive connections with 503 and
// Connection: close (clients move to another replica instead of meeting a
// reset); then it stops accepting connections, finishes the requests in
// flight (Options.ShutdownTimeout) and stops the workers. Cross-origin
// browser requests are refused unless Options.CORSOrigin allows them.
//
// The server keeps no state between requests, so it scales as replicas
// behind a load balancer; deploy/ in the repository has a Deployment and a
// KServe InferenceService serving the image's model repository (checked
// against the flags by cmd/serve's tests; no cluster runs there).
package serve
