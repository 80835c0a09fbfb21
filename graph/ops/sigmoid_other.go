//go:build !amd64

package ops

// sigmoidSlice sets dst[i] = sigmoid(src[i]).
func sigmoidSlice(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = sigmoid32(v)
	}
}
