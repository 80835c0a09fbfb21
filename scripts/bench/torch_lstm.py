"""PyTorch's row-by-row MNIST LSTM, the peer of `cmd/train --arch lstm`.

Usage: torch_lstm.py MNIST_DIR LIMIT EPOCHS

nn.LSTM(28, 128, batch_first=True) on the 28 rows of each image, its last
state into nn.Linear(128, 10), cross-entropy, Adam lr 0.001, batch 100,
shuffled, $THREADS threads (default 2), over the first LIMIT training images
(0: all). Prints one JSON line: {"seconds" (the training loop only),
"accuracy" (on the 10,000 test images)}. Pixels are pixel/255.
"""
import gzip, json, os, sys, time
import numpy as np
import torch

nn = torch.nn


def load(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def images(d, split):
    x = load(f"{d}/{split}-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28).astype(np.float32) / 255.0
    t = load(f"{d}/{split}-labels-idx1-ubyte.gz", 8).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(t)


class RowLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y[:, -1, :])


def main():
    d, limit, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    torch.manual_seed(1)
    x, t = images(d, "train")
    if limit:
        x, t = x[:limit], t[:limit]
    model = RowLSTM()
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 100):
            idx = perm[i:i + 100]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), t[idx])
            loss.backward()
            opt.step()
    secs = time.perf_counter() - start
    xt, tt = images(d, "t10k")
    with torch.inference_mode():
        acc = float((model(xt).argmax(1) == tt).float().mean())
    print(json.dumps({"seconds": round(secs, 3), "accuracy": round(acc, 4)}))


if __name__ == "__main__":
    main()
