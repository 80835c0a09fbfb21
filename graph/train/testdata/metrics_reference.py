#!/usr/bin/env python3
"""Reference values for graph/train's task metrics, written by numpy.

Regression: predictions and targets of 3 columns; MSE and MAE over every
element, R² as scikit-learn's r2_score (multioutput="uniform_average": the
mean over the columns of 1 - SS_res/SS_tot). Classification: scores of 6
classes and labels; accuracy, top-3 accuracy, per-class accuracy (the
fraction of each true class predicted right) and the confusion counts
[true][predicted]. Writes metrics_reference.json beside this file; the Go
test reads it and never runs Python.

    /usr/bin/python3 graph/train/testdata/metrics_reference.py
"""
import json
import os

import numpy as np

rng = np.random.default_rng(20261203)
f32 = lambda a: a.astype(np.float32).astype(np.float64)

# Regression.
t = f32(rng.normal(size=(11, 3)) * [1.0, 5.0, 0.1] + [0.0, 3.0, -1.0])
y = f32(t + rng.normal(size=(11, 3)) * [0.3, 2.0, 0.05])
d = y - t
mse = float(np.mean(d ** 2))
mae = float(np.mean(np.abs(d)))
ss_res = np.sum(d ** 2, axis=0)
ss_tot = np.sum((t - t.mean(axis=0)) ** 2, axis=0)
r2 = float(np.mean(1 - ss_res / ss_tot))

# Classification.
C, K = 6, 3
labels = rng.integers(0, C, size=23)
scores = f32(rng.normal(size=(23, C)))
scores[np.arange(23) % 2 == 0, labels[np.arange(23) % 2 == 0]] += 1.5  # half of them likely right
pred = scores.argmax(axis=1)
acc = float(np.mean(pred == labels))
topk = np.argsort(-scores, axis=1, kind="stable")[:, :K]
top = float(np.mean([labels[i] in topk[i] for i in range(len(labels))]))
conf = np.zeros((C, C), dtype=int)
for a, b in zip(labels, pred):
    conf[a, b] += 1
per_class = [float(conf[c, c] / conf[c].sum()) if conf[c].sum() else None for c in range(C)]

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics_reference.json")
with open(out, "w") as f:
    json.dump({
        "regression": {"shape": list(y.shape), "y": y.flatten().tolist(), "t": t.flatten().tolist(),
                       "mse": mse, "mae": mae, "r2": r2},
        "classification": {"classes": C, "k": K, "scores": scores.flatten().tolist(), "labels": labels.tolist(),
                           "accuracy": acc, "top_k": top, "per_class": per_class, "confusion": conf.tolist()},
    }, f, indent=1)
    f.write("\n")
print("wrote", out)
