#!/usr/bin/env bash
# Runs tapenet beside its peers, each with its best settings on this machine,
# and prints min / median / max of every measure over RUNS interleaved rounds
# and the ratios of issues #12 [speed] and #25 [speed3] (tapenet median / peer
# median), and every workload's GFLOP/s as a fraction of the CPU's FMA peak.
#
#   scripts/bench.sh                 # RUNS=5 by default
#   RUNS=7 scripts/bench.sh          # more rounds
#   ONLY="deep deeptrain peak" scripts/bench.sh  # only these workloads (names below)
#   TAGS=openblas scripts/bench.sh   # tapenet built with -tags openblas (cgo OpenBLAS)
#
# Peers (installed when missing: numpy and PyTorch from Debian, ONNX Runtime
# with npm into export/testdata/ort as .ci/run does; TAPENET_ORT_DIR names
# another folder whose node_modules holds onnxruntime-node):
#   numpy 1.24 and PyTorch 1.13 (Debian's, on OpenBLAS; PyTorch with
#     torch.set_num_threads(cores), inference_mode for inference). OpenBLAS
#     cannot always tell the CPU (a hypervisor may hide its model) and then
#     picks a slower kernel, so OPENBLAS_CORETYPE is chosen from the CPU
#     flags in /proc/cpuinfo: avx512f -> SkylakeX, else avx2 -> Haswell, else
#     unset (OpenBLAS decides). It is set in the peers' commands only, never
#     for tapenet.
#   ONNX Runtime 1.30 (onnxruntime-node) on the ONNX models cmd/export writes,
#     one intra-op thread per core, sequential, all graph optimizations.
# PyTorch runs the embedded models' own weights (cmd/export --format npz);
# every peer's test accuracy is checked against tapenet's, so that all compute
# the same thing.
#
# Rows, all in one run; each round runs every workload on every system once,
# the systems' order reversed every other round:
#   book infer       the book's 784-50-100-10 sigmoid net (numpyio/testdata/book.npz,
#                    random weights of the book's shapes), 10,000 test images,
#                    batch 100: cmd/infer --json "seconds" / the book's numpy loop
#   mlp infer        embedded mlp (784-256-10), 10,000 test images, batch 100:
#                    cmd/infer --json "seconds" / PyTorch's / ONNX Runtime's batch loop
#   convnet infer    embedded convnet, likewise
#   deep infer       the book's DeepConvNet (docs/book/deep_convnet.safetensors,
#                    models.BookDeepConvNet trained by examples/book), likewise
#   process          the whole mlp / book infer process, wall time
#   batch-1          the first LATENCY_IMAGES test images one at a time after
#                    200 untimed calls: median and p99 per call (cmd/bench --latency)
#   convnet train    one epoch over the first 10,000 training images, Adam
#                    lr 0.001, batch 100 (cmd/train --arch convnet --limit 10000)
#   deep train       one epoch of DeepConvNet over the first 5,000 training
#                    images, Adam lr 0.001, batch 100 (cmd/train --arch book-deep
#                    --limit 5000 / the same layers in PyTorch, the book's dropout)
#   resnet train     one epoch of the embedded resnet's architecture (models.ResNet)
#                    over the first 10,000 training images, Adam lr 0.001, batch 100
#                    (cmd/train --arch resnet --limit 10000 / the same layers in
#                    PyTorch, batch norm with PyTorch's defaults)
#   lstm train       one epoch of the row-by-row MNIST LSTM over the first 10,000
#                    training images, Adam lr 0.001, batch 100 (cmd/train --arch lstm
#                    --limit 10000 / nn.LSTM(28, 128) + nn.Linear(128, 10))
#   MLP epoch        one epoch of a 784-100-10 ReLU MLP, Adam, batch 100, 60,000 images
#   sgemm            C = A·B of N×N float32, best GFLOP/s of 5 calls (cmd/bench
#                    --sgemm / numpy.dot on OpenBLAS)
#   peak RSS         of each inference process (/usr/bin/time %M)
#   FMA peak         float32 GFLOP/s of a register-only FMA loop, one core and
#                    all (cmd/bench --peak): report.py gives every workload's
#                    GFLOP/s (from its layers' multiply-adds) as a fraction of it
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
ONLY=${ONLY:-}                          # space-separated workload names; empty: all
TAGS=${TAGS:-}                          # e.g. TAGS=openblas for the cgo OpenBLAS build
LATENCY_IMAGES=${LATENCY_IMAGES:-2000}  # batch-1 calls timed per process
# PyTorch's threads: its own ops run on an OpenMP pool (torch.set_num_threads),
# its matrix products on OpenBLAS's pthreads. Both pools on the same cores, with
# OpenMP's threads busy-waiting between ops, oversubscribe a small machine:
# PyTorch's MLP epoch took 4-40 s instead of ~1 s on a 2-core machine whenever
# anything else ran. Of the four settings tried there (as shipped, passive
# OpenMP waiting, single-threaded OpenBLAS, both) the last was fastest and
# steadiest, so it is the default; numpy keeps OpenBLAS's threads.
# TORCH_ENV="" runs PyTorch as shipped.
TORCH_ENV=${TORCH_ENV-OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1}
threads=$(nproc)

