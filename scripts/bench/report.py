"""The tables of scripts/bench.sh from its raw results.

Usage: report.py RESULTS
RESULTS has one line per process: workload:system, start and end time
(seconds), peak RSS (KiB) and the JSON line the process printed, tab-separated.
Prints min / median / max of every measure, the peers' accuracies beside
tapenet's, the ratios tapenet median / peer median with issues #12's and
#25's goals, and each workload's GFLOP/s as a fraction of the measured FMA peak.
Exits 1 when a peer's accuracy differs from tapenet's (it computes something
else: no fair comparison).
"""
import json, statistics, sys

SYSTEMS = ["tapenet", "torch", "ort", "numpy"]
NAMES = {"tapenet": "tapenet", "torch": "PyTorch", "ort": "ONNX Runtime", "numpy": "numpy"}

# label, unit, workload, field (a JSON field, or wall / rss)
MEASURES = [
    ("book net infer, 10,000 images, batch 100", "s", "book", "seconds"),
    ("book net infer, whole process", "s", "book", "wall"),
    ("mlp infer, 10,000 images, batch 100", "s", "mlp", "seconds"),
    ("mlp infer, whole process", "s", "mlp", "wall"),
    ("convnet infer, 10,000 images, batch 100", "s", "convnet", "seconds"),
    ("convnet infer, whole process", "s", "convnet", "wall"),
    ("DeepConvNet infer, 10,000 images, batch 100", "s", "deep", "seconds"),
    ("DeepConvNet infer, whole process", "s", "deep", "wall"),
    ("mlp batch-1 latency, median", "µs", "lat-mlp", "median_us"),
    ("mlp batch-1 latency, p99", "µs", "lat-mlp", "p99_us"),
    ("convnet batch-1 latency, median", "µs", "lat-convnet", "median_us"),
    ("convnet batch-1 latency, p99", "µs", "lat-convnet", "p99_us"),
    ("convnet training, 10,000 images, Adam, batch 100", "s", "convtrain", "seconds"),
    ("DeepConvNet training, 5,000 images, Adam, batch 100", "s", "deeptrain", "seconds"),
    ("ResNet training, 10,000 images, Adam, batch 100", "s", "resnettrain", "seconds"),
    ("LSTM 128 training, 10,000 images, Adam, batch 100", "s", "lstmtrain", "seconds"),
    ("MLP 784-100-10 training epoch (60,000 images)", "s", "epoch", "seconds"),
    ("sgemm 512³", "GFLOP/s", "sgemm512", "best_gflops"),
    ("sgemm 2048³", "GFLOP/s", "sgemm2048", "best_gflops"),
    ("peak RSS, book net infer", "MiB", "book", "rss"),
    ("peak RSS, mlp infer", "MiB", "mlp", "rss"),
    ("peak RSS, convnet infer", "MiB", "convnet", "rss"),
    ("peak RSS, DeepConvNet infer", "MiB", "deep", "rss"),
    ("float32 FMA peak, one core", "GFLOP/s", "peak", "peak_gflops_1core"),
    ("float32 FMA peak, all cores", "GFLOP/s", "peak", "peak_gflops"),
]

