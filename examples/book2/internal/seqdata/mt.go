package seqdata

// mt19937 is numpy's legacy RandomState generator: MT19937 seeded with
// init_genrand (what np.random.seed(int) does).
type mt19937 struct {
	key [624]uint32
	pos int
}

func newMT19937(seed uint32) *mt19937 {
	m := &mt19937{}
	for i := 0; i < 624; i++ {
		m.key[i] = seed
		seed = 1812433253*(seed^(seed>>30)) + uint32(i) + 1
	}
	m.pos = 624
	return m
}

func (m *mt19937) reload() {
	const n, mm = 624, 397
	const upper, lower, matrixA = 0x80000000, 0x7fffffff, 0x9908b0df
	mag := func(y uint32) uint32 { return (y & 1) * matrixA }
	var i int
	for i = 0; i < n-mm; i++ {
		y := (m.key[i] & upper) | (m.key[i+1] & lower)
		m.key[i] = m.key[i+mm] ^ (y >> 1) ^ mag(y)
	}
	for ; i < n-1; i++ {
		y := (m.key[i] & upper) | (m.key[i+1] & lower)
		m.key[i] = m.key[i+mm-n] ^ (y >> 1) ^ mag(y)
	}
	y := (m.key[n-1] & upper) | (m.key[0] & lower)
	m.key[n-1] = m.key[mm-1] ^ (y >> 1) ^ mag(y)
	m.pos = 0
}

// uint32 is genrand_int32.
func (m *mt19937) uint32() uint32 {
	if m.pos == 624 {
		m.reload()
	}
	y := m.key[m.pos]
	m.pos++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// interval is numpy's random_interval (legacy rk_interval) for max below
// 2³²: draws masked to the smallest all-ones mask covering max, rejected
// until <= max.
func (m *mt19937) interval(max uint32) uint32 {
	if max == 0 {
		return 0
	}
	mask := max
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	for {
		if v := m.uint32() & mask; v <= max {
			return v
		}
	}
}

// Permutation returns what numpy 1.24 leaves in indices after
// `indices = np.arange(n); np.random.seed(seed); np.random.shuffle(indices)`:
// Fisher-Yates from the end, j = random_interval(i) for i = n-1 .. 1.
// n must be below 2³².
func Permutation(n int, seed uint32) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	m := newMT19937(seed)
	for i := n - 1; i > 0; i-- {
		j := int(m.interval(uint32(i)))
		idx[i], idx[j] = idx[j], idx[i]
	}
	return idx
}

// RandomState is numpy's legacy global generator after np.random.seed(seed)
// (MT19937, init_genrand): its Float64 is np.random.random_sample(), so
// sampling code fed by it (generate.Sampler's Source) makes numpy's draws.
type RandomState struct{ mt *mt19937 }

// NewRandomState is np.random.seed(seed).
func NewRandomState(seed uint32) *RandomState { return &RandomState{newMT19937(seed)} }

// Float64 is random_sample: 53 random bits from two draws, (a>>5, b>>6),
// as (a·2²⁶ + b) / 2⁵³, in [0, 1).
func (r *RandomState) Float64() float64 {
	a, b := r.mt.uint32()>>5, r.mt.uint32()>>6
	return (float64(a)*67108864 + float64(b)) / 9007199254740992
}
