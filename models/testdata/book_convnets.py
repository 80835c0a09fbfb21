#!/usr/bin/python3
"""Fixtures for the book's chapter 7 and 8 convnets, made with real numpy.

Run by hand from the repository root (the outputs are committed; the Go
tests need no Python):

    apt-get install -y python3-numpy
    /usr/bin/python3 models/testdata/book_convnets.py

What it does, for SimpleConvNet (ch07/simple_convnet.py) and DeepConvNet
(ch08/deep_convnet.py) of "Deep Learning from Scratch":

1. builds the network with the book's initialisation (SimpleConvNet:
   weight_init_std 0.01; DeepConvNet: He, sqrt(2 / fan-in)), seeded;
2. trains it briefly with the book's Adam (lr 0.001, batches of 100, the
   book's dropout while training), so that predictions vary and margins are
   those of a trained net, not of a random one;
3. saves the parameters as the book's save_params does: pickle.dump of a
   dict of float64 numpy arrays W1, b1, ..., protocol 4 (Python 3.8+'s
   default, FRAME / STACK_GLOBAL / MEMOIZE);
4. runs the book's predict(x, train_flg=False) in float64 over the 10,000
   MNIST test images (batches of 100, as the book's accuracy() does) and
   writes the predicted class of each, one per line, and softmax(predict(x))
   of the first 100 images as a float64 .npy.

The layer code below re-implements the book's common/layers.py and
common/util.py (im2col, col2im) with the same arithmetic: convolution as
im2col and one matrix product, 2x2 max pooling of stride 2, ReLU zeroing
x <= 0, Affine flattening (N, C, H, W) row-major, and the book's Dropout,
which multiplies by a 0/1 mask while training (no rescaling) and by
(1 - dropout_ratio) at test time.

Sizes: DeepConvNet keeps the book's exact shapes (about 1 MB). SimpleConvNet
keeps the book's convolution (30 filters of 5x5) but a hidden layer of 20
units instead of 100, so that W2 is (4320, 20) and the pickle 0.7 MB instead
of 3.5 MB: tapenet's loader reads the sizes from the arrays' shapes.
"""
import gzip
import os
import pickle
import struct
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "datasets", "mnist", "data")


def read_idx(name):
    """An MNIST IDX file (gzip or not) as uint8 images (N, 1, 28, 28) or labels."""
    path = os.path.join(DATA, name)
    if not os.path.exists(path):
        path += ".gz"
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, 1, rows, cols)
    assert magic == 2049, magic
    return np.frombuffer(data, np.uint8, offset=8)


def load(split):
    """load_mnist(normalize=True, flatten=False): float32 pixels / 255."""
    x = read_idx("%s-images-idx3-ubyte" % split).astype(np.float32)
    x /= 255.0
    return x, read_idx("%s-labels-idx1-ubyte" % split).astype(np.int64)


# ---- common/util.py ----------------------------------------------------


def im2col(x, fh, fw, stride=1, pad=0):
    n, c, h, w = x.shape
    oh = (h + 2 * pad - fh) // stride + 1
    ow = (w + 2 * pad - fw) // stride + 1
    img = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant")
    col = np.zeros((n, c, fh, fw, oh, ow))
    for i in range(fh):
        for j in range(fw):
            col[:, :, i, j, :, :] = img[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, -1)


def col2im(col, shape, fh, fw, stride=1, pad=0):
    n, c, h, w = shape
    oh = (h + 2 * pad - fh) // stride + 1
    ow = (w + 2 * pad - fw) // stride + 1
    col = col.reshape(n, oh, ow, c, fh, fw).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((n, c, h + 2 * pad + stride - 1, w + 2 * pad + stride - 1))
    for i in range(fh):
        for j in range(fw):
            img[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += col[:, :, i, j, :, :]
    return img[:, :, pad:h + pad, pad:w + pad]


# ---- common/layers.py --------------------------------------------------


class Relu:
    def forward(self, x, train):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, d):
        d[self.mask] = 0
        return d


class Affine:
    def __init__(self, params, w, b):
        self.p, self.w, self.b = params, w, b

    def forward(self, x, train):
        self.shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return self.x @ self.p[self.w] + self.p[self.b]

    def backward(self, d):
        self.dW = self.x.T @ d
        self.db = d.sum(axis=0)
        return (d @ self.p[self.w].T).reshape(*self.shape)


