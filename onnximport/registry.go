package onnximport

import (
	"fmt"

	"github.com/tapenet/tapenet/graph"
)

// init adds this package's layer kinds to graph.DefaultRegistry, so that
// checkpoint.Read(r, nil) and graph.FromSpec(data, nil) decode imported
// models in any program that imports this package. (Register and Registry
// still work on registries of their own.)
func init() {
	for _, c := range constructors() {
		if err := graph.RegisterDefault(c().Kind(), c); err != nil {
			panic(fmt.Sprintf("onnximport: %v", err)) // a kind registered twice: a programming error
		}
	}
}
