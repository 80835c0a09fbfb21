#!/usr/bin/env python3
"""Reference values for graph/train's per-step sparse losses with an ignore
index (train.IgnoreIndex, and the plain sparse losses on (batch, time,
classes) outputs), written by PyTorch.

Each case: the loss's input y (batch, time, classes) as logits,
probabilities or log-probabilities (float32 values), integer targets
(batch, time), the ignore index (null: none), PyTorch's loss (mean over
the non-ignored positions, F.cross_entropy / F.nll_loss with
ignore_index) and its gradient with respect to y, in float64 from the
float32 inputs. Writes loss_seq_reference.json beside this file; the Go
test (TestSequenceLossesMatchPyTorch) never runs Python.

    /usr/bin/python3 graph/train/testdata/loss_seq_reference.py
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(22)


def f32(t):
    return t.float().double()


def case(name, loss, meaning, y, labels, ignore, fn):
    y = f32(y).clone().requires_grad_(True)
    value = fn(y)
    value.backward()
    return {
        "name": name, "loss": loss, "meaning": meaning, "ignore": ignore,
        "shape": list(y.shape), "y": y.detach().flatten().tolist(),
        "labels": labels.flatten().tolist(),
        "want": value.item(), "grad": y.grad.flatten().tolist(),
    }


B, T, C = 3, 4, 5
z = torch.randn(B, T, C) * 2
labels = torch.tensor([[1, 4, 0, 2], [3, 3, -100, -100], [0, -100, 2, -100]])
pad0 = torch.tensor([[1, 4, 3, 2], [3, 3, 0, 0], [2, 1, 0, 0]])  # 0 is the padding id
plain = torch.tensor([[1, 4, 0, 2], [3, 3, 1, 0], [0, 2, 2, 4]])


def ce(ignore, tgt):
    return lambda y: F.cross_entropy(y.permute(0, 2, 1), tgt, ignore_index=ignore)


def nll(ignore, tgt, prep=lambda y: y):
    return lambda y: F.nll_loss(prep(y).permute(0, 2, 1), tgt, ignore_index=ignore)


probs = torch.softmax(torch.randn(B, T, C), -1)
logp = torch.log_softmax(z, -1)
cases = [
    case("ce_logits_ignore_-100", "sparse_cross_entropy", "logits", z, labels, -100, ce(-100, labels)),
    case("ce_logits_ignore_pad0", "sparse_cross_entropy", "logits", z, pad0, 0, ce(0, pad0)),
    case("ce_values_ignore_pad0", "sparse_cross_entropy", "values", z, pad0, 0, ce(0, pad0)),
    case("ce_logits_no_ignore", "sparse_cross_entropy", "logits", z, plain, None, lambda y: F.cross_entropy(y.permute(0, 2, 1), plain)),
    # Probabilities not cut from their logits: the book's guarded log.
    case("ce_probabilities_ignore_-100", "sparse_cross_entropy", "probabilities", probs, labels, -100,
         nll(-100, labels, lambda y: torch.log(y + 1e-7))),
    case("ce_log_probabilities_ignore_pad0", "sparse_cross_entropy", "log_probabilities", logp, pad0, 0, nll(0, pad0)),
    case("nll_log_probabilities_ignore_-100", "sparse_nll", "log_probabilities", logp, labels, -100, nll(-100, labels)),
    case("nll_values_ignore_pad0", "sparse_nll", "values", z, pad0, 0, nll(0, pad0)),
    # A final log-softmax cut to its logits.
    case("nll_cut_logits_ignore_-100", "sparse_nll", "logits", z, labels, -100, nll(-100, labels, lambda y: F.log_softmax(y, -1))),
    case("nll_log_probabilities_no_ignore", "sparse_nll", "log_probabilities", logp, plain, None,
         lambda y: F.nll_loss(y.permute(0, 2, 1), plain)),
]

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "loss_seq_reference.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
print(out, len(cases), "cases")
