# Writes perms.json: numpy's legacy shuffle permutations for the seqdata tests.
# Run with /usr/bin/python3 (numpy 1.24): python3 make_perms.py > perms.json
import json
import numpy as np

out = []
for n, seed in [(1, 1984), (2, 1984), (10, 1984), (100, 0), (1000, 1984), (5000, 42), (50000, 1984), (3, 4294967295)]:
    idx = np.arange(n)
    np.random.seed(seed)
    np.random.shuffle(idx)
    out.append({"n": n, "seed": seed, "perm": idx.tolist() if n <= 1000 else None,
                "head": idx[:50].tolist(), "tail": idx[-50:].tolist(), "sum_i_perm": int((np.arange(n) * idx).sum())})
print(json.dumps({"numpy": np.__version__, "cases": out}))
