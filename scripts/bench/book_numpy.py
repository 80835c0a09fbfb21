"""The book's chapter 3 inference (neuralnet_mnist_batch.py) in numpy.

Usage: book_numpy.py WEIGHTS.npz MNIST_DIR
Prints one JSON line: loop seconds (the batch loop only, like tapenet's
--json "seconds") and accuracy. Weights in the book's convention W1..b3.
"""
import gzip, json, sys, time
import numpy as np

def load_images(path):
    with gzip.open(path) as f:
        data = f.read()
    n = int.from_bytes(data[4:8], "big")
    return np.frombuffer(data, np.uint8, offset=16).reshape(n, 784)

def load_labels(path):
    with gzip.open(path) as f:
        data = f.read()
    return np.frombuffer(data, np.uint8, offset=8)

def sigmoid(x):
    return 1 / (1 + np.exp(-x))

def softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)

def predict(net, x):
    W1, W2, W3 = net["W1"], net["W2"], net["W3"]
    b1, b2, b3 = net["b1"], net["b2"], net["b3"]
    z1 = sigmoid(np.dot(x, W1) + b1)
    z2 = sigmoid(np.dot(z1, W2) + b2)
    return softmax(np.dot(z2, W3) + b3)

def main():
    net = dict(np.load(sys.argv[1]))
    x = load_images(sys.argv[2] + "/t10k-images-idx3-ubyte.gz").astype(np.float32)
    x /= 255.0
    t = load_labels(sys.argv[2] + "/t10k-labels-idx1-ubyte.gz")
    batch_size = 100
    accuracy_cnt = 0
    start = time.perf_counter()
    for i in range(0, len(x), batch_size):
        y_batch = predict(net, x[i:i + batch_size])
        p = np.argmax(y_batch, axis=1)
        accuracy_cnt += np.sum(p == t[i:i + batch_size])
    secs = time.perf_counter() - start
    print(json.dumps({"seconds": secs, "accuracy": float(accuracy_cnt) / len(x)}))

main()
