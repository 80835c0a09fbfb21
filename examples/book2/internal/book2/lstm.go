package book2

// LSTMGates turns one of the book's LSTM matrices (common/time_layers.py:
// Wx (in, 4H) or Wh (H, 4H), gate blocks f, g, i, o along the columns; the
// bias b (4H) with in = 1) into graph.LSTM's PyTorch layout: weight_ih
// (4H, in) or weight_hh (4H, H), blocks i, f, g, o along the rows.
func LSTMGates(w []float32, in, h int) []float32 {
	out := make([]float32, 4*h*in)
	src := [4]int{2, 0, 1, 3} // PyTorch's i, f, g, o in the book's f, g, i, o
	for gi, sg := range src {
		for k := 0; k < h; k++ {
			row := out[(gi*h+k)*in : (gi*h+k+1)*in]
			for j := 0; j < in; j++ {
				row[j] = w[j*4*h+sg*h+k]
			}
		}
	}
	return out
}

// BookLSTMGates is LSTMGates' inverse: graph.LSTM's (4H, in) matrix with
// blocks i, f, g, o along its rows back into the book's (in, 4H) with
// blocks f, g, i, o along its columns (in = 1 for a bias).
func BookLSTMGates(w []float32, in, h int) []float32 {
	out := make([]float32, 4*h*in)
	src := [4]int{2, 0, 1, 3}
	for gi, sg := range src {
		for k := 0; k < h; k++ {
			for j := 0; j < in; j++ {
				out[j*4*h+sg*h+k] = w[(gi*h+k)*in+j]
			}
		}
	}
	return out
}
