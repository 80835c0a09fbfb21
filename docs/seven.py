# Writes docs/seven.npy, the example array of docs/getting-started.md and
# docs/interop.md: MNIST's first test image (a 7, the one docs/infer-seven.json
# holds as UINT8 pixels) as float32 values in [0, 1], shape (1, 784).
# Run from the repository root: python3 docs/seven.py
import json

import numpy as np

with open("docs/infer-seven.json") as f:
    req = json.load(f)
pixels = np.array(req["inputs"][0]["data"], dtype=np.float32).reshape(1, 784)
np.save("docs/seven.npy", pixels / 255)
