package blas

// SgemmRef is a naive pure-Go Sgemm with the same arguments, checks and semantics: for each
// element, c[i*ldc+j] = alpha·Σ_l opA(i,l)·opB(l,j) + beta·c[i*ldc+j], the sum taken in float32
// in order l = 0..k-1, and c set to the product alone (not read) when beta is 0. It is the
// reference the tests hold Sgemm to, and is far too slow for training.
func SgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm("SgemmRef", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	for i := range m {
		for j := range n {
			var sum float32
			for l := range k {
				var av, bv float32
				if transA {
					av = a[l*lda+i]
				} else {
					av = a[i*lda+l]
				}
				if transB {
					bv = b[j*ldb+l]
				} else {
					bv = b[l*ldb+j]
				}
				sum += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * sum
			} else {
				c[i*ldc+j] = alpha*sum + beta*c[i*ldc+j]
			}
		}
	}
}
