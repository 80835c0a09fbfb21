// Command ch05_buy_apple is the book's ch05/buy_apple.py as a Gorgonia
// graph: the price of 2 apples at 100 each with 10% tax, forward, and the
// derivative of the price with respect to every input, backward
// (gorgonia.Grad), printed beside the book's numbers.
//
//	go run ./examples/book/ch05_buy_apple
package main

import (
	"fmt"
	"io"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/examples/book/internal/bookex"
	"gorgonia.org/gorgonia"
)

const usage = `
ch05_buy_apple: the book's apple-shopping computational graph (section 5.4)
built and differentiated with Gorgonia.

Usage:
  go run ./examples/book/ch05_buy_apple
`

func main() { cli.Main("ch05_buy_apple", run) }

func run(args []string, stdout, _ io.Writer) error {
	fs := cli.NewFlags("ch05_buy_apple", usage, stdout)
	if err := fs.Parse(args); err != nil {
		return err
	}
	g := gorgonia.NewGraph()
	scalar := func(name string, v float64) *gorgonia.Node {
		return gorgonia.NewScalar(g, gorgonia.Float64, gorgonia.WithName(name), gorgonia.WithValue(v))
	}
	apple, appleNum, tax := scalar("apple", 100), scalar("apple_num", 2), scalar("tax", 1.1)
	// The book's two MulLayers: apple × apple_num, then × tax.
	applePrice, err := gorgonia.Mul(apple, appleNum)
	if err != nil {
		return fmt.Errorf("apple price: %w", err)
	}
	price, err := gorgonia.Mul(applePrice, tax)
	if err != nil {
		return fmt.Errorf("price: %w", err)
	}
	grads, err := gorgonia.Grad(price, apple, appleNum, tax)
	if err != nil {
		return fmt.Errorf("backward: %w", err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	v := func(n *gorgonia.Node) float64 { return n.Value().Data().(float64) }
	// The book prints int(price), dapple, int(dapple_num), dtax.
	rows := []bookex.Row{
		{Name: "price", Book: "220", Tapenet: bookex.PyInt(v(price))},
		{Name: "dApple", Book: "2.2", Tapenet: bookex.Shortest(v(grads[0]))},
		{Name: "dApple_num", Book: "110", Tapenet: bookex.PyInt(v(grads[1]))},
		{Name: "dTax", Book: "200", Tapenet: bookex.Shortest(v(grads[2]))},
	}
	fmt.Fprintln(stdout, "ch05 buy_apple: price = apple × apple_num × tax (100, 2, 1.1), Gorgonia float64")
	if err := bookex.WriteTable(stdout, bookex.Row{Name: "", Book: "book (its script prints)", Tapenet: "tapenet (Gorgonia)"}, rows); err != nil {
		return err
	}
	for _, r := range rows {
		if r.Book != r.Tapenet {
			return fmt.Errorf("%s: tapenet gives %s, the book %s", r.Name, r.Tapenet, r.Book)
		}
	}
	return nil
}
