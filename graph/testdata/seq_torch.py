"""Writes seq_torch.json: PyTorch's forward values and gradients of the
sequence layers for fixed weights and inputs, the reference of
graph/seq_layers_test.go.

Run: /usr/bin/python3 graph/testdata/seq_torch.py  (torch 1.13)

Weights and inputs are float32 values; PyTorch computes in float64 so the
reference is exact to float64 rounding. The loss is sum(y * r) for a fixed
random r, so every gradient is that of a generic linear functional.
"""
import json
import os

import torch

torch.manual_seed(1)


def f32(t):
    return t.float().double()


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def case(name, kind, config, module, x, param_names, xgrad=True, transpose=(), call=None, mask=None):
    module = module.double()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(f32(torch.randn_like(p) * 0.5))
    if xgrad:
        x.requires_grad_(True)
    y = call(module, x) if call else module(x)
    if isinstance(y, tuple):
        y = y[0]
    if config.get("last"):
        y = y[:, -1, :]
    r = f32(torch.randn_like(y))
    (y * r).sum().backward()
    params, grads = {}, {}
    for ours, theirs in param_names.items():
        p = dict(module.named_parameters())[theirs]
        v, g = p.detach(), p.grad
        if ours in transpose:
            v, g = v.t(), g.t()
        params[ours] = {"shape": list(v.shape), "data": flat(v)}
        grads[ours] = flat(g)
    if xgrad:
        grads["x"] = flat(x.grad)
    cfg = {k: v for k, v in config.items() if k != "last"}
    c = {"name": name, "kind": kind, "config": cfg, "shape": list(x.shape), "x": flat(x),
         "params": params, "r": flat(r), "y": flat(y), "grads": grads}
    if mask is not None:
        c["mask"] = [float(v) for v in mask.reshape(-1).tolist()]
    return c


B, T, I, H = 3, 5, 4, 6
rnn_names = {"weight_ih": "weight_ih_l0", "weight_hh": "weight_hh_l0", "bias_ih": "bias_ih_l0", "bias_hh": "bias_hh_l0"}
cases = []
for kind, mod in (("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU), ("simplernn", torch.nn.RNN)):
    for last in (False, True):
        x = f32(torch.randn(B, T, I))
        cfg = {"units": H}
        if not last:
            cfg["sequences"] = True
        cfg["last"] = last
        cases.append(case(f"{kind} {'last' if last else 'sequences'}", kind, cfg, mod(I, H, batch_first=True), x, rnn_names))

x = f32(torch.randn(B, T, 8) * 2 + 1)
cases.append(case("layernorm", "layernorm", {}, torch.nn.LayerNorm(8), x, {"weight": "weight", "bias": "bias"}))
x = f32(torch.randn(B, 7) * 2)
cases.append(case("gelu exact", "gelu", {}, torch.nn.GELU(), x, {}))
cases.append(case("gelu tanh", "gelu", {"tanh": True}, torch.nn.GELU(approximate="tanh"), x.detach().clone(), {}))
x = f32(torch.randn(B, T, I))
cases.append(case("timedense", "timedense", {"units": H}, torch.nn.Linear(I, H), x, {"weight": "weight", "bias": "bias"}, transpose=("weight",)))
ids = torch.tensor([[1, 0, 3, 9, 3], [0, 0, 2, 5, 7], [8, 1, 1, 4, 6]])
emb = torch.nn.Embedding(10, 4, padding_idx=0)
c = case("embedding", "embedding", {"vocab": 10, "dim": 4, "padding": 0}, emb, ids, {"weight": "weight"}, xgrad=False)
c["x"] = [float(v) for v in ids.reshape(-1).tolist()]
cases.append(c)

# Attention: E 8, 2 heads, 5 steps; padding marks the last steps of two samples.
E, NH = 8, 2
pad = torch.tensor([[0, 0, 0, 0, 0], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1]]).bool()
causal = torch.triu(torch.ones(T, T), 1).bool()
mha_names = {"in_proj_weight": "in_proj_weight", "in_proj_bias": "in_proj_bias", "out_proj_weight": "out_proj.weight", "out_proj_bias": "out_proj.bias"}
for label, cfg, kw, m in (("mha", {"heads": NH}, {}, None),
                          ("mha causal", {"heads": NH, "causal": True}, {"attn_mask": causal}, None),
                          ("mha padding", {"heads": NH}, {"key_padding_mask": pad}, pad)):
    x = f32(torch.randn(B, T, E))
    call = lambda mod, x, kw=kw: mod(x, x, x, need_weights=False, **kw)[0]
    cases.append(case(label, "multiheadattention", cfg, torch.nn.MultiheadAttention(E, NH, batch_first=True), x, mha_names, call=call, mask=m))


class Positions(torch.nn.Module):
    def __init__(self, n, e):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(n, e))

    def forward(self, x):
        return x + self.weight[:x.shape[1]]


x = f32(torch.randn(B, T, E))
cases.append(case("positionalembedding", "positionalembedding", {"max_len": 7}, Positions(7, E), x, {"weight": "weight"}))
tf_names = {"attn_" + k: "self_attn." + v for k, v in mha_names.items()}
tf_names.update({"linear1_weight": "linear1.weight", "linear1_bias": "linear1.bias", "linear2_weight": "linear2.weight",
                 "linear2_bias": "linear2.bias", "norm1_weight": "norm1.weight", "norm1_bias": "norm1.bias",
                 "norm2_weight": "norm2.weight", "norm2_bias": "norm2.bias"})
for label, cfg, first, act, m in (("transformer post-norm relu", {"heads": NH, "ff": 12}, False, "relu", None),
                                  ("transformer pre-norm gelu padding", {"heads": NH, "ff": 12, "norm_first": True, "activation": "gelu"}, True, "gelu", pad)):
    x = f32(torch.randn(B, T, E))
    layer = torch.nn.TransformerEncoderLayer(E, NH, 12, dropout=0.0, activation=act, batch_first=True, norm_first=first)
    call = (lambda mod, x, m=m: mod(x, src_key_padding_mask=m)) if m is not None else None
    cases.append(case(label, "transformerencoderblock", cfg, layer, x, tf_names, call=call, mask=m,
                      transpose=("linear1_weight", "linear2_weight")))

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seq_torch.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
print("wrote", out, len(cases), "cases")
