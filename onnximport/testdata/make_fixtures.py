#!/usr/bin/python3
"""Train small MNIST models with PyTorch and export them with torch.onnx.export.

These are the fixtures of package onnximport: models made by the real
exporter, which tapenet must import and run as ONNX Runtime runs them.
Run by hand from the repository root (outputs are committed; CI never
regenerates them):

    apt-get install -y python3-torch python3-onnx python3-numpy
    /usr/bin/python3 onnximport/testdata/make_fixtures.py

Written and checked with Debian's PyTorch 1.13 and onnx 1.12. Every model
is trained briefly (one epoch over part of the training set: seconds) and
exported in eval mode with a symbolic batch dimension "N" (dynamic_axes),
with its softmax, so the ONNX output is the class probabilities:

  mlp_op11.onnx      784-64-10 ReLU MLP on (N, 784): Gemm, Relu, Softmax.
  convnet_op13.onnx  the book's SimpleConvNet layers (conv 5x5, ReLU,
                     2x2 max-pool, fc, ReLU, fc), narrower (8 filters,
                     64 hidden) to keep the file near 300 KB.
  resnet_op17.onnx   a small residual CNN: conv stem, max-pool, a
                     pre-activation residual block (BatchNorm, ReLU, conv;
                     PyTorch folds a BatchNorm that follows a conv into it,
                     the others stay BatchNormalization nodes), a strided
                     conv, BatchNorm, global average pooling, fc.
  viewnet_op11.onnx  conv, LeakyReLU, 2x2 average pool, then
  viewnet_op13.onnx  x.view(x.size(0), -1): the Shape -> Gather ->
                     Unsqueeze -> Concat -> Reshape chain (Unsqueeze's axes
                     an attribute in opset 11, an input in opset 13).

fixtures.json records, per file, the opset, the operators it holds, the
training images used and PyTorch's own accuracy on the 10,000 test images.
"""
import gzip
import json
import os
import struct

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "datasets", "mnist", "data")


def read_idx(name):
    """Read an MNIST IDX file (gzip or not) with numpy: big-endian header."""
    path = os.path.join(DATA, name)
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, 1, rows, cols)
    if magic == 2049:
        return np.frombuffer(data, dtype=np.uint8, offset=8)
    raise ValueError(f"{name}: magic {magic}")


def load():
    """MNIST as the book's load_mnist(normalize=True): float32 in [0, 1]."""
    xtr = read_idx("train-images-idx3-ubyte.gz").astype(np.float32) / 255
    ytr = read_idx("train-labels-idx1-ubyte.gz").astype(np.int64)
    xte = read_idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255
    yte = read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return torch.from_numpy(xtr), torch.from_numpy(ytr), torch.from_numpy(xte), torch.from_numpy(yte)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class ConvNet(nn.Module):
    """The book's SimpleConvNet: conv 5x5, ReLU, 2x2 max-pool, fc, ReLU, fc."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5)
        self.fc1 = nn.Linear(8 * 12 * 12, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(h, 1))))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv1 = nn.Conv2d(16, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.down = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.bn3 = nn.BatchNorm2d(32)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.stem(x)), 2)  # (16, 14, 14)
        r = self.conv1(F.relu(self.bn1(h)))
        r = self.conv2(F.relu(self.bn2(r)))  # bn2 follows a conv: folded into it
        h = h + r
        h = F.relu(self.bn3(self.down(h)))  # (32, 7, 7); bn3 folded into down
        h = F.adaptive_avg_pool2d(h, 1)  # GlobalAveragePool
        return self.fc(torch.flatten(h, 1))


class ViewNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.drop = nn.Dropout(0.25)  # training only: not in the eval export
        self.fc = nn.Linear(8 * 14 * 14, 10)

    def forward(self, x):
        h = F.avg_pool2d(F.leaky_relu(self.conv(x), 0.1), 2)
        h = h.view(h.size(0), -1)  # Shape, Gather, Unsqueeze, Concat, Reshape
        return self.fc(self.drop(h))


class WithSoftmax(nn.Module):
    """The exported model: the network followed by its softmax."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return F.softmax(self.net(x), dim=1)


def train(net, x, y, images, seed):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    perm = torch.randperm(x.shape[0])[:images]
    for i in range(0, images, 100):
        idx = perm[i:i + 100]
        opt.zero_grad()
        loss = F.cross_entropy(net(x[idx]), y[idx])
        loss.backward()
        opt.step()
    net.eval()


def accuracy(model, x, y):
    with torch.no_grad():
        preds = torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, x.shape[0], 1000)])
    return (preds == y).float().mean().item()


def export(model, sample, name, opset):
    path = os.path.join(HERE, name)
    torch.onnx.export(
        model, sample, path, opset_version=opset, do_constant_folding=True,
        input_names=["input"], output_names=["output"],
        dynamic_axes={"input": {0: "N"}, "output": {0: "N"}},
    )
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    return path, ops


def main():
    torch.set_num_threads(2)
    xtr, ytr, xte, yte = load()
    specs = [
        # name, network, flat input, training images, seed, opsets
        ("mlp", MLP, True, 30000, 1, [11]),
        ("convnet", ConvNet, False, 20000, 2, [13]),
        ("resnet", ResNet, False, 20000, 3, [17]),
        ("viewnet", ViewNet, False, 20000, 4, [11, 13]),
    ]
    manifest = {}
    for name, cls, flat, images, seed, opsets in specs:
        torch.manual_seed(seed)
        net = cls()
        x, xt = (xtr.reshape(-1, 784), xte.reshape(-1, 784)) if flat else (xtr, xte)
        train(net, x, ytr, images, seed)
        model = WithSoftmax(net).eval()
        acc = accuracy(model, xt, yte)
        for opset in opsets:
            file = f"{name}_op{opset}.onnx"
            path, ops = export(model, xt[:2], file, opset)
            manifest[file] = {
                "opset": opset, "operators": ops, "train_images": images,
                "torch_accuracy": round(acc, 4), "bytes": os.path.getsize(path),
                "flat_input": flat,
            }
            print(f"{file}: opset {opset}, {os.path.getsize(path)} bytes, torch accuracy {acc:.4f}, ops {ops}")
    manifest["_generator"] = {"torch": torch.__version__, "onnx": onnx.__version__, "numpy": np.__version__}
    with open(os.path.join(HERE, "fixtures.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
