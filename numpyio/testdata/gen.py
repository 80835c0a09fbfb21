#!/usr/bin/python3
"""Generate the numpyio test fixtures with real numpy.

Run by hand from the repository root (outputs are committed):

    apt-get install -y python3-numpy
    /usr/bin/python3 numpyio/testdata/gen.py

Nothing here unpickles or executes untrusted data: hostile pickles are only
*written* (pickle.dumps of an object whose __reduce__ names os.system never
calls it), or assembled byte by byte.
"""
import gzip
import io
import json
import os
import pickle
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MNIST = os.path.join(ROOT, "datasets", "mnist", "data", "t10k-images-idx3-ubyte.gz")


def out(name):
    return os.path.join(HERE, name)


def write(name, data):
    with open(out(name), "wb") as f:
        f.write(data)


def small_arrays():
    """Arrays covering orders, dtypes and byte orders (fixed seed)."""
    rng = np.random.default_rng(20240601)
    c32 = rng.standard_normal((3, 4)).astype("<f4")
    fort = np.asfortranarray(rng.standard_normal((2, 5)).astype("<f4"))
    f64 = rng.standard_normal((4, 3))  # float64
    big = rng.standard_normal((2, 3)).astype(">f4")
    bias = rng.standard_normal(5).astype("<f4")
    fort64be = np.asfortranarray(rng.standard_normal((3, 2, 2)).astype(">f8"))
    ints = np.arange(-3, 3, dtype="<i8").reshape(2, 3)
    u8 = np.arange(250, 256, dtype="u1")
    scalar = np.array(2.5, dtype="<f4")
    empty = np.zeros((0, 3), dtype="<f4")
    # A second float32 C array: shares the dtype object with c32 (memo GET).
    c32b = rng.standard_normal((2, 2)).astype("<f4")
    assert fort.flags.f_contiguous and not fort.flags.c_contiguous
    assert fort64be.flags.f_contiguous and not fort64be.flags.c_contiguous
    return {
        "c32": c32,
        "fortran32": fort,
        "f64": f64,
        "big32": big,
        "bias": bias,
        "fortran64be": fort64be,
        "ints": ints,
        "u8": u8,
        "scalar": scalar,
        "empty": empty,
        "c32b": c32b,
    }


def expected_json(arrays):
    """Element-by-element expected values, row-major, as float32 values."""
    res = {}
    for k, a in arrays.items():
        f = np.ascontiguousarray(a).astype("<f4")
        res[k] = {
            "shape": list(a.shape),
            "bits": [int(x) for x in f.reshape(-1).view("<u4")],
        }
    return res


def gen_small():
    arrays = small_arrays()
    for p in (2, 3, 4, 5):
        write("small_p%d.pkl" % p, pickle.dumps(arrays, protocol=p))
    # numpy 2 spells the reconstruct global numpy._core.multiarray; emulate it
    # on the protocol 2 stream (GLOBAL is newline-terminated text there).
    p2 = pickle.dumps(arrays, protocol=2)
    old = b"cnumpy.core.multiarray\n_reconstruct\n"
    assert p2.count(old) == 1
    write("small_p2_numpy2.pkl", p2.replace(old, b"cnumpy._core.multiarray\n_reconstruct\n"))
    # protocol 5 also uses numpy.core.numeric._frombuffer; numpy 2 spelling:
    p5 = pickle.dumps(arrays, protocol=5)
    write("small_p5_numpy2.pkl", numpy2_p5(p5))
    # collections.OrderedDict top level (as torch-style state dicts use)
    import collections
    od = collections.OrderedDict((k, arrays[k]) for k in ("c32", "fortran32", "bias"))
    write("ordered_p2.pkl", pickle.dumps(od, protocol=2))
    write("ordered_p4.pkl", pickle.dumps(od, protocol=4))
    with open(out("small_expected.json"), "w") as f:
        json.dump(expected_json(arrays), f, indent=0, sort_keys=True)
        f.write("\n")
    # npy versions 1.0, 2.0, 3.0 and an npz with everything
    for ver in ((1, 0), (2, 0), (3, 0)):
        buf = io.BytesIO()
        np.lib.format.write_array(buf, arrays["fortran64be"], version=ver)
        write("fortran64be_v%d.npy" % ver[0], buf.getvalue())
    np.save(out("c32.npy"), arrays["c32"])
    np.savez(out("small.npz"), **arrays)
    np.savez_compressed(out("small_compressed.npz"), **arrays)


