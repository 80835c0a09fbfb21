package models

import (
	"fmt"

	"github.com/tapenet/tapenet/graph"
)

// init adds this package's layer kinds to graph.DefaultRegistry, so that
// checkpoint.Read(r, nil) and graph.FromSpec(data, nil) decode them in any
// program that imports this package. (Registry still returns a registry of
// its own.)
func init() {
	if err := graph.RegisterDefault("bookdropout", func() graph.Layer { return &BookDropout{} }); err != nil {
		panic(fmt.Sprintf("models: %v", err)) // a kind registered twice: a programming error
	}
}
