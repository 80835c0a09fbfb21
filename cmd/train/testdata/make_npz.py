#!/usr/bin/env python3
"""Data sets for cmd/train --data FILE.npz, written by numpy:

  blobs.npz   classification: x (400, 8) float32, y (400,) int64 of 3
              classes (Gaussian blobs), x_test (100, 8), y_test (100,)
  linear.npz  regression: x (400, 5) float32, y (400, 2) float32 = x @ W + b
              + noise (sd 0.05), x_test (100, 5), y_test (100, 2)

    /usr/bin/python3 cmd/train/testdata/make_npz.py
"""
import os

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)

centres = rng.normal(scale=3, size=(3, 8))
y = rng.integers(0, 3, size=500)
x = (centres[y] + rng.normal(size=(500, 8))).astype(np.float32)
np.savez(os.path.join(here, "blobs.npz"), x=x[:400], y=y[:400].astype(np.int64), x_test=x[400:], y_test=y[400:].astype(np.int64))

W = rng.normal(size=(5, 2))
b = np.array([0.5, -1.0])
x = rng.normal(size=(500, 5)).astype(np.float32)
t = (x @ W + b + rng.normal(scale=0.05, size=(500, 2))).astype(np.float32)
np.savez(os.path.join(here, "linear.npz"), x=x[:400], y=t[:400], x_test=x[400:], y_test=t[400:])
print("wrote blobs.npz linear.npz")
