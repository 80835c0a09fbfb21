"""The book's text generation (ch07/generate_text.py with ch07/rnnlm_gen.py
RnnlmGen.generate), re-implemented in numpy 1.24 over the fixture
../../testdata/Rnnlm.pkl with the vocabulary of ../../testdata/cbow_params.pkl,
seeded with np.random.seed(SEED):

  load_params: the float16 arrays as float32; a stateful TimeLSTM (gates
  f, g, i, o), TimeAffine, common/functions.py softmax in float32;
  np.random.choice(len(p), size=1, p=p) per step; a sampled id in skip_ids
  is dropped and the previous word fed again (the state still advances).

Writes generate_expected.txt: one line per case, "SEED START SIZE SKIP: words".
Run: /usr/bin/python3 examples/book2/ch06_rnnlm/testdata/make_generate.py
"""
import os
import pickle

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BOOK2 = os.path.join(HERE, '..', '..', 'testdata')

with open(os.path.join(BOOK2, 'Rnnlm.pkl'), 'rb') as f:
    E, Wx, Wh, b, Wa, ba = [p.astype('f') for p in pickle.load(f)]
with open(os.path.join(BOOK2, 'cbow_params.pkl'), 'rb') as f:
    cbow = pickle.load(f)
word_to_id, id_to_word = cbow['word_to_id'], cbow['id_to_word']
H = Wh.shape[0]


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):  # common/functions.py, 1-D case
    x = x - np.max(x)
    return np.exp(x) / np.sum(np.exp(x))


def generate(start_id, skip_ids, sample_size):
    h = np.zeros((1, H), dtype='f')
    c = np.zeros((1, H), dtype='f')
    word_ids = [start_id]
    x = start_id
    while len(word_ids) < sample_size:
        x = np.array(x).reshape(1, 1)
        xs = E[x[:, 0]]                       # TimeEmbedding, one step
        A = xs @ Wx + h @ Wh + b              # LSTM.forward
        f, g, i, o = A[:, :H], A[:, H:2 * H], A[:, 2 * H:3 * H], A[:, 3 * H:]
        f, g, i, o = sigmoid(f), np.tanh(g), sigmoid(i), sigmoid(o)
        c = f * c + g * i
        h = o * np.tanh(c)
        score = h @ Wa + ba                   # TimeAffine
        p = softmax(score.flatten())
        sampled = np.random.choice(len(p), size=1, p=p)
        if (skip_ids is None) or (sampled not in skip_ids):
            x = sampled
            word_ids.append(int(x))
    return word_ids


lines = []
for seed, start, size, skip in [(0, 'you', 40, ['the', '.']), (1984, 'the', 60, []), (7, 'king', 25, ['car'])]:
    np.random.seed(seed)
    ids = generate(word_to_id[start], [word_to_id[w] for w in skip], size)
    lines.append('%d %s %d %s: %s' % (seed, start, size, ','.join(skip) or '-', ' '.join(id_to_word[i] for i in ids)))
with open(os.path.join(HERE, 'generate_expected.txt'), 'w') as f:
    f.write('\n'.join(lines) + '\n')
print('\n'.join(lines))