# label, measure label, peer, goal, "<=" (lower is better) or ">="
RATIOS = [
    ("mlp infer / ONNX Runtime", "mlp infer, 10,000 images, batch 100", "ort", 1.0, "<="),
    ("convnet infer / PyTorch", "convnet infer, 10,000 images, batch 100", "torch", 1.0, "<="),
    ("convnet infer / ONNX Runtime", "convnet infer, 10,000 images, batch 100", "ort", 1.0, "<="),
    ("batch-1 median / ONNX Runtime", "mlp batch-1 latency, median", "ort", 1.0, "<="),
    ("batch-1 p99 / ONNX Runtime", "mlp batch-1 latency, p99", "ort", 1.0, "<="),
    ("convnet training / PyTorch", "convnet training, 10,000 images, Adam, batch 100", "torch", 1.0, "<="),
    # issue [speed3]'s goals: 0.8x the best peer
    ("DeepConvNet infer / ONNX Runtime", "DeepConvNet infer, 10,000 images, batch 100", "ort", 0.8, "<="),
    ("DeepConvNet infer / PyTorch", "DeepConvNet infer, 10,000 images, batch 100", "torch", 0.8, "<="),
    ("DeepConvNet training / PyTorch", "DeepConvNet training, 5,000 images, Adam, batch 100", "torch", 0.8, "<="),
    ("ResNet training / PyTorch", "ResNet training, 10,000 images, Adam, batch 100", "torch", 0.8, "<="),
    ("LSTM training / PyTorch", "LSTM 128 training, 10,000 images, Adam, batch 100", "torch", 0.8, "<="),
    ("MLP epoch / PyTorch", "MLP 784-100-10 training epoch (60,000 images)", "torch", 0.5, "<="),
    ("sgemm 512³ GFLOP/s / numpy's OpenBLAS", "sgemm 512³", "numpy", 0.8, ">="),
    ("sgemm 2048³ GFLOP/s / numpy's OpenBLAS", "sgemm 2048³", "numpy", 0.8, ">="),
    ("convnet infer peak RSS / ONNX Runtime", "peak RSS, convnet infer", "ort", 1.0, "<="),
    # the earlier issue [perf]'s goals, against the book's numpy code
    ("book infer / numpy loop", "book net infer, 10,000 images, batch 100", "numpy", 1.0, "<="),
    ("book infer process / numpy process", "book net infer, whole process", "numpy", 0.5, "<="),
]
# without a goal, for the picture
INFO = [
    ("mlp infer / PyTorch", "mlp infer, 10,000 images, batch 100", "torch"),
    ("batch-1 median / PyTorch", "mlp batch-1 latency, median", "torch"),
    ("batch-1 p99 / PyTorch", "mlp batch-1 latency, p99", "torch"),
    ("convnet batch-1 median / ONNX Runtime", "convnet batch-1 latency, median", "ort"),
    ("convnet batch-1 p99 / ONNX Runtime", "convnet batch-1 latency, p99", "ort"),
    ("convnet batch-1 median / PyTorch", "convnet batch-1 latency, median", "torch"),
    ("convnet infer peak RSS / PyTorch", "peak RSS, convnet infer", "torch"),
]
# absolute goals on tapenet's medians: label, measure label, goal
ABSOLUTE = [
    ("mlp infer whole process (today 0.13 s)", "mlp infer, whole process", 0.13),
]

# Floating-point operations per image of each model's forward pass: two per
# multiply-add of its convolutions (2·F·C·kh·kw·oh·ow) and dense layers
# (2·in·out); activations, pooling and the loss are left out. A training
# step counts three forward passes (forward, input gradient, weight
# gradient), the usual estimate.
def conv(f, c, k, out):
    return 2 * f * c * k * k * out * out

def dense(*sizes):
    return sum(2 * a * b for a, b in zip(sizes, sizes[1:]))

FORWARD = {
    "book": dense(784, 50, 100, 10),
    "mlp": dense(784, 256, 10),
    "convnet": conv(30, 1, 5, 24) + dense(30 * 12 * 12, 100, 10),
    "deep": conv(16, 1, 3, 28) + conv(16, 16, 3, 28) + conv(32, 16, 3, 14) + conv(32, 32, 3, 16)
            + conv(64, 32, 3, 8) + conv(64, 64, 3, 8) + dense(64 * 4 * 4, 50, 10),
    "resnet": conv(16, 1, 3, 28) + conv(48, 16, 3, 14) + 2 * conv(48, 48, 3, 7) + dense(48 * 7 * 7, 10),
    # 28 steps of the four gates' (28 + 128) x 512 product, then 128 -> 10
    "lstm": 28 * dense(28 + 128, 4 * 128) + dense(128, 10),
    "epoch": dense(784, 100, 10),
}
# label, measure label, floating-point operations of one run
WORK = [
    ("book net infer", "book net infer, 10,000 images, batch 100", 10_000 * FORWARD["book"]),
    ("mlp infer", "mlp infer, 10,000 images, batch 100", 10_000 * FORWARD["mlp"]),
    ("convnet infer", "convnet infer, 10,000 images, batch 100", 10_000 * FORWARD["convnet"]),
    ("DeepConvNet infer", "DeepConvNet infer, 10,000 images, batch 100", 10_000 * FORWARD["deep"]),
    ("convnet training", "convnet training, 10,000 images, Adam, batch 100", 3 * 10_000 * FORWARD["convnet"]),
    ("DeepConvNet training", "DeepConvNet training, 5,000 images, Adam, batch 100", 3 * 5_000 * FORWARD["deep"]),
    ("ResNet training", "ResNet training, 10,000 images, Adam, batch 100", 3 * 10_000 * FORWARD["resnet"]),
    ("LSTM training", "LSTM 128 training, 10,000 images, Adam, batch 100", 3 * 10_000 * FORWARD["lstm"]),
    ("MLP epoch", "MLP 784-100-10 training epoch (60,000 images)", 3 * 60_000 * FORWARD["epoch"]),
    ("sgemm 512³", "sgemm 512³", None),
    ("sgemm 2048³", "sgemm 2048³", None),
]