need=()
/usr/bin/python3 -c 'import numpy' 2>/dev/null || need+=(python3-numpy)
/usr/bin/python3 -c 'import torch' 2>/dev/null || need+=(python3-torch)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
[ -x /usr/bin/time ] || need+=(time)
if [ -n "$TAGS" ]; then dpkg -s libopenblas-dev >/dev/null 2>&1 || need+=(libopenblas-dev); fi
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]} from Debian" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
ort=${TAPENET_ORT_DIR:-export/testdata/ort}
if [ ! -d "$ort/node_modules/onnxruntime-node" ]; then
	echo "installing onnxruntime-node into $ort" >&2
	(cd "$ort" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
fi
ort=$(cd "$ort" && pwd)

# OpenBLAS's kernel for the peers, from the CPU's flags.
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
case " $flags " in
*" avx512f "*) coretype=SkylakeX why="the CPU has avx512f" ;;
*" avx2 "*) coretype=Haswell why="the CPU has avx2 but not avx512f" ;;
*) coretype="" why="the CPU has neither avx512f nor avx2: OpenBLAS decides" ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build ${TAGS:+-tags "$TAGS"} -o "$tmp/" ./cmd/infer ./cmd/train ./cmd/export ./cmd/bench
mnist=datasets/mnist/data
book=numpyio/testdata/book.npz
deep=docs/book/deep_convnet.safetensors
for m in mlp convnet "$deep"; do
	name=$m
	[ "$m" = "$deep" ] && name=deep
	"$tmp/export" --model "$m" --out "$tmp/$name.onnx"
	"$tmp/export" --model "$m" --format npz --out "$tmp/$name.npz"
done

# The commands of each system: tapenet without OPENBLAS_CORETYPE, the Python
# peers with it, ONNX Runtime finding its package through NODE_PATH.
# (Arrays, not functions: /usr/bin/time runs them; env execs the program.)
tn=(env -u OPENBLAS_CORETYPE)
py=(env ${coretype:+"OPENBLAS_CORETYPE=$coretype"} "THREADS=$threads" /usr/bin/python3)
read -r -a torchenv <<<"$TORCH_ENV"
pt=(env ${coretype:+"OPENBLAS_CORETYPE=$coretype"} "THREADS=$threads" "${torchenv[@]}" /usr/bin/python3)
js=(env "NODE_PATH=$ort/node_modules" /usr/bin/node scripts/bench/ort_bench.js)

