package main

import "golang.org/x/sys/cpu"

//go:noescape
func fma512(n int)

//go:noescape
func fma256(n int)

// fmaLoop returns the widest register-only FMA loop this CPU runs, its
// name and the floating-point operations of one round (nil without FMA).
func fmaLoop() (loop func(n int), isa string, flopsPerRound float64) {
	switch {
	case cpu.X86.HasAVX512F:
		return fma512, "AVX-512 (16 ZMM FMAs per round)", 16 * 16 * 2
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return fma256, "AVX2/FMA (12 YMM FMAs per round)", 12 * 8 * 2
	}
	return nil, "", 0
}
