package cli

import (
	"fmt"
	"strings"
)

// Settings returns the values of the named flags, each as Set takes it
// back (a slice without its brackets): the settings of a run, to save with
// it and Restore when it resumes.
func (f *Flags) Settings(names []string) map[string]string {
	s := make(map[string]string, len(names))
	for _, name := range names {
		s[name] = f.value(name)
	}
	return s
}

func (f *Flags) value(name string) string {
	v := f.Lookup(name).Value.String()
	if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
		v = v[1 : len(v)-1]
	}
	return v
}

// Restore sets each named flag that the command line did not give to its
// value in saved (Settings' map), so that the saved run's settings apply
// unless given again. A flag of fixed given with another value than the
// saved one is a UsageError ("--NAME cannot change"); a name missing
// from saved, or a value Set refuses, is an error.
func (f *Flags) Restore(saved map[string]string, names, fixed []string) error {
	for _, name := range names {
		v, ok := saved[name]
		if !ok {
			return fmt.Errorf("setting %s missing", name)
		}
		if f.Changed(name) {
			for _, x := range fixed {
				if name == x && f.value(name) != v {
					return Usagef("--%s cannot change: the saved run has %s %s", name, name, v)
				}
			}
			continue
		}
		if f.value(name) == v {
			continue // the default: leave the flag unchanged
		}
		if err := f.Set(name, v); err != nil {
			return fmt.Errorf("setting %s=%q: %w", name, v, err)
		}
	}
	return nil
}
