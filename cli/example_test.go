package cli_test

import (
	"fmt"
	"io"

	"github.com/tapenet/tapenet/cli"
)

// A run saves its settings; resumed, they apply to every flag not given
// again.
func ExampleFlags_Restore() {
	flags := func() (*cli.Flags, *int, *string) {
		fs := cli.NewFlags("run", "", io.Discard)
		return fs, fs.Int("epochs", 10, ""), fs.String("optimizer", "adam", "")
	}
	fs, _, _ := flags()
	fs.Parse([]string{"--epochs", "6", "--optimizer", "sgd"})
	saved := fs.Settings([]string{"epochs", "optimizer"})
	fmt.Println(saved)

	fs, epochs, opt := flags()
	fs.Parse([]string{"--epochs", "12"})
	if err := fs.Restore(saved, []string{"epochs", "optimizer"}, nil); err != nil {
		fmt.Println(err)
	}
	fmt.Println(*epochs, *opt)
	// Output:
	// map[epochs:6 optimizer:sgd]
	// 12 sgd
}
