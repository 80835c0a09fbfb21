#!/usr/bin/env bash
# The row-by-row MNIST LSTM, tapenet against PyTorch in one command: the
# lstmtrain row of scripts/bench.sh alone (`cmd/train --arch lstm`, LSTM 128
# over 28 rows of 28 pixels, last step, Dense softmax, against PyTorch's
# nn.LSTM(28, 128) + nn.Linear(128, 10) in scripts/bench/torch_lstm.py; both
# Adam lr 0.001, batch 100, one epoch over the first 10,000 training images,
# every core; OPENBLAS_CORETYPE for PyTorch's process only).
#
# Usage: scripts/lstm_bench.sh          # RUNS=3 interleaved rounds by default
#        RUNS=5 scripts/lstm_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3} ONLY=lstmtrain exec scripts/bench.sh
