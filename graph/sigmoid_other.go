//go:build !amd64

package graph

// sigmoidSlice sets dst[i] = sigmoid(src[i]).
func sigmoidSlice(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = sigmoid32(v)
	}
}