class Convolution:
    def __init__(self, params, w, b, stride=1, pad=0):
        self.p, self.w, self.b = params, w, b
        self.stride, self.pad = stride, pad

    def forward(self, x, train):
        W = self.p[self.w]
        fn, _, fh, fw = W.shape
        n, _, h, w = x.shape
        oh = 1 + int((h + 2 * self.pad - fh) / self.stride)
        ow = 1 + int((w + 2 * self.pad - fw) / self.stride)
        self.x = x
        self.col = im2col(x, fh, fw, self.stride, self.pad)
        self.colW = W.reshape(fn, -1).T
        out = self.col @ self.colW + self.p[self.b]
        return out.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)

    def backward(self, d):
        fn, c, fh, fw = self.p[self.w].shape
        d = d.transpose(0, 2, 3, 1).reshape(-1, fn)
        self.db = d.sum(axis=0)
        self.dW = (self.col.T @ d).transpose(1, 0).reshape(fn, c, fh, fw)
        return col2im(d @ self.colW.T, self.x.shape, fh, fw, self.stride, self.pad)


class Pooling:
    def __init__(self, ph, pw, stride=1, pad=0):
        self.ph, self.pw, self.stride, self.pad = ph, pw, stride, pad

    def forward(self, x, train):
        n, c, h, w = x.shape
        oh = int(1 + (h - self.ph) / self.stride)
        ow = int(1 + (w - self.pw) / self.stride)
        col = im2col(x, self.ph, self.pw, self.stride, self.pad).reshape(-1, self.ph * self.pw)
        self.x = x
        self.arg = np.argmax(col, axis=1)
        return np.max(col, axis=1).reshape(n, oh, ow, c).transpose(0, 3, 1, 2)

    def backward(self, d):
        d = d.transpose(0, 2, 3, 1)
        size = self.ph * self.pw
        dmax = np.zeros((d.size, size))
        dmax[np.arange(self.arg.size), self.arg.flatten()] = d.flatten()
        dcol = dmax.reshape(d.shape[0] * d.shape[1] * d.shape[2], -1)
        return col2im(dcol, self.x.shape, self.ph, self.pw, self.stride, self.pad)


class Dropout:
    """The book's dropout: a 0/1 mask in training, x * (1 - ratio) at test time."""

    def __init__(self, ratio=0.5):
        self.ratio = ratio

    def forward(self, x, train):
        if train:
            self.mask = np.random.rand(*x.shape) > self.ratio
            return x * self.mask
        return x * (1.0 - self.ratio)

    def backward(self, d):
        return d * self.mask


def softmax(x):
    x = x - x.max(axis=1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=1, keepdims=True)


class Net:
    """predict / loss / gradient as in the book's network classes."""

    def predict(self, x, train_flg=False):
        for layer in self.layers:
            x = layer.forward(x, train_flg)
        return x

    def gradient(self, x, t):
        y = softmax(self.predict(x, True))
        loss = -np.sum(np.log(y[np.arange(len(t)), t] + 1e-7)) / len(t)
        d = y.copy()
        d[np.arange(len(t)), t] -= 1
        d /= len(t)
        for layer in reversed(self.layers):
            d = layer.backward(d)
        grads = {}
        for layer in self.layers:
            if hasattr(layer, "w"):
                grads[layer.w], grads[layer.b] = layer.dW, layer.db
        return loss, grads


