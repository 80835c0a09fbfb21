# Default (fixed-shape) and dynamic_axes exports of PyTorch recurrent
# models and a TransformerEncoderLayer, with their inputs and PyTorch's
# outputs, for rnn_torch_test.go. Debian's python3-torch 1.13:
#   /usr/bin/python3 make_torch_rnn.py .
import torch, numpy as np, sys, os
torch.manual_seed(0)
out = sys.argv[1]

class LSTMNet(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.rnn = torch.nn.LSTM(4, 8, batch_first=True); s.fc = torch.nn.Linear(8, 3)
    def forward(s, x):
        y, (h, c) = s.rnn(x); return s.fc(y[:, -1])

class BiGRU(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.rnn = torch.nn.GRU(4, 6, batch_first=True, bidirectional=True); s.fc = torch.nn.Linear(12, 3)
    def forward(s, x):
        y, h = s.rnn(x); return s.fc(y[:, -1])

class Encoder(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.enc = torch.nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
    def forward(s, x): return s.enc(x)

# Sequence first, two layers, initial states as inputs; the outputs
# every state of the top layer and each layer's last hidden and cell state.
class LSTMState(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.rnn = torch.nn.LSTM(4, 5, num_layers=2)
    def forward(s, x, h0, c0):
        y, (h, c) = s.rnn(x, (h0, c0)); return y, h, c

# Bidirectional tanh RNN over a sequence-first input, from an initial state.
class BiRNN(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.rnn = torch.nn.RNN(3, 4, bidirectional=True)
    def forward(s, x, h0):
        y, h = s.rnn(x, h0); return y, h

models = {
    "lstm": (LSTMNet(), [(2, 5, 4)], True),
    "bigru": (BiGRU(), [(2, 5, 4)], True),
    "encoder": (Encoder(), [(2, 5, 16)], True),
    "lstmstate": (LSTMState(), [(6, 2, 4), (2, 2, 5), (2, 2, 5)], False),
    "birnn": (BiRNN(), [(6, 3, 3), (2, 3, 4)], False),
}
for name, (m, shapes, dyn) in models.items():
    m.eval()
    xs = tuple(torch.randn(s) for s in shapes)
    with torch.no_grad():
        ys = m(*xs)
    if not isinstance(ys, tuple):
        ys = (ys,)
    ins = ["x"] + ["s%d" % k for k in range(1, len(xs))]
    outs = ["y%d" % k for k in range(len(ys))]
    torch.onnx.export(m, xs, os.path.join(out, name + ".onnx"), opset_version=13, input_names=ins, output_names=outs)
    if dyn:
        axes = {n: {0: "N"} for n in ins + outs}
        torch.onnx.export(m, xs, os.path.join(out, name + "_dyn.onnx"), opset_version=13, input_names=ins, output_names=outs, dynamic_axes=axes)
    for k, x in enumerate(xs):
        np.save(os.path.join(out, "%s_%s.npy" % (name, ins[k])), x.numpy())
    for k, y in enumerate(ys):
        np.save(os.path.join(out, "%s_%s.npy" % (name, outs[k])), y.numpy())
    print(name, [tuple(y.shape) for y in ys])
