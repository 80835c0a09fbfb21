#!/usr/bin/env bash
# Runs tapenet beside the book's numpy code and PyTorch on this machine and
# prints the ratios of issue [perf]: min / median / max over RUNS runs.
#
#   scripts/bench.sh            # RUNS=5 by default; installs numpy and torch from Debian
#
# Measures, all in one run on the same machine:
#   infer-graph   cmd/infer --json "seconds" on the book's 784-50-100-10 sigmoid
#                 net (batch 100, 10,000 test images) / numpy's batch loop
#   infer-process whole cmd/infer process / whole numpy script (wall time)
#   train-epoch   cmd/train --json "seconds" of a 784-100-10 ReLU/Adam/batch-100
#                 epoch / PyTorch's epoch (CPU, 2 threads)
#   infer-rss     peak resident memory of cmd/infer, MiB
# The book's real sample_weight.pkl is not in the repository; its stand-in is
# numpyio/testdata/book.npz, random weights of the same shapes (same work).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
TAGS=${TAGS:-}   # e.g. TAGS=openblas for the cgo OpenBLAS build

need=()
/usr/bin/python3 -c 'import numpy' 2>/dev/null || need+=(python3-numpy)
/usr/bin/python3 -c 'import torch' 2>/dev/null || need+=(python3-torch)
if [ -n "$TAGS" ]; then dpkg -s libopenblas-dev >/dev/null 2>&1 || need+=(libopenblas-dev); fi
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]} from Debian" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build ${TAGS:+-tags "$TAGS"} -o "$bin/" ./cmd/infer ./cmd/train
mnist=datasets/mnist/data
weights=numpyio/testdata/book.npz

py=/usr/bin/python3
results=$bin/results
: >"$results"
now() { date +%s.%N; }
for i in $(seq "$RUNS"); do
	t0=$(now); np=$($py scripts/bench/book_numpy.py "$weights" "$mnist"); t1=$(now)
	echo "numpy_loop $($py -c "import json,sys; print(json.loads(sys.argv[1])['seconds'])" "$np")" >>"$results"
	echo "numpy_process $(echo "$t1 - $t0" | bc -l)" >>"$results"
	t0=$(now); tp=$(/usr/bin/time -f '%M' -o "$bin/rss" "$bin/infer" --model "$weights" --json); t1=$(now)
	echo "tapenet_graph $($py -c "import json,sys; print(json.loads(sys.argv[1])['seconds'])" "$tp")" >>"$results"
	echo "tapenet_process $(echo "$t1 - $t0" | bc -l)" >>"$results"
	echo "tapenet_rss_mib $(echo "$(cat "$bin/rss") / 1024" | bc -l)" >>"$results"
done
# Training: 3 epochs each; every epoch is one sample.
$py scripts/bench/torch_train.py "$mnist" 3 | $py -c "
import json,sys
for line in sys.stdin: print('torch_epoch', json.loads(line)['seconds'])" >>"$results"
"$bin/train" --hidden 100 --activation relu --optimizer adam --batch-size 100 --schedule constant \
	--epochs 3 --seed 1 --out "$bin/m.safetensors" --json | $py -c "
import json,sys
for line in sys.stdin: print('tapenet_epoch', json.loads(line)['seconds'])" >>"$results"

$py - "$results" <<'PY'
import statistics, sys
vals = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    vals.setdefault(k, []).append(float(v))
def s(k):
    v = vals[k]
    return min(v), statistics.median(v), max(v)
print(f"{'measure':<34}{'min':>10}{'median':>10}{'max':>10}")
for k in sorted(vals):
    lo, med, hi = s(k)
    print(f"{k:<34}{lo:>10.4f}{med:>10.4f}{hi:>10.4f}")
print()
print(f"{'ratio (median / median)':<34}{'value':>10}{'target':>10}")
for name, a, b, target in [
    ("infer graph / numpy loop", "tapenet_graph", "numpy_loop", 1.0),
    ("infer process / numpy process", "tapenet_process", "numpy_process", 0.5),
    ("train epoch / PyTorch epoch", "tapenet_epoch", "torch_epoch", 0.6),
]:
    r = statistics.median(vals[a]) / statistics.median(vals[b])
    print(f"{name:<34}{r:>10.2f}{target:>9.2f}x  {'ok' if r <= target else 'over'}")
rss = statistics.median(vals["tapenet_rss_mib"])
print(f"{'infer peak RSS MiB':<34}{rss:>10.1f}{100:>9}   {'ok' if rss <= 100 else 'over'}")
PY
