// Package tape runs a Gorgonia graph on Gorgonia's tape machine without
// the thread hand-offs of its RunAll.
//
// tapeMachine.RunAll locks the OS thread, starts a goroutine for the
// instructions and waits for it on channels (so that a CUDA engine could
// work on the locked thread meanwhile). On the CPU engine that costs two
// thread wake-ups per run, about 30-40 µs on this project's 2-core machine
// (measured: a one-op graph's RunAll takes 40 µs), more than the whole
// arithmetic of a one-image prediction. The machine's exported Run method
// executes a fragment of its tape on the calling goroutine; given the
// machine's whole instruction list it does the same work as RunAll. Gorgonia
// names neither the fragment type nor the program's instruction list, so
// New finds both by reflection, checking every type, and falls back to
// RunAll whenever the installed Gorgonia differs from the one this was
// written against (Machine.Inline reports which path runs). After the tape
// it calls the closures the machine queued, as RunAll does.
package tape

import (
	"fmt"
	"reflect"
	"unsafe"

	"gorgonia.org/gorgonia"
)

// Machine is a Gorgonia tape machine with a cheaper Run.
type Machine struct {
	vm       gorgonia.VM
	run      reflect.Value   // the machine's Run method, or invalid: use RunAll
	args     []reflect.Value // its one argument: the whole program
	closures reflect.Value   // the machine's closureQueue, run after the tape as RunAll does
}

// New compiles g into a tape machine with opts, as gorgonia.NewTapeMachine
// does.
func New(g *gorgonia.ExprGraph, opts ...gorgonia.VMOpt) *Machine {
	m := &Machine{vm: gorgonia.NewTapeMachine(g, opts...)}
	m.run, m.args = inline(m.vm)
	if m.run.IsValid() {
		// With gorgonia.BindDualValues the tape queues closures (gradient
		// additions into dual values) that RunAll calls after the last
		// instruction; without access to them, run through RunAll.
		var q reflect.Value
		if v := reflect.ValueOf(m.vm); v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
			q = v.Elem().FieldByName("closureQueue")
		}
		if !q.IsValid() || q.Type() != reflect.TypeFor[[]func() error]() || !q.CanAddr() {
			m.run, m.args = reflect.Value{}, nil
			return m
		}
		m.closures = reflect.NewAt(q.Type(), unsafe.Pointer(q.UnsafeAddr())).Elem()
	}
	return m
}

// inline returns the machine's Run method and its whole program as the
// argument, or invalid values when the machine does not have the shape
// expected of gorgonia's tapeMachine.
func inline(vm gorgonia.VM) (reflect.Value, []reflect.Value) {
	v := reflect.ValueOf(vm)
	run, prog := v.MethodByName("Run"), v.MethodByName("Prog")
	if !run.IsValid() || !prog.IsValid() {
		return reflect.Value{}, nil
	}
	rt, pt := run.Type(), prog.Type()
	if rt.NumIn() != 1 || rt.NumOut() != 1 || rt.Out(0) != reflect.TypeFor[error]() ||
		pt.NumIn() != 0 || pt.NumOut() != 1 || pt.Out(0).Kind() != reflect.Pointer {
		return reflect.Value{}, nil
	}
	p := prog.Call(nil)[0]
	if p.IsNil() || p.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, nil
	}
	instr := p.Elem().FieldByName("instructions")
	if !instr.IsValid() || instr.Type() != rt.In(0) || instr.Kind() != reflect.Slice || !instr.CanAddr() {
		return reflect.Value{}, nil
	}
	// The field is unexported: read it through its address.
	frag := reflect.NewAt(instr.Type(), unsafe.Pointer(instr.UnsafeAddr())).Elem()
	return run, []reflect.Value{frag}
}

// Inline reports whether Run executes the tape on the calling goroutine
// (true) or through RunAll.
func (m *Machine) Inline() bool { return m.run.IsValid() }

// Reset readies the machine for the next run, as gorgonia.VM's Reset.
func (m *Machine) Reset() { m.vm.Reset() }

// Run executes the whole tape once: every instruction in order, then every
// node bound to its value, as RunAll does.
func (m *Machine) Run() (err error) {
	if !m.run.IsValid() {
		return m.vm.RunAll()
	}
	defer func() {
		// Run's instructions may panic inside Gorgonia; RunAll's goroutine
		// would crash the process, but here it is the caller's: report it.
		if r := recover(); r != nil {
			err = fmt.Errorf("tape machine: %v", r)
		}
	}()
	out := m.run.Call(m.args)
	if e, ok := out[0].Interface().(error); ok && e != nil {
		return e
	}
	for _, closure := range m.closures.Interface().([]func() error) {
		if err := closure(); err != nil {
			return err
		}
	}
	return nil
}
