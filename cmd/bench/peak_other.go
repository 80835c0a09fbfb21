//go:build !amd64

package main

// fmaLoop: no assembly loop outside amd64.
func fmaLoop() (loop func(n int), isa string, flopsPerRound float64) { return nil, "", 0 }
