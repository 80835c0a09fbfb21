"""Fixtures of examples/book2, made with numpy (1.24) from the book's own
computations (deep-learning-from-scratch-2), re-implemented here:

cbow_params.pkl   ch04/train.py: the CBOW with negative sampling (window 2,
                  hidden 16, UnigramSampler power 0.75, 5 negatives, Adam
                  0.001... 0.01 here), trained briefly on the tiny corpus
                  below, saved as train.py does: pickle.dump(params, f, -1)
                  of {'word_vecs': float16, 'word_to_id', 'id_to_word'}.
ch04_expected.txt ch04/eval.py's queries on it, with common/util.py's
                  most_similar and analogy computed in float64 from the
                  float16 vectors (the book's float16 arithmetic rounds the
                  printed scores to float16; the words are what is compared).
Rnnlm.pkl         ch06's Rnnlm (TimeEmbedding V x 16, TimeLSTM 16 with the
                  book's gate order f, g, i, o, TimeAffine 16 x V) with the
                  book's initialisation, saved as BaseModel.save_params does:
                  pickle.dump([p.astype(np.float16) for p in params], f).
                  Not trained (its weights are scaled x3 so that the five
                  likeliest words stand apart).
ch06_expected.txt the model's forward over TEXT from a reset state, in
                  float64 from the float16 weights: per word, the five
                  likeliest next words and their softmax probabilities.

Run: /usr/bin/python3 examples/book2/testdata/make_fixtures.py
"""
import os
import pickle

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
np.random.seed(1984)

TEXT = ("you say goodbye and i say hello . the king is a man and the queen is a woman . "
        "i take the car every year . i took the car last year . you go to the toyota car shop . "
        "the child has two cars and the good child is better than the bad child . "
        "the man and the woman went to the shop . the queen took the child every year . "
        "a good year is better than a bad year . the king took the toyota . i go and you take . ") * 3


def preprocess(text):  # common/util.py
    text = text.lower().replace('.', ' .')
    words = text.split(' ')
    word_to_id, id_to_word = {}, {}
    for word in words:
        if word == '':
            continue
        if word not in word_to_id:
            new_id = len(word_to_id)
            word_to_id[word] = new_id
            id_to_word[new_id] = word
    corpus = np.array([word_to_id[w] for w in words if w != ''])
    return corpus, word_to_id, id_to_word


def create_contexts_target(corpus, window_size=1):  # common/util.py
    target = corpus[window_size:-window_size]
    contexts = []
    for idx in range(window_size, len(corpus) - window_size):
        cs = []
        for t in range(-window_size, window_size + 1):
            if t == 0:
                continue
            cs.append(corpus[idx + t])
        contexts.append(cs)
    return np.array(contexts), np.array(target)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


class UnigramSampler:  # ch04/negative_sampling_layer.py (CPU path)
    def __init__(self, corpus, power, sample_size):
        self.sample_size = sample_size
        counts = np.bincount(corpus)
        self.vocab_size = len(counts)
        self.word_p = np.power(counts, power)
        self.word_p /= np.sum(self.word_p)

    def get_negative_sample(self, target):
        batch_size = target.shape[0]
        negative_sample = np.zeros((batch_size, self.sample_size), dtype=np.int32)
        for i in range(batch_size):
            p = self.word_p.copy()
            p[target[i]] = 0
            p /= p.sum()
            negative_sample[i, :] = np.random.choice(self.vocab_size, size=self.sample_size, replace=False, p=p)
        return negative_sample


class CBOW:  # ch04/cbow.py with its Embedding, EmbeddingDot, SigmoidWithLoss
    def __init__(self, vocab_size, hidden_size, window_size, corpus):
        V, H = vocab_size, hidden_size
        self.W_in = 0.01 * np.random.randn(V, H).astype('f')
        self.W_out = 0.01 * np.random.randn(V, H).astype('f')
        self.sampler = UnigramSampler(corpus, 0.75, 5)
        self.window = window_size

    def step(self, contexts, target, adam):
        n = len(target)
        h = self.W_in[contexts].sum(1) / contexts.shape[1]
        neg = self.sampler.get_negative_sample(target)
        ids = np.concatenate([target[:, None], neg], 1)            # (n, 1+5)
        labels = np.zeros(ids.shape, 'f')
        labels[:, 0] = 1
        w = self.W_out[ids]                                        # (n, 6, H)
        score = (w * h[:, None, :]).sum(2)
        y = sigmoid(score)
        eps = 1e-7
        loss = -(labels * np.log(y + eps) + (1 - labels) * np.log(1 - y + eps)).sum() / n
        dscore = (y - labels) / n                                  # each SigmoidWithLoss divides by n
        dW_out = np.zeros_like(self.W_out)
        np.add.at(dW_out, ids, dscore[:, :, None] * h[:, None, :])
        dh = (dscore[:, :, None] * w).sum(1) / contexts.shape[1]
        dW_in = np.zeros_like(self.W_in)
        for i in range(contexts.shape[1]):
            np.add.at(dW_in, contexts[:, i], dh)
        adam.update([self.W_in, self.W_out], [dW_in, dW_out])
        return loss


class Adam:  # common/optimizer.py
    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        self.lr, self.beta1, self.beta2, self.iter, self.m, self.v = lr, beta1, beta2, 0, None, None

    def update(self, params, grads):
        if self.m is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.iter += 1
        lr_t = self.lr * np.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)
        for i in range(len(params)):
            self.m[i] += (1 - self.beta1) * (grads[i] - self.m[i])
            self.v[i] += (1 - self.beta2) * (grads[i] ** 2 - self.v[i])
            params[i] -= lr_t * self.m[i] / (np.sqrt(self.v[i]) + 1e-7)