def numpy2_p5(p5):
    """Rewrite protocol-5 module names 'numpy.core.numeric' -> 'numpy._core.numeric'.

    SHORT_BINUNICODE carries a length byte and the frame a length, so rebuild
    the framing: drop FRAME opcodes (legal, frames are optional)."""
    assert p5[:2] == b"\x80\x05" and p5[2] == 0x95
    body = p5[11:]  # single frame holding the whole pickle (small fixture)
    old = b"\x8c\x12numpy.core.numeric"
    assert body.count(old) == 1, body.count(old)
    body = body.replace(old, b"\x8c\x13numpy._core.numeric")
    return p5[:2] + body


def book_weights():
    rng = np.random.default_rng(7)
    shapes = [(784, 50), (50, 100), (100, 10)]
    w = {}
    scales = [0.2, 0.5, 1.0]
    for i, ((n, m), s) in enumerate(zip(shapes, scales), 1):
        # Roughly the magnitude of trained weights. W2 and W3 are column-centred
        # so that saturating activations (sigmoid: outputs near 0.5) do not let
        # the column sums decide every prediction: all activations then give
        # varied predictions (see book_predictions_README.txt).
        W = rng.standard_normal((n, m)) * s
        if i > 1:
            W -= W.mean(axis=0)
        w["W%d" % i] = W.astype("<f4")
        w["b%d" % i] = (rng.standard_normal(m) * 0.1).astype("<f4")
    return w


def gen_book():
    w = book_weights()
    fort = {k: (np.asfortranarray(v) if v.ndim == 2 else v) for k, v in w.items()}
    for k, v in fort.items():
        if v.ndim == 2:
            assert v.flags.f_contiguous and not v.flags.c_contiguous
    order = ["b2", "W1", "b1", "W2", "W3", "b3"]  # the book file's key order
    write("book_p3_fortran.pkl", pickle.dumps({k: fort[k] for k in order}, protocol=3))
    np.savez(out("book.npz"), **w)
    np.savez_compressed(out("book_compressed.npz"), **fort)
    return w


def read_mnist(n):
    with gzip.open(MNIST, "rb") as f:
        data = f.read()
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    assert magic == 2051 and rows == 28 and cols == 28, (magic, rows, cols)
    assert count >= n
    x = np.frombuffer(data, dtype=np.uint8, count=n * rows * cols, offset=16)
    return x.reshape(n, rows * cols).astype(np.float32) / np.float32(255.0)


ACTS = {
    "sigmoid": lambda a: (np.float32(1) / (np.float32(1) + np.exp(-a))).astype(np.float32),
    "relu": lambda a: np.maximum(a, np.float32(0)),
    "tanh": lambda a: np.tanh(a),
    "step": lambda a: (a > 0).astype(np.float32),
    "identity": lambda a: a,
}


