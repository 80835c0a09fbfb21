// Command ch05_buy_apple_orange is the book's ch05/buy_apple_orange.py as a
// Gorgonia graph: 2 apples at 100 and 3 oranges at 150 with 10% tax,
// forward, and the derivative of the price with respect to every input,
// backward (gorgonia.Grad), printed beside the book's numbers.
//
//	go run ./examples/book/ch05_buy_apple_orange
package main

import (
	"fmt"
	"io"

	"github.com/tapenet/tapenet/cli"
	"github.com/tapenet/tapenet/examples/book/internal/bookex"
	"gorgonia.org/gorgonia"
)

const usage = `
ch05_buy_apple_orange: the book's apple-and-orange computational graph
(section 5.5.3) built and differentiated with Gorgonia.

Usage:
  go run ./examples/book/ch05_buy_apple_orange
`

func main() { cli.Main("ch05_buy_apple_orange", run) }

func run(args []string, stdout, _ io.Writer) error {
	fs := cli.NewFlags("ch05_buy_apple_orange", usage, stdout)
	if err := fs.Parse(args); err != nil {
		return err
	}
	g := gorgonia.NewGraph()
	scalar := func(name string, v float64) *gorgonia.Node {
		return gorgonia.NewScalar(g, gorgonia.Float64, gorgonia.WithName(name), gorgonia.WithValue(v))
	}
	apple, appleNum := scalar("apple", 100), scalar("apple_num", 2)
	orange, orangeNum := scalar("orange", 150), scalar("orange_num", 3)
	tax := scalar("tax", 1.1)
	// The book's layers: two MulLayers, an AddLayer, a MulLayer for the tax.
	var price *gorgonia.Node
	err := func() (err error) {
		applePrice, err := gorgonia.Mul(apple, appleNum)
		if err != nil {
			return err
		}
		orangePrice, err := gorgonia.Mul(orange, orangeNum)
		if err != nil {
			return err
		}
		all, err := gorgonia.Add(applePrice, orangePrice)
		if err != nil {
			return err
		}
		price, err = gorgonia.Mul(all, tax)
		return err
	}()
	if err != nil {
		return fmt.Errorf("forward graph: %w", err)
	}
	grads, err := gorgonia.Grad(price, apple, appleNum, orange, orangeNum, tax)
	if err != nil {
		return fmt.Errorf("backward: %w", err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	v := func(n *gorgonia.Node) float64 { return n.Value().Data().(float64) }
	// The book's script prints int(price), dapple, int(dapple_num), dorange,
	// int(dorange_num), dtax; its text rounds dOrange to 3.3.
	rows := []bookex.Row{
		{Name: "price", Book: "715", Tapenet: bookex.PyInt(v(price))},
		{Name: "dApple", Book: "2.2", Tapenet: bookex.Shortest(v(grads[0]))},
		{Name: "dApple_num", Book: "110", Tapenet: bookex.PyInt(v(grads[1]))},
		{Name: "dOrange", Book: "3.3000000000000003", Tapenet: bookex.Shortest(v(grads[2]))},
		{Name: "dOrange_num", Book: "165", Tapenet: bookex.PyInt(v(grads[3]))},
		{Name: "dTax", Book: "650", Tapenet: bookex.Shortest(v(grads[4]))},
	}
	fmt.Fprintln(stdout, "ch05 buy_apple_orange: price = (apple × apple_num + orange × orange_num) × tax (100, 2, 150, 3, 1.1), Gorgonia float64")
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
