package export

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/tapenet/tapenet/graph"
)

// ErrNoGraphviz is returned by WriteImage when Graphviz's dot program is
// not installed.
var ErrNoGraphviz = errors.New("the Graphviz program dot is not installed (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)")

// DotProgram is the Graphviz program WriteImage runs, looked up in PATH.
const DotProgram = "dot"

// WriteImage renders m's DOT graph (see WriteDOT) with Graphviz's dot
// program to an image of the given type ("svg" or "png").
func WriteImage(w io.Writer, m *graph.Model, typ string) error {
	if typ != "svg" && typ != "png" {
		return fmt.Errorf("image type %q: want svg or png", typ)
	}
	path, err := exec.LookPath(DotProgram)
	if err != nil {
		return ErrNoGraphviz
	}
	var src bytes.Buffer
	if err := WriteDOT(&src, m); err != nil {
		return err
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command(path, "-T"+typ)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = &src, &out, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s -T%s: %v: %s", DotProgram, typ, err, strings.TrimSpace(stderr.String()))
	}
	_, err = w.Write(out.Bytes())
	return err
}
