"""Writes seq_masked_torch.json: PyTorch's forward values and gradients of
bidirectional and padded-batch recurrent layers and of a masked mean, the
reference of graph/seq_masked_test.go.

Run: /usr/bin/python3 graph/testdata/seq_masked_torch.py  (torch 1.13)

As seq_torch.py: float32 weights and inputs, computed in float64, loss
sum(y * r) for a fixed random r. Padded cases run PyTorch's
pack_padded_sequence(enforce_sorted=False) and pad_packed_sequence
(total_length=T); "last" is h_n (both directions concatenated for a
bidirectional layer: cat(h_n[0], h_n[1])).
"""
import json
import os

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.manual_seed(7)


def f32(t):
    return t.float().double()


def flat(t):
    return [float("%.10g" % v) for v in t.detach().reshape(-1).tolist()]


B, T, I, H = 3, 4, 3, 4
LENGTHS = [4, 2, 1]


def rnn_case(kind, mod, bi, last, lengths, mask, states=False):
    m = mod(I, H, batch_first=True, bidirectional=bi).double()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(f32(torch.randn_like(p) * 0.5))
    x = f32(torch.randn(B, T, I)).requires_grad_(True)
    D = 2 if bi else 1
    init = None
    if states:
        h0 = f32(torch.randn(D, B, H)).requires_grad_(True)
        c0 = f32(torch.randn(D, B, H)).requires_grad_(True)
        init = (h0, c0) if kind == "lstm" else h0
    if lengths:
        packed = pack_padded_sequence(x, torch.tensor(LENGTHS), batch_first=True, enforce_sorted=False)
        out, hn = m(packed, init)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    else:
        out, hn = m(x, init)
    if isinstance(hn, tuple):
        hn = hn[0]
    y = torch.cat(list(hn), -1) if last else out
    r = f32(torch.randn_like(y))
    (y * r).sum().backward()
    params, grads = {}, {}
    for ours in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        for suffix in ("", "_reverse") if bi else ("",):
            p = dict(m.named_parameters())[ours + "_l0" + suffix]
            params[ours + suffix] = {"shape": list(p.shape), "data": flat(p)}
            grads[ours + suffix] = flat(p.grad)
    grads["x"] = flat(x.grad)
    extra = {}
    if states:
        # Ours: (batch, H) for one direction, (batch, 2, H) for two.
        ours = (lambda t: t[0]) if not bi else (lambda t: t.transpose(0, 1))
        for name, t in (("h0", h0), ("c0", c0))[:2 if kind == "lstm" else 1]:
            v = ours(t.detach())
            extra[name] = {"shape": list(v.shape), "data": flat(v)}
            grads[name] = flat(ours(t.grad))
    cfg = {"units": H}
    if not last:
        cfg["sequences"] = True
    if bi:
        cfg["bidirectional"] = True
    name = f"{kind} {'bi' if bi else 'uni'} {'last' if last else 'sequences'}"
    if states:
        name += " states"
    c = {"name": name, "kind": kind, "config": cfg, "shape": [B, T, I], "x": flat(x),
         "params": params, "r": flat(r), "y": flat(y), "grads": grads}
    c.update(extra)
    if lengths:
        c["name"] += " mask" if mask else " lengths"
        if mask:
            c["mask"] = [[s >= n for s in range(T)] for n in LENGTHS]
        else:
            c["lengths"] = LENGTHS
    return c


cases = []
for kind, mod in (("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU), ("simplernn", torch.nn.RNN)):
    for bi, last, lengths, mask in ((True, False, False, False), (True, True, False, False),
                                    (False, False, True, False), (False, True, True, True),
                                    (True, False, True, True), (True, True, True, False)):
        cases.append(rnn_case(kind, mod, bi, last, lengths, mask))
    # Initial states: bidirectional (PyTorch's (2, batch, H)) and with lengths.
    cases.append(rnn_case(kind, mod, True, False, False, False, states=True))
    cases.append(rnn_case(kind, mod, True, True, True, False, states=True))
    cases.append(rnn_case(kind, mod, False, True, True, True, states=True))

# Masked mean over time: sum of the valid steps / length.
x = f32(torch.randn(B, T, 5)).requires_grad_(True)
valid = torch.tensor([[float(s < n) for s in range(T)] for n in LENGTHS], dtype=torch.float64)
y = (x * valid[:, :, None]).sum(1) / valid.sum(1, keepdim=True)
r = f32(torch.randn_like(y))
(y * r).sum().backward()
for label, key, val in (("maskedmean lengths", "lengths", LENGTHS),
                        ("maskedmean mask", "mask", [[s >= n for s in range(T)] for n in LENGTHS])):
    cases.append({"name": label, "kind": "maskedmean", "config": {}, "shape": [B, T, 5], "x": flat(x),
                  "params": {}, "r": flat(r), "y": flat(y), "grads": {"x": flat(x.grad)}, key: val})

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seq_masked_torch.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
print(out, len(cases), "cases")