def gen_predictions(w):
    x = read_mnist(1000)
    assert x.dtype == np.float32
    report = []
    for name, act in ACTS.items():
        a1 = x @ w["W1"] + w["b1"]
        z1 = act(a1)
        a2 = z1 @ w["W2"] + w["b2"]
        z2 = act(a2)
        a3 = z2 @ w["W3"] + w["b3"]
        assert a3.dtype == np.float32, a3.dtype
        pred = np.argmax(a3, axis=1)
        s = np.sort(a3, axis=1)
        margin = s[:, -1] - s[:, -2]
        close = int(np.sum(margin < 1e-4))
        # step: a pre-activation within float32 rounding noise of 0 could flip
        near0 = int(np.sum((np.abs(a1) < 1e-5).any(axis=1) | (np.abs(a2) < 1e-5).any(axis=1)))
        hist = np.bincount(pred, minlength=10).tolist()
        report.append("%-8s top2-margin<1e-4: %d  |pre-act|<1e-5: %d  class histogram %s"
                      % (name, close, near0, hist))
        with open(out("book_predictions_%s.txt" % name), "w") as f:
            f.write("".join("%d\n" % p for p in pred))
    with open(out("book_predictions_README.txt"), "w") as f:
        f.write("numpy %s float32 forward of book_* weights on the first 1000 MNIST test images\n"
                % np.__version__)
        f.write("borderline counts (cases where a different float32 summation order could flip a label):\n")
        f.write("\n".join(report) + "\n")
    print("\n".join(report))


class _Evil:
    """Pickling this writes a REDUCE of os.system; it is never unpickled here."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def gen_hostile():
    write("evil_os_system_p3.pkl", pickle.dumps({"W1": _Evil()}, protocol=3))
    write("evil_os_system_p4.pkl", pickle.dumps({"W1": _Evil()}, protocol=4))
    # hand-built: protocol 2 GLOBAL os.system (pickle.dumps would say posix.system)
    write("evil_os_system_hand.pkl", b"\x80\x02}q\x00X\x02\x00\x00\x00W1cos\nsystem\nX\x04\x00\x00\x00echo\x85Rs.")
    # hand-built: protocol 2 GLOBAL builtins.eval
    write("evil_eval_p2.pkl", b"\x80\x02cbuiltins\neval\nX\x05\x00\x00\x001+1+1\x85R.")
    a = np.arange(6, dtype="<f4").reshape(2, 3)
    # _reconstruct called with a non-ndarray class (os.system smuggled as an argument)
    p2 = pickle.dumps({"a": a}, protocol=2)
    old = b"cnumpy\nndarray\n"
    assert p2.count(old) == 1
    write("evil_reconstruct_cls.pkl", p2.replace(old, b"cposix\nsystem\n"))
    # wrong shape vs data length: shape (2,3) -> (2,4) with 6 floats of data
    p3 = pickle.dumps({"a": a}, protocol=3)
    old = b"K\x02K\x03\x86"
    assert p3.count(old) == 1
    write("bad_shape.pkl", p3.replace(old, b"K\x02K\x04\x86"))
    # huge claimed BINBYTES / BINBYTES8 lengths with only a few bytes present
    write("huge_binbytes.pkl", b"\x80\x03}q\x00X\x01\x00\x00\x00aB\xf0\xff\xff\xff\x00\x01\x02s.")
    write("huge_binbytes8.pkl", b"\x80\x04\x8e" + struct.pack("<Q", 1 << 62) + b"\x00\x00.")
    # huge claimed shape: (1<<20, 1<<20) float32 with 4 bytes of data
    old = b"K\x02K\x03\x86"
    write("huge_shape.pkl", p3.replace(old, b"J\x00\x00\x10\x00J\x00\x00\x10\x00\x86"))
    # truncated book file
    with open(out("book_p3_fortran.pkl"), "rb") as f:
        book = f.read()
    write("truncated_book.pkl", book[: len(book) // 2])
    # unsupported dtypes
    write("complex.pkl", pickle.dumps({"z": np.array([1 + 2j, 3j], dtype="c8")}, protocol=3))
    write("object.pkl", pickle.dumps({"o": np.array([1, "a"], dtype=object)}, protocol=3))
    # protocol 5 with out-of-band buffers
    bufs = []
    write("oob_p5.pkl", pickle.dumps({"a": a}, protocol=5, buffer_callback=bufs.append))
    assert len(bufs) == 1
    # top level is not a dict
    write("list_toplevel.pkl", pickle.dumps([a], protocol=3))


def main():
    np.random.seed(0)
    gen_small()
    w = gen_book()
    gen_predictions(w)
    gen_hostile()


if __name__ == "__main__":
    sys.exit(main())
