"""Pickles of plain data for ReadPickleObject / ReadPickleArrays tests
(numpy 1.24, Python 3.11): the book2 save_params lists of float16 arrays,
vocabulary dicts with str and int keys, and hostile structures.

Run: /usr/bin/python3 numpyio/testdata/gen_objects.py
"""
import os
import pickle

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def dump(name, obj, protocol):
    with open(os.path.join(HERE, name), 'wb') as f:
        pickle.dump(obj, f, protocol)


# float16 edge values: exact halves, the largest finite, a subnormal, -0, inf.
f16 = np.array([[0.5, -1.25, 65504.0], [2.0 ** -24, -0.0, np.inf]], dtype=np.float16)
ints = np.arange(6, dtype=np.int32).reshape(3, 2)
for proto in (2, 4, 5):
    dump(f'obj_list_f16_p{proto}.pkl', [f16, f16.T.copy(), np.float16(3.5) * np.ones(4, np.float16), ints], proto)
vocab = {'word_vecs': f16, 'word_to_id': {'you': 0, 'say': 1, '.': 2}, 'id_to_word': {0: 'you', 1: 'say', 2: '.'}}
dump('obj_vocab_p5.pkl', vocab, 5)
dump('obj_vocab_p2.pkl', vocab, 2)
shared = [1, 2.5, 'x', b'y', None, True]
dump('obj_shared.pkl', (shared, shared, {'k': shared}), 4)
cycle = []
cycle.append(cycle)
dump('obj_cycle.pkl', cycle, 4)
deep = []
for _ in range(40):
    deep = [deep]
dump('obj_deep.pkl', deep, 4)
dump('obj_mixed_keys.pkl', {'a': 1, 7: 'b'}, 4)
print('wrote obj_*.pkl')
# Shared structures nested 30 deep: 2^30 paths, 30 objects.
t = ()
for _ in range(30):
    t = (t, t)
dump('obj_tuple_dag.pkl', t, 4)
dag = []
for _ in range(30):
    dag = [dag, dag]
dump('obj_list_dag.pkl', dag, 4)
