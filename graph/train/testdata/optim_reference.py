#!/usr/bin/env python3
"""Reference values for graph/train's optimisers, written by numpy alone.

Trains a 4-5-3 network (dense, tanh, dense, softmax + cross-entropy, the
mean over a batch of 6) for 5 full-batch steps with each optimiser of
torch.optim, its formulas written out below from PyTorch's documentation
(https://pytorch.org/docs/stable/optim.html, "Algorithm" boxes), in float64,
with weight decay, gradient clipping (torch.nn.utils.clip_grad_norm_) and
per-step learning-rate schedules. Writes optim_reference.json beside this
file: the data, the initial parameters (float32 values) and, for every case,
the loss and every parameter after each step. The Go tests read the JSON;
they never run Python.

    /usr/bin/python3 graph/train/testdata/optim_reference.py
"""
import json
import math
import os

import numpy as np

STEPS = 5
rng = np.random.default_rng(20240515)
f32 = lambda a: a.astype(np.float32).astype(np.float64)

X = f32(rng.normal(size=(6, 4)))
labels = np.array([0, 2, 1, 2, 0, 1])
T = np.eye(3)[labels]
init = {
    "W1": f32(rng.normal(scale=0.5, size=(4, 5))),
    "b1": f32(rng.normal(scale=0.1, size=(5,))),
    "W2": f32(rng.normal(scale=0.5, size=(5, 3))),
    "b2": f32(rng.normal(scale=0.1, size=(3,))),
}
NAMES = ["W1", "b1", "W2", "b2"]


def loss_and_grads(p):
    """Forward and backward of dense-tanh-dense-softmax-CE, by hand."""
    a = X @ p["W1"] + p["b1"]
    h = np.tanh(a)
    z = h @ p["W2"] + p["b2"]
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = X.shape[0]
    loss = -(T * logp).sum() / n
    dz = (np.exp(logp) - T) / n
    g = {"W2": h.T @ dz, "b2": dz.sum(axis=0)}
    da = (dz @ p["W2"].T) * (1 - h * h)
    g["W1"] = X.T @ da
    g["b1"] = da.sum(axis=0)
    return loss, g


