#!/bin/sh
# Load test of cmd/serve's server on loopback (serve.TestLoad): for mlp and
# convnet, one client sending one image per request (the baseline), then
# 64 concurrent clients with dynamic batching and without it. Bounded: 60
# requests per client (1,200 for the single client) and 2 minutes per run;
# it fails on any error. Prints the README's table. About a minute on 2 cores.
# Then (serve.TestLoadProtocols) mlp over HTTP JSON, HTTP binary tensors,
# gRPC typed and raw contents: 1-client latency, 64-client throughput.
#   scripts/loadtest.sh [-load-clients 64] [-load-requests 60]
set -eu
cd "$(dirname "$0")/.."
go test -count=1 -run 'TestLoad$|TestLoadProtocols$' ./serve -load -load-protocols -v "$@" | grep -v '^=== '
