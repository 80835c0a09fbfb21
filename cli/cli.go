// Package cli holds what tapenet's commands share, and what your own
// command-line programs built on tapenet can use too: exit codes, usage
// errors, flag parsing with pflag, and atomic file writes.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/tapenet/tapenet/internal/osfile"
)

// Exit statuses of every tapenet command.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// UsageError is a mistake in the command line (exit status 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// errHelp reports that --help was given and answered.
var errHelp = errors.New("help requested")

// Flags is a pflag set that reports errors instead of exiting and prints
// the command's help on -h/--help.
type Flags struct {
	*pflag.FlagSet
	usage string
	out   io.Writer
}

// NewFlags returns the flag set of a command; usage is the text --help
// prints (to out) above the flag list.
func NewFlags(name, usage string, out io.Writer) *Flags {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // pflag calls it on every parse error; Parse prints help itself
	return &Flags{FlagSet: fs, usage: usage, out: out}
}

// Parse parses args; -h/--help prints the help. A parse error becomes a
// UsageError; so does a positional argument.
func (f *Flags) Parse(args []string) error {
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return Usagef("unexpected argument %q (all options are flags; see --help)", f.Arg(0))
	}
	return nil
}

// ParseArgs is Parse for a command that takes positional arguments (file
// names): it returns them instead of refusing them.
func (f *Flags) ParseArgs(args []string) ([]string, error) {
	if err := f.parse(args); err != nil {
		return nil, err
	}
	return f.Args(), nil
}

func (f *Flags) parse(args []string) error {
	err := f.FlagSet.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprint(f.out, strings.TrimLeft(f.usage, "\n"))
		fmt.Fprintf(f.out, "\nFlags:\n%s", f.FlagUsages())
		return errHelp
	}
	if err != nil {
		return &UsageError{Msg: err.Error()}
	}
	return nil
}

// Main runs a command body and exits: 0 on success or --help, 2 on a
// UsageError, 1 on any other error. Errors print as one line on stderr,
// prefixed with the command's name.
func Main(name string, run func(args []string, stdout, stderr io.Writer) error) {
	os.Exit(Run(name, run, os.Args[1:], os.Stdout, os.Stderr))
}

// Run is Main without the exit, for tests.
func Run(name string, run func(args []string, stdout, stderr io.Writer) error, args []string, stdout, stderr io.Writer) int {
	err := run(args, stdout, stderr)
	var ue *UsageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %s (see %s --help)\n", name, oneLine(ue.Msg), name)
		return ExitUsage
	default:
		fmt.Fprintf(stderr, "%s: %s\n", name, oneLine(err.Error()))
		return ExitFailure
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// WriteFile writes a file through write into a temporary file in the same
// folder, then renames it into place: on any error nothing is left behind
// and an existing file keeps its old contents.
func WriteFile(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// CheckWritable reports, before any long work, whether WriteFile(path)
// could succeed: path is not a folder and a temporary file can be created
// (and is removed again) beside it. flag names the flag for the message.
func CheckWritable(flag, path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s %s is a folder, not a file", flag, path)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("%s %s: cannot write there: %w", flag, path, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// Output is a file a command will write: the flag that names it and its
// path ("" when the flag was not given).
type Output struct {
	Flag, Path string
}

// CheckOutputs checks, before any long work, every file a command will
// write (empty paths are skipped). A path that is a folder or some other
// non-regular file (a named pipe, a device), or one file named by two
// flags, is a UsageError (exit 2); a place where no file can be created (a
// missing folder, no permission) is an error (exit 1). Nothing is written
// or left behind.
func CheckOutputs(outs ...Output) error {
	type seen struct {
		Output
		abs string
		fi  os.FileInfo
	}
	var prev []seen
	for _, o := range outs {
		if o.Path == "" {
			continue
		}
		fi, err := os.Stat(o.Path)
		if err != nil {
			fi = nil
		}
		switch {
		case fi != nil && fi.IsDir():
			return Usagef("%s %s is a folder; give a file name", o.Flag, o.Path)
		case fi != nil && !fi.Mode().IsRegular():
			return Usagef("%s %s: %v", o.Flag, o.Path, osfile.Regular(o.Path, fi.Mode()))
		}
		abs, err := filepath.Abs(o.Path)
		if err != nil {
			abs = filepath.Clean(o.Path)
		}
		for _, p := range prev {
			if p.abs == abs || (fi != nil && p.fi != nil && os.SameFile(fi, p.fi)) {
				return Usagef("%s and %s both name %s; give them different files", p.Flag, o.Flag, o.Path)
			}
		}
		prev = append(prev, seen{o, abs, fi})
		if err := CheckWritable(o.Flag, o.Path); err != nil {
			return err
		}
	}
	return nil
}

// MaxBatchBytes bounds the activations of one batch (per worker, summed
// over the workers) that Batch lets a command run: the memory a batch
// costs grows with its size while the speed stops growing long before.
const MaxBatchBytes = 128 << 20

// Batch returns the batch size to run for the --batch-size given (flag
// names it): clamped to the number of samples, as a larger batch only
// costs memory. sampleValues is the number of values the model's nodes
// produce per sample (graph.Model.SampleValues) and workers the number of
// batches run at once. A batch whose float32 activations would exceed
// MaxBatchBytes is a UsageError that gives the largest batch that fits.
func Batch(flag string, batch, samples, sampleValues, workers int) (int, error) {
	batch = max(1, min(batch, samples))
	workers = max(workers, 1)
	perSample := 4 * int64(max(sampleValues, 1))
	if total := int64(batch) * perSample * int64(workers); total > MaxBatchBytes {
		most := MaxBatchBytes / (perSample * int64(workers))
		if most < 1 {
			return 0, Usagef("%s: one sample of this model holds about %d MiB of activations, more than the %d MiB a batch may hold (at most %d at once)", flag, perSample>>20, MaxBatchBytes>>20, workers)
		}
		return 0, Usagef("%s %d: batches that big hold about %d MiB of activations for this model (%d KiB per sample, %d batches at once); at most %d fit in %d MiB",
			flag, batch, total>>20, perSample>>10, workers, most, MaxBatchBytes>>20)
	}
	return batch, nil
}

// IsTerminal reports whether w is a terminal (progress bars show only
// there).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
