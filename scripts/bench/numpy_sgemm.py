"""float32 matrix multiply in numpy (np.dot on OpenBLAS), as cmd/bench --sgemm.

Usage: numpy_sgemm.py N REPS
Multiplies two random N x N float32 matrices REPS times after one warm-up
call; prints {"best_gflops", "median_gflops"} (2*N^3 operations a call) and
the OpenBLAS configuration numpy reports (its kernel, e.g. SkylakeX).
"""
import json, statistics, sys, time
import numpy as np

def openblas_config():
    """OpenBLAS's own account of itself, e.g. "OpenBLAS 0.3.21 ... core=SkylakeX"
    (informative only; the library numpy loaded, found by its soname)."""
    import ctypes
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_config.restype = ctypes.c_char_p
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return f"{lib.openblas_get_config().decode()} core={lib.openblas_get_corename().decode()}"
    except (OSError, AttributeError) as e:
        return f"unknown ({e})"

def main():
    n, reps = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    np.dot(a, b)
    gf = []
    for _ in range(reps):
        start = time.perf_counter_ns()
        np.dot(a, b)
        gf.append(2 * n ** 3 / (time.perf_counter_ns() - start))
    print(json.dumps({"n": n, "best_gflops": max(gf), "median_gflops": statistics.median(gf),
                      "openblas": openblas_config()}))

main()
