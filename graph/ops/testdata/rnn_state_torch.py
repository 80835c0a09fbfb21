# Writes rnn_state_torch.json: nn.LSTM / nn.GRU (batch first, one layer) from
# given h0 (and c0), outputs and the gradients of sum(y * r) for
# TestRecurrentFromTorch. Run: /usr/bin/python3 rnn_state_torch.py > rnn_state_torch.json
import json
import torch

torch.manual_seed(0)
B, T, I, H = 3, 4, 5, 6
out = {}
for name, cls in [("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)]:
    m = cls(I, H, batch_first=True)
    x = torch.randn(B, T, I, requires_grad=True)
    h0 = torch.randn(1, B, H, requires_grad=True)
    c0 = torch.randn(1, B, H, requires_grad=True)
    r = torch.randn(B, T, H)
    y, _ = m(x, (h0, c0)) if name == "lstm" else m(x, h0)
    (y * r).sum().backward()
    f = lambda t: t.detach().reshape(-1).tolist()
    d = {"x": f(x), "h0": f(h0), "r": f(r), "y": f(y), "dx": f(x.grad), "dh0": f(h0.grad)}
    for p in ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]:
        d[p] = f(getattr(m, p))
        d["d" + p] = f(getattr(m, p).grad)
    if name == "lstm":
        d["c0"], d["dc0"] = f(c0), f(c0.grad)
    out[name] = d
print(json.dumps({"torch": torch.__version__, "B": B, "T": T, "I": I, "H": H, "cases": out}))
