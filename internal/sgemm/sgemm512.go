package sgemm

const (
	mr512 = 8   // rows of the AVX-512 micro-tile
	nr512 = 32  // columns of the AVX-512 micro-tile (two ZMM registers)
	nc512 = 512 // columns of B packed per block: kc·nc512 floats (512 KiB) stay in L2
)

// multiply512 adds alpha·op(A)·op(B) to the block rows [i0, i1) × columns
// [j0, j1) of C with the 8×32 AVX-512 kernel. Depth is cut in blocks of kc
// as in multiply, and each element's sum per block is the same FMA chain,
// so both give the same bits. A is read in place (any transpose) for whole
// 8-row tiles and packed only for the last, partial one; B is read in place
// when its rows are contiguous and few row tiles reuse a panel, and packed
// otherwise.
func multiply512(ta, tb bool, i0, i1, j0, j1, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if i1-i0 == 1 && !tb {
		// One row (a one-sample batch): independent FMA chains along the
		// row of B, 256 or 128 columns at a time, then up to 64 with masks.
		for k0 := 0; k0 < k; k0 += kc {
			kb := min(kc, k-k0)
			ap, ks := a[i0*lda+k0:], 1
			if ta {
				ap, ks = a[k0*lda+i0:], lda
			}
			j := j0
			for ; j+256 <= j1; j += 256 {
				rowWide512(kb, ap, ks, b[k0*ldb+j:], ldb, c[i0*ldc+j:], alpha)
			}
			for ; j+128 <= j1; j += 128 {
				row512(kb, ap, ks, b[k0*ldb+j:], ldb, c[i0*ldc+j:], alpha)
			}
			for ; j < j1; j += 64 {
				rowTail512(kb, ap, ks, b[k0*ldb+j:], ldb, c[i0*ldc+j:], alpha, min(64, j1-j))
			}
		}
		return
	}
	buf := pool.Get().(*buffers)
	defer pool.Put(buf)
	// Packing a panel costs about what one row tile's pass over it does.
	// Rows of B one or two cache lines long (ldb <= 32) are read
	// sequentially in place anyway, and rows exactly one panel wide are
	// the packed layout already: those are never packed.
	pack := tb || (i1-i0) >= 4*mr512 && ldb > nr512
	for k0 := 0; k0 < k; k0 += kc {
		kb := min(kc, k-k0)
		// inPlace reports whether the panel at column j (jb columns) is
		// read from B itself: a whole one, or the last, partial one when b
		// has room for 32 columns of its last row (the columns past jb are
		// other values of b, whose sums the kernel's mask leaves unstored).
		inPlace := func(j, jb int) bool {
			return !pack && (jb == nr512 || (k0+kb-1)*ldb+j+nr512 <= len(b))
		}
		for jc := j0; jc < j1; jc += nc512 {
			jn := min(jc+nc512, j1)
			npanels := (jn - jc + nr512 - 1) / nr512
			buf.b = grow(buf.b, npanels*nr512*kb)
			for p := 0; p < npanels; p++ {
				if j := jc + p*nr512; !inPlace(j, min(nr512, jn-j)) {
					packPanel(tb, buf.b[p*nr512*kb:(p+1)*nr512*kb], nr512, b, ldb, k0, kb, j, min(nr512, jn-j))
				}
			}
			for i := i0; i < i1; i += mr512 {
				ib := min(mr512, i1-i)
				var ap []float32
				var rs, ks int
				switch {
				case ib < mr512:
					buf.a = grow(buf.a, mr512*kb)
					packRows(ta, buf.a, mr512, a, lda, i, ib, k0, kb)
					ap, rs, ks = buf.a, 1, mr512
				case ta:
					ap, rs, ks = a[k0*lda+i:], 1, lda
				default:
					ap, rs, ks = a[i*lda+k0:], lda, 1
				}
				for p := 0; p < npanels; p++ {
					j := jc + p*nr512
					jb := min(nr512, jn-j)
					bp, bld := buf.b[p*nr512*kb:], nr512
					if inPlace(j, jb) {
						bp, bld = b[k0*ldb+j:], ldb
					}
					tile512(kb, ap, rs, ks, bp, bld, c[i*ldc+j:], ldc, alpha, ib, jb)
				}
			}
		}
	}
}
