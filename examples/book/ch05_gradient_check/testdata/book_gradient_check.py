#!/usr/bin/python3
"""The book's ch05/gradient_check.py, run by numpy on weights Go can rebuild.

Run by hand from the repository root (the output is committed):

    /usr/bin/python3 examples/book/ch05_gradient_check/testdata/book_gradient_check.py

The book's TwoLayerNet (784-50-10: Affine, ReLU, Affine, SoftmaxWithLoss)
draws its weights with np.random.randn, which Go cannot replay. Here they are
0.01-scale values from an integer formula (exact in both languages, then
rounded to float32 as tapenet's parameters are), biases zero as in the book.
Everything else is the book's computation in float64: the first 3 training
images (pixels / 255 in float32), one-hot labels, the loss
-sum(log(y[t] + 1e-7)) / 3, backprop as the book's layers do it
((y - t) / batch at the softmax), and numerical_gradient's central
difference with h = 1e-4 over every parameter. It prints the mean absolute
difference per parameter, as the book's script does.
"""
import gzip
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
DATA = os.path.join(ROOT, "datasets", "mnist", "data")


def weight(rows, cols, mult):
    """The formula of weight() in ../main.go."""
    k = np.arange(rows * cols, dtype=np.int64).reshape(rows, cols)
    v = ((k * mult) % 2001 - 1000) / 100000.0
    return v.astype(np.float32).astype(np.float64)


def main():
    with gzip.open(os.path.join(DATA, "train-images-idx3-ubyte.gz"), "rb") as f:
        raw = f.read(16 + 3 * 784)
    x = np.frombuffer(raw, np.uint8, offset=16).astype(np.float32).reshape(3, 784)
    x /= 255.0
    x = x.astype(np.float64)
    with gzip.open(os.path.join(DATA, "train-labels-idx1-ubyte.gz"), "rb") as f:
        labels = np.frombuffer(f.read(8 + 3), np.uint8, offset=8)
    t = np.eye(10)[labels]
    p = {"W1": weight(784, 50, 7919), "b1": np.zeros(50), "W2": weight(50, 10, 104729), "b2": np.zeros(10)}

    def loss():
        h = np.maximum(x @ p["W1"] + p["b1"], 0)
        z = h @ p["W2"] + p["b2"]
        z = z - z.max(axis=1, keepdims=True)
        y = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        return -np.sum(np.log(y[np.arange(3), labels] + 1e-7)) / 3, h, y

    _, h, y = loss()
    dz = (y - t) / 3
    grads = {"W2": h.T @ dz, "b2": dz.sum(axis=0)}
    dh = dz @ p["W2"].T
    dh[h <= 0] = 0  # the book's Relu mask is x <= 0 on the pre-activation; h <= 0 is the same set
    grads["W1"], grads["b1"] = x.T @ dh, dh.sum(axis=0)

    out = []
    for key in ("W1", "b1", "W2", "b2"):
        a, num = p[key], np.zeros_like(p[key])
        it = np.nditer(a, flags=["multi_index"])
        while not it.finished:
            i = it.multi_index
            keep = a[i]
            a[i] = keep + 1e-4
            f1 = loss()[0]
            a[i] = keep - 1e-4
            f2 = loss()[0]
            num[i] = (f1 - f2) / 2e-4
            a[i] = keep
            it.iternext()
        out.append("%s:%s" % (key, repr(float(np.average(np.abs(grads[key] - num))))))
    text = "\n".join(out) + "\n"
    with open(os.path.join(HERE, "numpy.txt"), "w") as f:
        f.write(text)
    print(text, end="")


if __name__ == "__main__":
    main()