class SimpleConvNet(Net):
    """ch07/simple_convnet.py: conv 5x5 (pad 0, stride 1) - relu - pool 2 - affine - relu - affine."""

    def __init__(self, filter_num=30, filter_size=5, hidden_size=100, std=0.01):
        conv = 28 - filter_size + 1
        p = self.params = {}
        p["W1"] = std * np.random.randn(filter_num, 1, filter_size, filter_size)
        p["b1"] = np.zeros(filter_num)
        p["W2"] = std * np.random.randn(filter_num * (conv // 2) * (conv // 2), hidden_size)
        p["b2"] = np.zeros(hidden_size)
        p["W3"] = std * np.random.randn(hidden_size, 10)
        p["b3"] = np.zeros(10)
        self.layers = [Convolution(p, "W1", "b1", 1, 0), Relu(), Pooling(2, 2, 2),
                       Affine(p, "W2", "b2"), Relu(), Affine(p, "W3", "b3")]


class DeepConvNet(Net):
    """ch08/deep_convnet.py with its default parameters."""

    def __init__(self, hidden_size=50):
        convs = [(16, 1), (16, 1), (32, 1), (32, 2), (64, 1), (64, 1)]  # (filters, pad), 3x3, stride 1
        fan_in = np.array([1 * 9, 16 * 9, 16 * 9, 32 * 9, 32 * 9, 64 * 9, 64 * 4 * 4, hidden_size])
        scale = np.sqrt(2.0 / fan_in)
        p = self.params = {}
        ch = 1
        for i, (fn, _) in enumerate(convs):
            p["W%d" % (i + 1)] = scale[i] * np.random.randn(fn, ch, 3, 3)
            p["b%d" % (i + 1)] = np.zeros(fn)
            ch = fn
        p["W7"] = scale[6] * np.random.randn(64 * 4 * 4, hidden_size)
        p["b7"] = np.zeros(hidden_size)
        p["W8"] = scale[7] * np.random.randn(hidden_size, 10)
        p["b8"] = np.zeros(10)
        self.layers = []
        for i, (_, pad) in enumerate(convs):
            self.layers += [Convolution(p, "W%d" % (i + 1), "b%d" % (i + 1), 1, pad), Relu()]
            if i % 2 == 1:
                self.layers.append(Pooling(2, 2, 2))
        self.layers += [Affine(p, "W7", "b7"), Relu(), Dropout(0.5), Affine(p, "W8", "b8"), Dropout(0.5)]


class Adam:
    """common/optimizer.py's Adam."""

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        self.lr, self.beta1, self.beta2, self.iter = lr, beta1, beta2, 0
        self.m, self.v = {}, {}

    def update(self, params, grads):
        if not self.m:
            for k, v in params.items():
                self.m[k], self.v[k] = np.zeros_like(v), np.zeros_like(v)
        self.iter += 1
        lr_t = self.lr * np.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)
        for k in params:
            self.m[k] += (1 - self.beta1) * (grads[k] - self.m[k])
            self.v[k] += (1 - self.beta2) * (grads[k] ** 2 - self.v[k])
            params[k] -= lr_t * self.m[k] / (np.sqrt(self.v[k]) + 1e-7)


def make(name, net, iters, seed, xtr, ttr, xte, tte, log):
    start = time.time()
    rng = np.random.RandomState(seed + 1)
    opt = Adam()
    for i in range(iters):
        idx = rng.choice(len(xtr), 100)
        loss, grads = net.gradient(xtr[idx], ttr[idx])
        opt.update(net.params, grads)
        if i % 50 == 0 or i == iters - 1:
            print("  %s iter %d loss %.4f" % (name, i, loss), file=sys.stderr)
    train_secs = time.time() - start
    assert all(a.dtype == np.float64 for a in net.params.values())
    with open(os.path.join(HERE, name + ".pkl"), "wb") as f:
        pickle.dump(dict(net.params), f, protocol=4)  # the book's save_params
    start = time.time()
    scores = np.concatenate([net.predict(xte[i:i + 100], train_flg=False) for i in range(0, len(xte), 100)])
    pred_secs = time.time() - start
    classes = scores.argmax(axis=1)
    with open(os.path.join(HERE, name + "_classes.txt"), "w") as f:
        f.write("".join("%d\n" % c for c in classes))
    np.save(os.path.join(HERE, name + "_probs.npy"), softmax(scores[:100]))
    top2 = np.sort(scores, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    log.append("%s: %s, trained %d iterations of Adam (seed %d) in %.0f s; predict over 10,000 test images %.0f s"
               % (name, ", ".join("%s %s" % (k, v.shape) for k, v in net.params.items()), iters, seed, train_secs, pred_secs))
    log.append("  test accuracy %.4f; class histogram %s" % ((classes == tte).mean(), np.bincount(classes, minlength=10).tolist()))
    log.append("  top-2 score margin: min %.3g; below 1e-4: %d; below 1e-3: %d images"
               % (margin.min(), (margin < 1e-4).sum(), (margin < 1e-3).sum()))


def main():
    xtr, ttr = load("train")
    xte, tte = load("t10k")
    log = ["numpy %s, float64; the book's predict(x, train_flg=False) over the MNIST test set" % np.__version__]
    np.random.seed(17)
    make("book_simple_convnet", SimpleConvNet(hidden_size=20), 300, 17, xtr, ttr, xte, tte, log)
    np.random.seed(18)
    make("book_deep_convnet", DeepConvNet(), 80, 18, xtr, ttr, xte, tte, log)
    with open(os.path.join(HERE, "book_convnets_README.txt"), "w") as f:
        f.write("\n".join(log) + "\n")
    print("\n".join(log))


if __name__ == "__main__":
    main()
