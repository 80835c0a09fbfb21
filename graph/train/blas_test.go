package train

// The tests run on tapenet's Sgemm, as the commands do.
import _ "github.com/tapenet/tapenet/blas"
