package generate_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/tapenet/tapenet/graph"
	"github.com/tapenet/tapenet/graph/generate"
)

// A character model (Embedding, LSTM, TimeDense logits) generating 12
// tokens after a start token, greedily and by seeded sampling; the LSTM's
// h and c are carried from one step to the next.
func Example() {
	m, err := graph.NewSequential([]int{8},
		&graph.Embedding{Vocab: 6, Dim: 4}, &graph.LSTM{Units: 8, Sequences: true}, &graph.TimeDense{Units: 6})
	if err != nil {
		fmt.Println(err)
		return
	}
	m.Init(4)
	st, err := generate.NewStepper(m, generate.Options{Meaning: graph.Logits})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, smp := range []generate.Sampler{
		{}, // greedy
		{Temperature: 1, TopK: 3, Source: rand.New(rand.NewPCG(42, 0))},
		{Temperature: 1, TopK: 3, Source: rand.New(rand.NewPCG(42, 0))}, // the same seed again
	} {
		if err := st.Reset(); err != nil {
			fmt.Println(err)
			return
		}
		out, err := st.Generate([][]int{{0}}, 12, smp)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(out[0])
	}
	// Output:
	// [3 3 2 3 3 2 4 4 4 4 4 4]
	// [0 1 0 0 3 1 0 3 1 2 3 2]
	// [0 1 0 0 3 1 0 3 1 2 3 2]
}
