package ops

import _ "github.com/tapenet/tapenet/blas" // the BLAS the commands use
