"""One epoch of a 784-100-10 ReLU MLP, Adam lr 0.001, batches of 100, on
MNIST in PyTorch (CPU, $THREADS threads, default 2): the same work as
  train --hidden 100 --activation relu --optimizer adam --batch-size 100

Usage: torch_train.py MNIST_DIR EPOCHS
Prints one JSON line per epoch: seconds of the training loop.
"""
import gzip, json, os, sys, time
import numpy as np
import torch

def load(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)

def main():
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    torch.manual_seed(1)
    d = sys.argv[1]
    x = torch.from_numpy(load(d + "/train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255.0)
    t = torch.from_numpy(load(d + "/train-labels-idx1-ubyte.gz", 8).astype(np.int64))
    model = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(int(sys.argv[2])):
        start = time.perf_counter()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 100):
            idx = perm[i:i + 100]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), t[idx])
            loss.backward()
            opt.step()
        print(json.dumps({"epoch": epoch + 1, "seconds": time.perf_counter() - start, "loss": float(loss)}))

main()
