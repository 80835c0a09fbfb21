"""Fixtures of ch08_attention_seq2seq, from the book's own computation
(deep-learning-from-scratch-2: dataset/sequence.py, ch08/attention_seq2seq.py,
attention_layer.py, common/time_layers.py, common/util.py eval_seq2seq,
ch08/visualize_attention.py) re-implemented here in numpy (1.24):

date_small.txt          1000 dates in dataset/date.txt's layout, written by
                        seqdata.WriteDates(w, 1000, 2024) (the input here).
AttentionSeq2seq.pkl    the book's AttentionSeq2seq (V=59 from the file,
                        wordvec 16, hidden 32), trained briefly on the
                        training split with PyTorch autograd over the book's
                        forward (its params in the book's layout: LSTM Wx
                        (D, 4H), Wh (H, 4H), b (4H), gate blocks f, g, i, o),
                        saved as BaseModel.save_params does:
                        pickle.dump([p.astype(np.float16) for p in params], f).
AttentionSeq2seq_badshape.pkl  the same list with the affine W cut to (H, V)
                        (a plain Seq2seq's shape): must be refused.
expected.json           for the test split of load_data(file, seed=1984)
                        with reversed questions: each question's greedy
                        answer from the book's generate (one step at a
                        time, stateful LSTM, argmax fed back) computed in
                        float32 from the float16 weights as load_params
                        does, the accuracy, the smallest gap between the
                        best and second-best score over every step (so a
                        float32 rounding cannot flip an argmax), the
                        attention weights of visualize_attention.py's five
                        questions (np.random.seed(1984); randint) and those
                        picks for n = 100 and n = 5000.

Run: /usr/bin/python3 examples/book2/ch08_attention_seq2seq/testdata/make_fixture.py
"""
import json
import os
import pickle

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def load_data(path, seed=1984):  # dataset/sequence.py
    questions, answers = [], []
    for line in open(path, 'r'):
        idx = line.find('_')
        questions.append(line[:idx])
        answers.append(line[idx:-1])
    char_to_id, id_to_char = {}, {}
    for q, a in zip(questions, answers):
        for c in list(q) + list(a):
            if c not in char_to_id:
                char_to_id[c] = len(id_to_char)
                id_to_char[len(id_to_char)] = c
    x = np.zeros((len(questions), len(questions[0])), dtype=np.int64)
    t = np.zeros((len(questions), len(answers[0])), dtype=np.int64)
    for i, s in enumerate(questions):
        x[i] = [char_to_id[c] for c in s]
    for i, s in enumerate(answers):
        t[i] = [char_to_id[c] for c in s]
    indices = np.arange(len(x))
    if seed is not None:
        np.random.seed(seed)
    np.random.shuffle(indices)
    x, t = x[indices], t[indices]
    split = len(x) - len(x) // 10
    return (x[:split], t[:split]), (x[split:], t[split:]), char_to_id, id_to_char


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):  # common/functions.py
    x = x - x.max(axis=-1, keepdims=True)
    x = np.exp(x)
    return x / x.sum(axis=-1, keepdims=True)


class Book:
    """The book's AttentionSeq2seq forward in numpy, params in its order."""

    def __init__(self, params, dtype):
        self.p = [p.astype(dtype) for p in params]

    def lstm(self, xs, Wx, Wh, b, h, c):  # TimeLSTM / LSTM.forward
        N, T, _ = xs.shape
        H = Wh.shape[0]
        hs = np.empty((N, T, H), dtype=xs.dtype)
        for t in range(T):
            A = xs[:, t] @ Wx + h @ Wh + b
            f, g, i, o = A[:, :H], A[:, H:2 * H], A[:, 2 * H:3 * H], A[:, 3 * H:]
            f, g, i, o = sigmoid(f), np.tanh(g), sigmoid(i), sigmoid(o)
            c = f * c + g * i
            h = o * np.tanh(c)
            hs[:, t] = h
        return hs, h, c

    def encode(self, xs):  # AttentionEncoder.forward
        eW, Wx, Wh, b = self.p[:4]
        N = xs.shape[0]
        H = Wh.shape[0]
        z = np.zeros((N, H), dtype=eW.dtype)
        hs, _, _ = self.lstm(eW[xs], Wx, Wh, b, z, z)
        return hs

    def attend(self, enc_hs, dec_hs):  # TimeAttention.forward
        a = softmax(np.einsum('nth,nsh->nst', enc_hs, dec_hs))  # (N, S, T)
        c = np.einsum('nst,nth->nsh', a, enc_hs)
        return c, a

    def decode(self, xs, enc_hs, h, c):  # AttentionDecoder.forward, stateful
        eW, Wx, Wh, b, aW, ab = self.p[4:]
        dec_hs, h, c = self.lstm(eW[xs], Wx, Wh, b, h, c)
        ctx, a = self.attend(enc_hs, dec_hs)
        score = np.concatenate((ctx, dec_hs), axis=2) @ aW + ab
        return score, a, h, c

    def generate(self, x, start_id, sample_size):  # AttentionDecoder.generate
        enc_hs = self.encode(x)
        h = enc_hs[:, -1]
        c = np.zeros_like(h)
        sampled, gaps = [], []
        sid = start_id
        for _ in range(sample_size):
            score, _, h, c = self.decode(np.array([[sid]]), enc_hs, h, c)
            s = np.sort(score.flatten())
            gaps.append(float(s[-1] - s[-2]))
            sid = int(np.argmax(score.flatten()))
            sampled.append(sid)
        return sampled, gaps


