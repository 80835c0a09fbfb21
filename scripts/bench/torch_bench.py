"""PyTorch (CPU, $THREADS threads, default 2) on the work tapenet's cmd/infer, cmd/bench and
cmd/train time, with the embedded models' own weights.

Usage:
  torch_bench.py infer   ARCH WEIGHTS.npz MNIST_DIR BATCH
  torch_bench.py latency ARCH WEIGHTS.npz MNIST_DIR IMAGES WARMUP
  torch_bench.py train-convnet MNIST_DIR LIMIT
  torch_bench.py train-deep MNIST_DIR LIMIT
  torch_bench.py train-resnet MNIST_DIR LIMIT

ARCH is mlp (784-256-10 ReLU), convnet (the book's SimpleConvNet, as
models.ConvNet: conv 30x5x5, ReLU, 2x2 max-pool, 100 ReLU, 10) or deep (the
book's DeepConvNet, as models.BookDeepConvNet: six 3x3 convolutions of
16, 16, 32, 32, 64, 64 filters, padding 1 but 2 for the fourth, ReLU, a 2x2
max-pool after every second, 50 ReLU, the book's dropout 0.5, 10, dropout
0.5) or resnet (models.ResNet: conv 16 3x3 pad 1, ReLU, 2x2 max-pool, conv 48
3x3 pad 1, 2x2 max-pool, batch norm, ReLU, then a residual block of two conv
48 3x3 pad 1 with batch norm, ReLU between, added to its input, ReLU, 10;
batch norm with PyTorch's defaults, momentum 0.1, eps 1e-5, as graph.BatchNorm's);
WEIGHTS.npz is what `cmd/export --format npz` writes (dense weights stored (in, out), the
transpose of nn.Linear.weight; conv weights (out, in, kh, kw) as PyTorch's).

infer: the 10,000 test images in batches of BATCH; prints {"seconds",
"accuracy"}, seconds of the batch loop only (as cmd/infer --json).
latency: the first IMAGES test images one at a time after WARMUP untimed
calls; prints {"median_us", "p99_us", "min_us", "accuracy"}.
train-convnet, train-deep, train-resnet: one epoch over the first LIMIT training images,
Adam lr 0.001, batch 100, shuffled; prints {"seconds"} of the training loop
(as cmd/train --json).
Pixels are scaled to [0, 1] (pixel/255), as tapenet's datasets do.
"""
import gzip, json, os, sys, time
import numpy as np
import torch

nn = torch.nn

def load(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)

def images(d, split):
    x = load(f"{d}/{split}-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255.0
    t = load(f"{d}/{split}-labels-idx1-ubyte.gz", 8).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(t)

class BookDropout(nn.Module):
    """The book's dropout (common/layers.py Dropout): in training x times a
    fresh mask of x > rate, unscaled; at test time x * (1 - rate)."""
    def __init__(self, rate):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        if self.training:
            return x * (torch.rand_like(x) > self.rate)
        return x * (1 - self.rate)

class ResNet(nn.Module):
    """models.ResNet's layers."""
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
                                  nn.Conv2d(16, 48, 3, padding=1), nn.MaxPool2d(2, 2), nn.BatchNorm2d(48), nn.ReLU())
        self.block = nn.Sequential(nn.Conv2d(48, 48, 3, padding=1), nn.BatchNorm2d(48), nn.ReLU(),
                                   nn.Conv2d(48, 48, 3, padding=1), nn.BatchNorm2d(48))
        self.fc = nn.Linear(48 * 7 * 7, 10)

    def forward(self, x):
        h = self.stem(x)
        h = torch.relu(h + self.block(h))
        return self.fc(h.flatten(1))

def build(arch):
    if arch == "deep":
        layers = []
        for i, (cin, cout, pad) in enumerate([(1, 16, 1), (16, 16, 1), (16, 32, 1), (32, 32, 2), (32, 64, 1), (64, 64, 1)]):
            layers += [nn.Conv2d(cin, cout, 3, padding=pad), nn.ReLU()]
            if i % 2 == 1:
                layers.append(nn.MaxPool2d(2, 2))
        return nn.Sequential(*layers, nn.Flatten(), nn.Linear(64 * 4 * 4, 50), nn.ReLU(), BookDropout(0.5),
                             nn.Linear(50, 10), BookDropout(0.5))
    if arch == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    if arch == "convnet":
        return nn.Sequential(nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
                             nn.Linear(4320, 100), nn.ReLU(), nn.Linear(100, 10))
    if arch == "resnet":
        return ResNet()
    sys.exit(f"unknown arch {arch!r}: mlp, convnet, deep or resnet")

def load_weights(model, arch, path):
    z = np.load(path)
    names = {"mlp": ["fc1", "fc2"], "convnet": ["conv2d1", "fc1", "fc2"],
             "deep": [f"conv2d{i}" for i in range(1, 7)] + ["fc1", "fc2"]}[arch]
    layers = [m for m in model if isinstance(m, (nn.Linear, nn.Conv2d))]
    with torch.no_grad():
        for name, layer in zip(names, layers):
            w = z[name + ".weight"]
            if isinstance(layer, nn.Linear):
                w = w.T
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            layer.bias.copy_(torch.from_numpy(z[name + ".bias"]))
    return model.eval()

def quantile(sorted_vals, q):
    return float(np.percentile(sorted_vals, q * 100))

def main():
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    mode = sys.argv[1]
    if mode.startswith("train-"):
        d, limit = sys.argv[2], int(sys.argv[3])
        torch.manual_seed(1)
        x, t = images(d, "train")
        x, t = x[:limit], t[:limit]
        model = build(mode.removeprefix("train-"))
        opt = torch.optim.Adam(model.parameters(), lr=0.001)
        loss_fn = nn.CrossEntropyLoss()
        start = time.perf_counter()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 100):
            idx = perm[i:i + 100]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), t[idx])
            loss.backward()
            opt.step()
        print(json.dumps({"seconds": time.perf_counter() - start, "loss": float(loss)}))
        return
    arch, weights, d = sys.argv[2], sys.argv[3], sys.argv[4]
    model = load_weights(build(arch), arch, weights)
    x, t = images(d, "t10k")
    with torch.inference_mode():
        if mode == "infer":
            batch = int(sys.argv[5])
            correct = 0
            start = time.perf_counter()
            for i in range(0, len(x), batch):
                p = model(x[i:i + batch]).argmax(1)
                correct += int((p == t[i:i + batch]).sum())
            secs = time.perf_counter() - start
            print(json.dumps({"seconds": secs, "accuracy": correct / len(x)}))
        elif mode == "latency":
            n, warmup = min(int(sys.argv[5]), len(x)), int(sys.argv[6])
            for i in range(warmup):
                model(x[i % len(x)].unsqueeze(0))
            times = np.empty(n)
            correct = 0
            clock = time.perf_counter_ns
            for i in range(n):
                start = clock()
                p = int(model(x[i].unsqueeze(0)).argmax(1))
                times[i] = (clock() - start) / 1e3
                correct += p == int(t[i])
            times.sort()
            print(json.dumps({"images": n, "median_us": quantile(times, 0.5), "p99_us": quantile(times, 0.99),
                              "min_us": float(times[0]), "accuracy": correct / n}))
        else:
            sys.exit(f"unknown mode {mode!r}")

main()
