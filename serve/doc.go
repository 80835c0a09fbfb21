// Package serve serves a tapenet model over HTTP.
//
// A Server answers:
//
//   - the Open Inference Protocol (KServe v2) REST API: GET /v2/health/live,
//     GET /v2/health/ready (200 once the workers have compiled the model),
//     GET /v2 (server metadata), GET /v2/models/{name} (model metadata),
//     GET /v2/models/{name}/ready and POST /v2/models/{name}/infer, also
//     under /v2/models/{name}/versions/1/. Inference takes one input
//     tensor of datatype FP32 (the model's normalised inputs) or UINT8
//     (pixels 0-255, divided by 255), of shape [N, 784] or [N, 1, 28, 28]
//     (for a model of 784 values per sample; in general the model's own
//     sample shape or its flat size), data flat or nested, and echoes the
//     request's id. Errors are {"error": "..."} with a 4xx status: 400 for
//     a malformed request, 404 for an unknown model, 413 for a body or
//     tensor over the limits; 503 when the queue is full or the server is
//     stopping.
//   - POST /v1/classify: an image (the raw body, or a multipart form's
//     "image" file) framed by package imageprep as MNIST's digits were
//     made; the answer is the class, the probabilities and the 28x28
//     picture the model saw (a base64 PNG). A blank image is 422.
//   - GET /: a draw-a-digit page (canvas for mouse, pen and touch; the
//     28x28 the model sees; ten probability bars), embedded in the binary.
//   - GET /metrics: Prometheus metrics from a registry of the server's own:
//     tapenet_http_requests_total{route,code},
//     tapenet_http_request_duration_seconds{route},
//     tapenet_http_requests_in_flight, tapenet_batch_size and
//     tapenet_model_run_seconds, with the Go and process collectors.
//
// # Dynamic batching
//
// Concurrent requests are gathered into batches as Triton's dynamic
// batcher does: a worker takes the first queued request and then waits up
// to Options.MaxDelay for more, until Options.MaxBatch samples. With no
// delay (the default, as Triton's) it takes the requests already queued:
// under load, requests queue while the workers run, so batches grow with
// the load and a lone request waits for nothing. Several
// workers (Options.Workers) each run their own graph.Predictor over the one
// shared model, which the graph package's concurrency contract allows.
// Batches are padded with zeros up to a power of two so each worker
// compiles a handful of graphs, all during warm-up, before the server
// reports ready. A full queue answers 503 at once rather than letting
// latency grow without bound.
//
// # Limits and shutdown
//
// Bodies are limited (Options.MaxBodyBytes, checked against
// Content-Length before reading), as are samples per request
// (Options.MaxSamples) and the pixels of an uploaded image; data arrays
// are parsed without reading past the element count the shape announces.
// Serve sets read, write and idle timeouts and, when its context ends,
// reports not ready, stops accepting connections, finishes the requests in
// flight and stops the workers.
//
// The server keeps no state between requests, so it scales as replicas
// behind a load balancer (see deploy/ in the repository).
package serve