results=$tmp/results
: >"$results"
now() { date +%s.%N; }
# measure NAME CMD...: runs CMD, which prints one JSON line (or one per
# epoch), and records NAME, start and end time, peak RSS (KiB) and that line.
measure() {
	local name=$1 t0 t1 out
	shift
	t0=$(now)
	out=$(/usr/bin/time -f %M -o "$tmp/rss" "$@")
	t1=$(now)
	printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$t0" "$t1" "$(tail -n1 "$tmp/rss")" "$(tail -n1 <<<"$out")" >>"$results"
}

# One workload on one system.
workload() {
	local w=$1 s=$2
	case $w:$s in
	book:tapenet) measure "$w:$s" "${tn[@]}" "$tmp/infer" --model "$book" --json ;;
	book:numpy) measure "$w:$s" "${py[@]}" scripts/bench/book_numpy.py "$book" "$mnist" ;;
	mlp:tapenet | convnet:tapenet) measure "$w:$s" "${tn[@]}" "$tmp/infer" --model "$w" --batch-size 100 --json ;;
	deep:tapenet) measure "$w:$s" "${tn[@]}" "$tmp/infer" --model "$deep" --batch-size 100 --json ;;
	mlp:torch | convnet:torch | deep:torch) measure "$w:$s" "${pt[@]}" scripts/bench/torch_bench.py infer "$w" "$tmp/$w.npz" "$mnist" 100 ;;
	mlp:ort | convnet:ort | deep:ort) measure "$w:$s" "${js[@]}" infer "$tmp/$w.onnx" "$mnist" 100 "$threads" ;;
	lat-*:tapenet) measure "$w:$s" "${tn[@]}" "$tmp/bench" --latency "${w#lat-}" --images "$LATENCY_IMAGES" --warmup 200 ;;
	lat-*:torch) measure "$w:$s" "${pt[@]}" scripts/bench/torch_bench.py latency "${w#lat-}" "$tmp/${w#lat-}.npz" "$mnist" "$LATENCY_IMAGES" 200 ;;
	lat-*:ort) measure "$w:$s" "${js[@]}" latency "$tmp/${w#lat-}.onnx" "$mnist" "$LATENCY_IMAGES" 200 "$threads" ;;
	convtrain:tapenet)
		measure "$w:$s" "${tn[@]}" "$tmp/train" --arch convnet --limit 10000 --epochs 1 --optimizer adam --lr 0.001 \
			--batch-size 100 --schedule constant --seed 1 --out "$tmp/c.safetensors" --json ;;
	convtrain:torch) measure "$w:$s" "${pt[@]}" scripts/bench/torch_bench.py train-convnet "$mnist" 10000 ;;
	deeptrain:tapenet)
		measure "$w:$s" "${tn[@]}" "$tmp/train" --arch book-deep --limit 5000 --epochs 1 --optimizer adam --lr 0.001 \
			--batch-size 100 --schedule constant --seed 1 --out "$tmp/d.safetensors" --json ;;
	deeptrain:torch) measure "$w:$s" "${pt[@]}" scripts/bench/torch_bench.py train-deep "$mnist" 5000 ;;
	resnettrain:tapenet)
		measure "$w:$s" "${tn[@]}" "$tmp/train" --arch resnet --limit 10000 --epochs 1 --optimizer adam --lr 0.001 \
			--batch-size 100 --schedule constant --seed 1 --out "$tmp/r.safetensors" --json ;;
	resnettrain:torch) measure "$w:$s" "${pt[@]}" scripts/bench/torch_bench.py train-resnet "$mnist" 10000 ;;
	lstmtrain:tapenet)
		measure "$w:$s" "${tn[@]}" "$tmp/train" --arch lstm --limit 10000 --epochs 1 --optimizer adam --lr 0.001 \
			--batch-size 100 --schedule constant --seed 1 --out "$tmp/l.safetensors" --json ;;
	lstmtrain:torch) measure "$w:$s" "${pt[@]}" scripts/bench/torch_lstm.py "$mnist" 10000 1 ;;
	peak:tapenet) measure "$w:$s" "${tn[@]}" "$tmp/bench" --peak --reps 5 ;;
	epoch:tapenet)
		measure "$w:$s" "${tn[@]}" "$tmp/train" --hidden 100 --activation relu --optimizer adam --lr 0.001 --batch-size 100 \
			--schedule constant --epochs 1 --seed 1 --out "$tmp/m.safetensors" --json ;;
	epoch:torch) measure "$w:$s" "${pt[@]}" scripts/bench/torch_train.py "$mnist" 1 ;;
	sgemm*:tapenet) measure "$w:$s" "${tn[@]}" "$tmp/bench" --sgemm "${w#sgemm}" --reps 5 ;;
	sgemm*:numpy) measure "$w:$s" "${py[@]}" scripts/bench/numpy_sgemm.py "${w#sgemm}" 5 ;;
	*)
		echo "bench.sh: no command for $w on $s" >&2
		exit 1
		;;
	esac
}
workloads=(
	"book tapenet numpy"
	"mlp tapenet torch ort"
	"convnet tapenet torch ort"
	"deep tapenet torch ort"
	"lat-mlp tapenet torch ort"
	"lat-convnet tapenet torch ort"
	"convtrain tapenet torch"
	"deeptrain tapenet torch"
	"resnettrain tapenet torch"
	"lstmtrain tapenet torch"
	"epoch tapenet torch"
	"sgemm512 tapenet numpy"
	"sgemm2048 tapenet numpy"
	"peak tapenet"
)
if [ -n "$ONLY" ]; then
	picked=()
	for line in "${workloads[@]}"; do
		case " $ONLY " in *" ${line%% *} "*) picked+=("$line") ;; esac
	done
	if [ ${#picked[@]} -eq 0 ]; then
		echo "bench.sh: ONLY=\"$ONLY\" names no workload (book mlp convnet deep lat-mlp lat-convnet convtrain deeptrain resnettrain lstmtrain epoch sgemm512 sgemm2048 peak)" >&2
		exit 2
	fi
	workloads=("${picked[@]}")
fi

{
	echo "machine:   $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $threads cores, $(uname -r)"
	echo "CPU flags: $(tr ' ' '\n' <<<"${flags#*: }" | grep -E '^(avx|fma|sse4|f16c|amx)' | sort -u | tr '\n' ' ')"
	echo "OpenBLAS:  OPENBLAS_CORETYPE=${coretype:-(unset)} for numpy and PyTorch only ($why)"
	echo "tapenet:   $(go version | cut -d' ' -f3), ${TAGS:+-tags $TAGS, }$("${tn[@]}" "$tmp/bench" --sgemm 8 --reps 1 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["blas"])'), OPENBLAS_CORETYPE unset"
	echo "numpy:     $("${py[@]}" -c 'import numpy; print(numpy.__version__)'); PyTorch $("${pt[@]}" -c 'import torch; print(torch.__version__)') with $threads threads, TORCH_ENV=\"$TORCH_ENV\""
	echo "ORT:       onnxruntime-node $(node -p "require('$ort/node_modules/onnxruntime-node/package.json').version"), node $(node --version), $threads intra-op threads"
	echo "rounds:    RUNS=$RUNS, batch-1 over the first $LATENCY_IMAGES test images${ONLY:+, ONLY=\"$ONLY\"}"
} >"$tmp/header"
cat "$tmp/header" >&2

for i in $(seq "$RUNS"); do
	echo "round $i/$RUNS" >&2
	for line in "${workloads[@]}"; do
		read -r -a ws <<<"$line"
		systems=("${ws[@]:1}")
		if ((i % 2 == 0)); then
			for ((j = ${#systems[@]} - 1; j >= 0; j--)); do workload "${ws[0]}" "${systems[j]}"; done
		else
			for s in "${systems[@]}"; do workload "${ws[0]}" "$s"; done
		fi
	done
done

cat "$tmp/header"
echo
/usr/bin/python3 scripts/bench/report.py "$results"