def train_torch(x, t, V, D, H, epochs, seed=7):
    """The book's model and loss in torch, trained with Adam (max_grad 5)."""
    g = torch.Generator().manual_seed(seed)
    rn = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)
    params = [rn(V, D) / 100, rn(D, 4 * H) / np.sqrt(D), rn(H, 4 * H) / np.sqrt(H), torch.zeros(4 * H, dtype=torch.float64),
              rn(V, D) / 100, rn(D, 4 * H) / np.sqrt(D), rn(H, 4 * H) / np.sqrt(H), torch.zeros(4 * H, dtype=torch.float64),
              rn(2 * H, V) / np.sqrt(2 * H), torch.zeros(V, dtype=torch.float64)]
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=0.01)

    def lstm(xs, Wx, Wh, b, h, c):
        out = []
        for s in range(xs.shape[1]):
            A = xs[:, s] @ Wx + h @ Wh + b
            f, gg, i, o = A[:, :H], A[:, H:2 * H], A[:, 2 * H:3 * H], A[:, 3 * H:]
            c = torch.sigmoid(f) * c + torch.tanh(gg) * torch.sigmoid(i)
            h = torch.sigmoid(o) * torch.tanh(c)
            out.append(h)
        return torch.stack(out, 1)

    xs_all, ts_all = torch.tensor(x), torch.tensor(t)
    rng = np.random.RandomState(seed)
    for ep in range(epochs):
        order = rng.permutation(len(x))
        total = 0.0
        for k in range(0, len(x), 64):
            idx = order[k:k + 64]
            xb, tb = xs_all[idx], ts_all[idx]
            z = torch.zeros(len(idx), H, dtype=torch.float64)
            enc = lstm(params[0][xb], *params[1:4], z, z)
            dec = lstm(params[4][tb[:, :-1]], *params[5:8], enc[:, -1], z)
            a = torch.softmax(torch.einsum('nth,nsh->nst', enc, dec), dim=2)
            ctx = torch.einsum('nst,nth->nsh', a, enc)
            score = torch.cat([ctx, dec], 2) @ params[8] + params[9]
            loss = torch.nn.functional.cross_entropy(score.reshape(-1, V), tb[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            total += float(loss) * len(idx)
        print('epoch %d loss %.4f' % (ep + 1, total / len(x)))
    return [p.detach().numpy().astype(np.float32) for p in params]


def main():
    path = os.path.join(HERE, 'date_small.txt')
    (x_train, t_train), (x_test, t_test), char_to_id, id_to_char = load_data(path)
    x_train, x_test = x_train[:, ::-1].copy(), x_test[:, ::-1].copy()
    V, D, H = len(char_to_id), 16, 32
    params = train_torch(x_train, t_train, V, D, H, epochs=45)
    with open(os.path.join(HERE, 'AttentionSeq2seq.pkl'), 'wb') as f:  # BaseModel.save_params
        pickle.dump([p.astype(np.float16) for p in params], f)
    bad = [p.astype(np.float16) for p in params]
    bad[8] = bad[8][:H]
    with open(os.path.join(HERE, 'AttentionSeq2seq_badshape.pkl'), 'wb') as f:
        pickle.dump(bad, f)

    with open(os.path.join(HERE, 'AttentionSeq2seq.pkl'), 'rb') as f:  # BaseModel.load_params
        loaded = [p.astype('f') for p in pickle.load(f)]
    model = Book(loaded, np.float32)
    preds, right, min_gap = [], 0, np.inf
    for i in range(len(x_test)):  # eval_seq2seq
        question, correct = x_test[[i]], t_test[[i]].flatten()
        start_id, correct = correct[0], correct[1:]
        guess, gaps = model.generate(question, start_id, len(correct))
        min_gap = min(min_gap, min(gaps))
        g = ''.join(id_to_char[c] for c in guess)
        q = ''.join(id_to_char[c] for c in question[0, ::-1])
        preds.append(q + '\t' + g)
        right += int(g == ''.join(id_to_char[c] for c in correct))

    np.random.seed(1984)  # visualize_attention.py
    picks = [int(np.random.randint(0, len(x_test))) for _ in range(5)]
    maps = []
    for idx in picks:
        x, t = x_test[[idx]], t_test[[idx]]
        enc_hs = model.encode(x)
        _, a, _, _ = model.decode(t[:, :-1], enc_hs, enc_hs[:, -1], np.zeros_like(enc_hs[:, -1]))
        maps.append(a[0][:, ::-1].astype(float).round(6).tolist())
    randints = {}
    for n in (100, 5000):
        np.random.seed(1984)
        randints[str(n)] = [int(np.random.randint(0, n)) for _ in range(5)]

    out = {'predictions': preds, 'right': right, 'test': len(x_test), 'min_gap': float(min_gap),
           'picks': picks, 'maps': maps, 'randints': randints}
    with open(os.path.join(HERE, 'expected.json'), 'w') as f:
        json.dump(out, f, indent=0)
    print('accuracy %d/%d, smallest top-2 gap %.3g' % (right, len(x_test), min_gap))


if __name__ == '__main__':
    main()
