#!/usr/bin/env bash
# The row-by-row MNIST LSTM, tapenet against PyTorch in one command:
# `cmd/train --arch lstm` (LSTM 128 over 28 rows of 28 pixels, last step,
# Dense softmax) and PyTorch's nn.LSTM(28, 128) + nn.Linear(128, 10)
# (scripts/bench/torch_lstm.py), both Adam lr 0.001, batch 100, one epoch
# over the first LIMIT (default 10,000) training images, 2 threads.
# OPENBLAS_CORETYPE=SkylakeX (on an AVX-512 CPU) for PyTorch's process only.
# Prints each side's training-loop seconds and test accuracy, and the ratio.
#
# Usage: scripts/lstm_bench.sh [LIMIT]
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${1:-10000}
threads=${THREADS:-2}
coretype=""
grep -qm1 ' avx512f ' /proc/cpuinfo && coretype=SkylakeX
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/" ./cmd/train
tn=$(env -u OPENBLAS_CORETYPE GOMAXPROCS="$threads" "$tmp/train" --arch lstm --limit "$limit" --epochs 1 --optimizer adam \
	--lr 0.001 --batch-size 100 --schedule constant --seed 1 --out "$tmp/lstm.safetensors" --json | tail -n1)
pt=$(env ${coretype:+OPENBLAS_CORETYPE=$coretype} THREADS="$threads" /usr/bin/python3 scripts/bench/torch_lstm.py \
	datasets/mnist/data "$limit" 1 | tail -n1)
/usr/bin/python3 - "$tn" "$pt" "$limit" <<'PY'
import json, sys
tn, pt, limit = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
print(f"lstm train, {limit} images, batch 100, Adam 0.001:")
print(f"  tapenet  {tn['seconds']:7.2f} s  test accuracy {tn['test_accuracy']:.4f}")
print(f"  pytorch  {pt['seconds']:7.2f} s  test accuracy {pt['accuracy']:.4f}")
print(f"  pytorch/tapenet time ratio {pt['seconds'] / tn['seconds']:.2f}")
PY
