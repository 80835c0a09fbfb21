#!/usr/bin/env python3
"""ONNX fixtures for cmd/train --init: a PyTorch MLP (784-16-10, ReLU)
trained for 15 epochs on the first 1,000 MNIST training images (the
repository's datasets/mnist/data, pixels / 255), exported with
torch.onnx.export (opset 13, dynamic batch) twice: ending in log_softmax
(mlp_logsoftmax.onnx) and in the raw logits of its last Gemm
(mlp_logits.onnx). Fine-tuning either must use a classification loss.

    /usr/bin/python3 cmd/train/testdata/make_onnx.py
"""
import gzip
import os

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", "..", "..", "datasets", "mnist", "data")


def idx(name, header):
    with gzip.open(os.path.join(data, name + ".gz")) as f:
        return np.frombuffer(f.read(), dtype=np.uint8)[header:]


x = torch.tensor(idx("train-images-idx3-ubyte", 16).reshape(-1, 784)[:1000] / 255.0, dtype=torch.float32)
y = torch.tensor(idx("train-labels-idx1-ubyte", 8)[:1000].astype(np.int64))

torch.manual_seed(1)


class Net(torch.nn.Module):
    def __init__(self, log):
        super().__init__()
        self.fc1, self.fc2, self.log = torch.nn.Linear(784, 16), torch.nn.Linear(16, 10), log

    def forward(self, x):
        z = self.fc2(torch.relu(self.fc1(x)))
        return torch.log_softmax(z, 1) if self.log else z


net = Net(True)
opt = torch.optim.Adam(net.parameters(), lr=0.003)
for epoch in range(15):
    perm = torch.randperm(len(x))
    for i in range(0, len(x), 100):
        b = perm[i:i + 100]
        opt.zero_grad()
        loss = torch.nn.functional.nll_loss(net(x[b]), y[b])
        loss.backward()
        opt.step()
    print("epoch", epoch + 1, "loss", loss.item())
for log, name in [(True, "mlp_logsoftmax.onnx"), (False, "mlp_logits.onnx")]:
    net.log = log
    torch.onnx.export(net, x[:1], os.path.join(here, name), opset_version=13, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    print("wrote", name)