def fmt(v):
    return f"{v:.1f}" if v >= 100 else f"{v:.3f}" if v >= 1 else f"{v:.4f}"

def main():
    runs = {}  # (workload, system) -> list of records
    for line in open(sys.argv[1], encoding="utf-8"):
        name, t0, t1, rss, out = line.rstrip("\n").split("\t", 4)
        w, s = name.split(":")
        rec = json.loads(out)
        rec["wall"] = float(t1) - float(t0)
        rec["rss"] = int(rss) / 1024
        runs.setdefault((w, s), []).append(rec)

    vals = {}  # (measure label, system) -> values
    print(f"{'measure':<54}{'unit':<9}{'system':<14}{'min':>10}{'median':>10}{'max':>10}{'n':>4}")
    for label, unit, w, field in MEASURES:
        first = True
        for s in SYSTEMS:
            if (w, s) not in runs:
                continue
            v = [r[field] for r in runs[(w, s)]]
            vals[(label, s)] = v
            print(f"{label if first else '':<54}{unit if first else '':<9}{NAMES[s]:<14}"
                  f"{fmt(min(v)):>10}{fmt(statistics.median(v)):>10}{fmt(max(v)):>10}{len(v):>4}")
            first = False

    print()
    print("accuracy (the same images; a peer must match tapenet)")
    bad = []
    for w, what in [("book", "book net (random weights), 10,000 test images"), ("mlp", "mlp, 10,000 test images"),
                    ("convnet", "convnet, 10,000 test images"), ("deep", "DeepConvNet, 10,000 test images"),
                    ("lat-mlp", "mlp batch-1, first images"),
                    ("lat-convnet", "convnet batch-1, first images")]:
        accs = {s: sorted({r["accuracy"] for r in runs[(w, s)]}) for s in SYSTEMS if (w, s) in runs}
        if not accs:
            continue
        want = accs.get("tapenet")
        cells = []
        for s, a in accs.items():
            cells.append(f"{NAMES[s]} {' '.join(f'{x:.2%}' for x in a)}")
            if len(a) != 1 or a != want:
                bad.append(f"{what}: {NAMES[s]} {a} vs tapenet {want}")
        print(f"  {what:<48}{'   '.join(cells)}")

    print()
    print(f"{'ratio (tapenet median / peer median)':<50}{'value':>8}{'goal':>10}")
    def ratio(measure, peer):
        a, b = vals.get((measure, "tapenet")), vals.get((measure, peer))
        if not a or not b:
            return None
        return statistics.median(a) / statistics.median(b)
    for label, measure, peer, goal, op in RATIOS:
        r = ratio(measure, peer)
        if r is None:
            print(f"{label:<50}{'-':>8}{op:>5}{goal:>4.2f}x  missing")
            continue
        ok = r <= goal if op == "<=" else r >= goal
        print(f"{label:<50}{r:>8.2f}{op:>5}{goal:>4.2f}x  {'met' if ok else 'NOT met'}")
    for label, measure, goal in ABSOLUTE:
        if (measure, "tapenet") not in vals:
            continue
        v = statistics.median(vals[(measure, "tapenet")])
        print(f"{label:<50}{v:>7.3f}s{'<=':>5}{goal:>4.2f}s  {'met' if v <= goal else 'NOT met'}")
    for label, measure, peer in INFO:
        r = ratio(measure, peer)
        if r is not None:
            print(f"{label:<50}{r:>8.2f}{'':>10}  (no goal)")

    peak = vals.get(("float32 FMA peak, all cores", "tapenet"))
    peak = statistics.median(peak) if peak else None
    print()
    print("achieved GFLOP/s (operations of the layers' multiply-adds / median seconds) and fraction of the")
    print(f"measured float32 FMA peak of all cores ({fmt(peak) + ' GFLOP/s' if peak else 'not measured: add the peak workload'})")
    for label, measure, flops in WORK:
        cells = []
        for sys_ in SYSTEMS:
            v = vals.get((measure, sys_))
            if not v:
                continue
            g = statistics.median(v) if flops is None else flops / statistics.median(v) / 1e9
            cells.append(f"{NAMES[sys_]} {g:.1f}" + (f" ({g / peak:.0%})" if peak else ""))
        if cells:
            print(f"  {label:<24}{'   '.join(cells)}")

    if bad:
        print("\nACCURACY MISMATCH: these peers do not compute what tapenet does:", file=sys.stderr)
        for b in bad:
            print("  " + b, file=sys.stderr)
        sys.exit(1)

main()
