package seqdata

// RandInts returns what numpy 1.24 draws for
// `np.random.seed(seed); [np.random.randint(0, n) for _ in range(k)]`
// (the legacy generator: masked rejection on 32-bit draws), as the book's
// ch08/visualize_attention.py picks its questions. n must be in [1, 2³²].
func RandInts(n, k int, seed uint32) []int {
	m := newMT19937(seed)
	out := make([]int, k)
	for i := range out {
		out[i] = int(m.interval(uint32(n - 1)))
	}
	return out
}