corpus, word_to_id, id_to_word = preprocess(TEXT)
V = len(word_to_id)
contexts, target = create_contexts_target(corpus, 2)
model = CBOW(V, 16, 2, corpus)
adam = Adam(0.01)
for epoch in range(40):
    idx = np.random.permutation(len(target))
    for i in range(0, len(idx), 20):
        b = idx[i:i + 20]
        loss = model.step(contexts[b], target[b], adam)
word_vecs = model.W_in
params = {'word_vecs': word_vecs.astype(np.float16), 'word_to_id': word_to_id, 'id_to_word': id_to_word}
with open(os.path.join(HERE, 'cbow_params.pkl'), 'wb') as f:
    pickle.dump(params, f, -1)
print('cbow: vocabulary', V, 'last loss', loss)

# ch04/eval.py with common/util.py's functions, in float64.
W = params['word_vecs'].astype(np.float64)
out = []


def cos_similarity(x, y, eps=1e-8):
    nx = x / (np.sqrt(np.sum(x ** 2)) + eps)
    ny = y / (np.sqrt(np.sum(y ** 2)) + eps)
    return np.dot(nx, ny)


def most_similar(query, top=5):
    if query not in word_to_id:
        out.append('%s is not found' % query)
        return
    out.append('')
    out.append('[query] ' + query)
    qv = W[word_to_id[query]]
    sim = np.array([cos_similarity(W[i], qv) for i in range(len(id_to_word))])
    count = 0
    for i in (-1 * sim).argsort(kind='stable'):
        if id_to_word[i] == query:
            continue
        out.append(' %s: %s' % (id_to_word[i], repr(float(sim[i]))))
        count += 1
        if count >= top:
            return


def analogy(a, b, c, top=5):
    for word in (a, b, c):
        if word not in word_to_id:
            out.append('%s is not found' % word)
            return
    out.append('')
    out.append('[analogy] ' + a + ':' + b + ' = ' + c + ':?')
    q = W[word_to_id[b]] - W[word_to_id[a]] + W[word_to_id[c]]
    q = q / np.sqrt((q * q).sum())
    sim = np.dot(W, q)
    count = 0
    for i in (-1 * sim).argsort(kind='stable'):
        if np.isnan(sim[i]):
            continue
        if id_to_word[i] in (a, b, c):
            continue
        out.append(' {0}: {1}'.format(id_to_word[i], repr(float(sim[i]))))
        count += 1
        if count >= top:
            return


for q in ['you', 'year', 'car', 'toyota']:
    most_similar(q)
out.append('-' * 50)
analogy('king', 'man', 'queen')
analogy('take', 'took', 'go')
analogy('car', 'cars', 'child')
analogy('good', 'better', 'bad')
with open(os.path.join(HERE, 'ch04_expected.txt'), 'w') as f:
    f.write('\n'.join(out) + '\n')

# ch06: the book's Rnnlm, initialised as ch06/rnnlm.py does.
D = H = 16
rn = np.random.randn
embed_W = (rn(V, D) / 100).astype('f')
lstm_Wx = (rn(D, 4 * H) / np.sqrt(D)).astype('f')
lstm_Wh = (rn(H, 4 * H) / np.sqrt(H)).astype('f')
lstm_b = (rn(4 * H) * 0.5).astype('f')   # the book starts at zeros; nonzero to test the bias
affine_W = (rn(H, V) / np.sqrt(H) * 3).astype('f')
affine_b = (rn(V) * 0.1).astype('f')
embed_W *= 100  # the book's 1/100 scale gives a near-constant output; test with a spread
plist = [embed_W, lstm_Wx, lstm_Wh, lstm_b, affine_W, affine_b]
with open(os.path.join(HERE, 'Rnnlm.pkl'), 'wb') as f:
    pickle.dump([p.astype(np.float16) for p in plist], f)

E, Wx, Wh, b, Wa, ba = [p.astype(np.float16).astype(np.float64) for p in plist]
text = "the king took the car . you say goodbye and i say hello"
h = np.zeros(H)
c = np.zeros(H)
lines = []
for word in text.split():
    x = E[word_to_id[word]]
    A = x @ Wx + h @ Wh + b
    f, g, i, o = A[:H], A[H:2 * H], A[2 * H:3 * H], A[3 * H:]
    f, g, i, o = sigmoid(f), np.tanh(g), sigmoid(i), sigmoid(o)
    c = f * c + g * i
    h = o * np.tanh(c)
    s = h @ Wa + ba
    p = np.exp(s - s.max())
    p /= p.sum()
    top = np.argsort(-p, kind='stable')[:5]
    lines.append(word + ' -> ' + ' '.join('%s:%.5f' % (id_to_word[k], p[k]) for k in top))
with open(os.path.join(HERE, 'ch06_expected.txt'), 'w') as f:
    f.write('# --text "%s"\n' % text)
    f.write('\n'.join(lines) + '\n')
print('wrote fixtures')

# Lists that do not fit Rnnlm, for the bad-input tests.
with open(os.path.join(HERE, 'Rnnlm_short.pkl'), 'wb') as f:
    pickle.dump([p.astype(np.float16) for p in plist[:5]], f)
with open(os.path.join(HERE, 'Rnnlm_badshape.pkl'), 'wb') as f:
    pickle.dump([p.astype(np.float16) for p in plist[:2]] + [lstm_Wh.T.astype(np.float16)] + [p.astype(np.float16) for p in plist[3:]], f)
