#!/usr/bin/env python3
"""Reference values for graph/train's losses, written by PyTorch.

For every case: the input of the loss (logits, probabilities,
log-probabilities or values, float32), the targets, the loss PyTorch's
torch.nn.functional computes and its gradient with respect to that input,
in float64 from the float32 inputs. Writes loss_reference.json beside this
file; the Go test (TestLossesMatchPyTorch) reads it and never runs Python.

    /usr/bin/python3 graph/train/testdata/loss_reference.py
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20261203)


def f32(t):
    return t.float().double()


def case(name, loss, meaning, y, t, fn):
    """y: the loss's input; t: dense targets (one-hot rows for labels)."""
    y = f32(y).clone().requires_grad_(True)
    value = fn(y)
    value.backward()
    return {
        "name": name, "loss": loss, "meaning": meaning,
        "shape": list(y.shape), "y": y.detach().flatten().tolist(),
        "t": f32(t).flatten().tolist(),
        "want": value.item(), "grad": y.grad.flatten().tolist(),
    }


N, C = 6, 5
z = torch.randn(N, C) * 2
labels = torch.tensor([0, 4, 2, 1, 3, 2])
onehot = F.one_hot(labels, C).double()
soft = torch.softmax(torch.randn(N, C), 1).double()
soft[0] = onehot[0]
z3 = torch.randn(2, 3, C)
soft3 = torch.softmax(torch.randn(2, 3, C), -1).double()
zb = torch.randn(N, 3) * 2
tb = (torch.rand(N, 3) > 0.5).double()
tb[0] = torch.tensor([0.25, 0.5, 0.9])  # soft binary targets
yv = torch.randn(N, 3) * 2
tv = torch.randn(N, 3) * 2
tv[0] = yv[0] + torch.tensor([0.3, -0.7, 1e-3])  # |d| < 1 for Huber's square

cases = [
    # Softmax cross-entropy on logits (a Probabilities output cut to its
    # logits, a Logits output, or Values taken as logits).
    case("ce_logits_onehot", "cross_entropy", "logits", z, onehot, lambda y: F.cross_entropy(y, labels)),
    case("ce_logits_soft", "cross_entropy", "logits", z, soft, lambda y: F.cross_entropy(y, f32(soft))),
    case("ce_values", "cross_entropy", "values", z, soft, lambda y: F.cross_entropy(y, f32(soft))),
    case("ce_logits_rank3", "cross_entropy", "logits", z3, soft3,
         lambda y: F.cross_entropy(y.permute(0, 2, 1), f32(soft3).permute(0, 2, 1))),
    case("sparse_ce", "sparse_cross_entropy", "logits", z, onehot, lambda y: F.cross_entropy(y, labels)),
    # Probabilities not cut from their logits: the book's guarded log.
    case("ce_probabilities", "cross_entropy", "probabilities", torch.softmax(z, 1), soft,
         lambda y: -(f32(soft) * torch.log(y + 1e-7)).sum(1).mean()),
    # On log-probabilities: NLL.
    case("ce_log_probabilities", "cross_entropy", "log_probabilities", torch.log_softmax(z, 1), onehot,
         lambda y: F.nll_loss(y, labels)),
    case("nll_log_probabilities", "nll", "log_probabilities", torch.log_softmax(z, 1), onehot,
         lambda y: F.nll_loss(y, labels)),
    case("nll_values", "nll", "values", z, onehot, lambda y: F.nll_loss(y, labels)),
    case("sparse_nll", "sparse_nll", "log_probabilities", torch.log_softmax(z, 1), onehot,
         lambda y: F.nll_loss(y, labels)),
    # A final log-softmax cut to its logits: NLL of log_softmax(z).
    case("nll_cut_logits", "nll", "logits", z, onehot, lambda y: F.nll_loss(F.log_softmax(y, 1), labels)),
    # Binary cross-entropy on logits and on probabilities.
    case("bce_logits", "binary_cross_entropy", "binary_logits", zb, tb,
         lambda y: F.binary_cross_entropy_with_logits(y, f32(tb))),
    case("bce_values", "binary_cross_entropy", "values", zb, tb,
         lambda y: F.binary_cross_entropy_with_logits(y, f32(tb))),
    case("bce_probabilities", "binary_cross_entropy", "binary_probabilities", torch.sigmoid(zb), tb,
         lambda y: F.binary_cross_entropy(y, f32(tb))),
    # Regression.
    case("mse", "mse", "values", yv, tv, lambda y: F.mse_loss(y, f32(tv))),
    case("mae", "mae", "values", yv, tv, lambda y: F.l1_loss(y, f32(tv))),
    case("huber", "huber", "values", yv, tv, lambda y: F.huber_loss(y, f32(tv), delta=1.0)),
    case("mse_probabilities", "mse", "probabilities", torch.softmax(z, 1), soft, lambda y: F.mse_loss(y, f32(soft))),
]

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "loss_reference.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
    f.write("\n")
print("wrote", out, len(cases), "cases")