# Learning-rate schedules (torch.optim.lr_scheduler), by step from 0.
def schedule(spec, base, step):
    kind = spec["kind"]
    if kind == "constant":
        return base
    if kind == "step":
        return base * spec["gamma"] ** (step // spec["every"])
    if kind == "exp":
        return base * spec["gamma"] ** step
    if kind == "cosine":
        if step >= spec["steps"]:
            return spec.get("min", 0.0)
        mn = spec.get("min", 0.0)
        return mn + 0.5 * (base - mn) * (1 + math.cos(math.pi * step / spec["steps"]))
    if kind == "warmup":
        if step < spec["steps"]:
            return base * (step + 1) / spec["steps"]
        return schedule(spec["then"], base, step - spec["steps"])
    raise ValueError(kind)


def decays(cfg, name):
    return not (cfg.get("no_decay_biases") and name.startswith("b"))


def run(cfg):
    p = {k: v.copy() for k, v in init.items()}
    state = {k: {} for k in NAMES}
    opt, lr0, wd = cfg["optimizer"], cfg["lr"], cfg.get("weight_decay", 0.0)
    out = []
    for t in range(1, STEPS + 1):
        loss, g = loss_and_grads(p)
        if cfg.get("clip_norm"):
            total = math.sqrt(sum((g[k] ** 2).sum() for k in NAMES))
            coef = cfg["clip_norm"] / (total + 1e-6)
            if coef < 1:
                g = {k: v * coef for k, v in g.items()}
        lr = schedule(cfg.get("schedule", {"kind": "constant"}), lr0, t - 1)
        for k in NAMES:
            w, gk, s = p[k], g[k].copy(), state[k]
            lam = wd if decays(cfg, k) else 0.0
            if opt == "sgd":  # torch.optim.SGD, dampening 0
                mu, nesterov = cfg.get("momentum", 0.0), cfg.get("nesterov", False)
                gk = gk + lam * w
                if mu:
                    s["buf"] = gk.copy() if "buf" not in s else mu * s["buf"] + gk
                    gk = gk + mu * s["buf"] if nesterov else s["buf"]
                w = w - lr * gk
            elif opt == "adagrad":  # torch.optim.Adagrad
                eps, lr_decay = cfg.get("eps", 1e-10), cfg.get("lr_decay", 0.0)
                s.setdefault("sum", np.full_like(w, cfg.get("initial_accumulator", 0.0)))
                gk = gk + lam * w
                clr = lr / (1 + (t - 1) * lr_decay)
                s["sum"] = s["sum"] + gk * gk
                w = w - clr * gk / (np.sqrt(s["sum"]) + eps)
            elif opt == "rmsprop":  # torch.optim.RMSprop
                alpha, eps = cfg.get("alpha", 0.99), cfg.get("eps", 1e-8)
                mu, centered = cfg.get("momentum", 0.0), cfg.get("centered", False)
                gk = gk + lam * w
                s["sq"] = alpha * s.get("sq", 0.0) + (1 - alpha) * gk * gk
                if centered:
                    s["ga"] = alpha * s.get("ga", 0.0) + (1 - alpha) * gk
                    avg = np.sqrt(s["sq"] - s["ga"] ** 2) + eps
                else:
                    avg = np.sqrt(s["sq"]) + eps
                if mu:
                    s["buf"] = mu * s.get("buf", 0.0) + gk / avg
                    w = w - lr * s["buf"]
                else:
                    w = w - lr * gk / avg
            elif opt in ("adam", "adamw"):  # torch.optim.Adam, AdamW
                b1, b2, eps = 0.9, 0.999, 1e-8
                if opt == "adamw":
                    w = w * (1 - lr * lam)
                else:
                    gk = gk + lam * w
                s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * gk
                s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * gk * gk
                bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
                w = w - (lr / bc1) * s["m"] / (np.sqrt(s["v"]) / math.sqrt(bc2) + eps)
            else:
                raise ValueError(opt)
            p[k] = w
        out.append({"loss": loss, "lr": lr, "params": {k: p[k].ravel().tolist() for k in NAMES}})
    return out


CASES = [
    {"name": "sgd", "optimizer": "sgd", "lr": 0.5},
    {"name": "sgd coupled decay", "optimizer": "sgd", "lr": 0.5, "weight_decay": 0.1},
    {"name": "momentum decay no biases", "optimizer": "sgd", "momentum": 0.9, "lr": 0.2,
     "weight_decay": 0.05, "no_decay_biases": True},
    {"name": "nesterov", "optimizer": "sgd", "momentum": 0.9, "nesterov": True, "lr": 0.2},
    {"name": "adagrad", "optimizer": "adagrad", "lr": 0.1},
    {"name": "adagrad lr decay accumulator decay", "optimizer": "adagrad", "lr": 0.1, "lr_decay": 0.2,
     "initial_accumulator": 0.1, "weight_decay": 0.05},
    {"name": "rmsprop", "optimizer": "rmsprop", "lr": 0.01},
    {"name": "rmsprop centered momentum decay", "optimizer": "rmsprop", "lr": 0.01, "momentum": 0.5,
     "centered": True, "weight_decay": 0.05},
    {"name": "adam", "optimizer": "adam", "lr": 0.05},
    {"name": "adam coupled decay", "optimizer": "adam", "lr": 0.05, "weight_decay": 0.1},
    {"name": "adamw", "optimizer": "adamw", "lr": 0.05, "weight_decay": 0.1},
    {"name": "adamw no biases", "optimizer": "adamw", "lr": 0.05, "weight_decay": 0.5, "no_decay_biases": True},
    {"name": "sgd clipped", "optimizer": "sgd", "lr": 0.5, "clip_norm": 0.2},
    {"name": "adam clipped warmup cosine", "optimizer": "adam", "lr": 0.05, "clip_norm": 0.3,
     "schedule": {"kind": "warmup", "steps": 2, "then": {"kind": "cosine", "steps": 3, "min": 0.001}}},
    {"name": "momentum step decay", "optimizer": "sgd", "momentum": 0.9, "lr": 0.2,
     "schedule": {"kind": "step", "every": 2, "gamma": 0.5}},
    {"name": "nesterov exponential", "optimizer": "sgd", "momentum": 0.9, "nesterov": True, "lr": 0.2,
     "schedule": {"kind": "exp", "gamma": 0.8}},
]

for c in CASES:
    c["steps"] = run(c)

doc = {
    "generator": "graph/train/testdata/optim_reference.py, numpy " + np.__version__,
    "x": X.ravel().tolist(), "x_shape": list(X.shape),
    "labels": labels.tolist(),
    "init": {k: v.ravel().tolist() for k, v in init.items()},
    "params": NAMES,
    "cases": CASES,
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim_reference.json")
with open(path, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
print("wrote", path)
