"""Makes the .npz data-set fixtures of datasets' tests with numpy.

Run from this folder: /usr/bin/python3 gen_npz.py (numpy 1.24).
"""
import numpy as np

rng = np.random.default_rng(21)

# Classification: uint8 images (N, 1, 4, 4), int64 labels 0-3, a test split.
x = rng.integers(0, 256, size=(20, 1, 4, 4), dtype=np.uint8)
y = (np.arange(20) % 4).astype(np.int64)
xt = rng.integers(0, 256, size=(6, 1, 4, 4), dtype=np.uint8)
yt = np.array([3, 2, 1, 0, 1, 2], dtype=np.int64)
np.savez("cls.npz", x=x, y=y, x_test=xt, y_test=yt)

# Regression: float64 x (N, 3), float64 targets (N, 2) = x @ W + b, compressed.
W = np.array([[1.0, -2.0], [0.5, 0.25], [-1.5, 3.0]])
b = np.array([0.1, -0.2])
xr = rng.standard_normal((30, 3))
xrt = rng.standard_normal((10, 3))
np.savez_compressed("reg.npz", x=xr, y=xr @ W + b, x_test=xrt, y_test=xrt @ W + b)

# Regression with targets of shape (N,), float32 x and y, no test split.
x1 = rng.standard_normal((8, 2)).astype(np.float32)
np.savez("reg1.npz", x=x1, y=(x1[:, 0] - x1[:, 1]).astype(np.float32))

# int32 x and int32 labels.
np.savez("int32.npz", x=np.arange(12, dtype=np.int32).reshape(4, 3), y=np.array([0, 1, 1, 0], dtype=np.int32))

# Bad files: no x; y shorter than x; complex x; object y; labels that are
# not one per row.
np.savez("nox.npz", y=y)
np.savez("shorty.npz", x=x, y=y[:19])
np.savez("complex.npz", x=np.ones((3, 2), dtype=np.complex64), y=np.zeros(3, dtype=np.int64))
np.savez("object.npz", x=np.ones((3, 2), dtype=np.float32), y=np.array([1, "a", None], dtype=object))
np.savez("y2d.npz", x=np.ones((3, 2), dtype=np.float32), y=np.zeros((3, 2), dtype=np.int64))
np.savez("testshape.npz", x=np.ones((3, 2), dtype=np.float32), y=np.zeros(3, dtype=np.int64),
         x_test=np.ones((2, 5), dtype=np.float32), y_test=np.zeros(2, dtype=np.int64))
