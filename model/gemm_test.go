package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vrlaif/vrlaif/internal/blas"
)

// gemmOn splits C's rows over as many goroutines as it is given, whatever this machine's CPU
// count: every layout, with fewer and more rows than the inner dimension, on row-strided operands
// (lda > the columns used, as for a column block of the fused q/k/v gradient). A 16-core GPU
// machine found the bug this guards: with A transposed and k < m, the row split sliced A as if
// it were not transposed and ran past its end (8 workers, m 512, k 210).
func TestGemmOnSplitsRowsInEveryLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = rng.Float32()*2 - 1
		}
		return x
	}
	for _, shape := range [][3]int{{512, 128, 210}, {210, 128, 512}, {300, 70, 300}} {
		m, n, k := shape[0], shape[1], shape[2]
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				// Row strides 3 past what each operand needs.
				lda, rowsA := k+3, m
				if tA {
					lda, rowsA = m+3, k
				}
				ldb, rowsB := n+3, k
				if tB {
					ldb, rowsB = k+3, n
				}
				ldc := n + 3
				a, b, c0 := fill(rowsA*lda), fill(rowsB*ldb), fill(m*ldc)
				want := append([]float32(nil), c0...)
				blas.SgemmRef(tA, tB, m, n, k, 0.5, a, lda, b, ldb, 0.25, want, ldc)
				for _, workers := range []int{1, 2, 3, 8, 16} {
					t.Run(fmt.Sprintf("%dx%dx%d/tA=%v/tB=%v/workers=%d", m, n, k, tA, tB, workers), func(t *testing.T) {
						got := append([]float32(nil), c0...)
						gemmOn(workers, tA, tB, m, n, k, 0.5, a, lda, b, ldb, 0.25, got, ldc)
						// Each element is a float32 sum of k products of values in [-1, 1], taken in
						// another order than the reference's: its rounding is within k·2⁻²⁴·Σ|a·b|
						// ≤ 512·6e-8·512 ≈ 1.6e-2 at worst and ~1e-4 typically; 1e-3 leaves room for
						// that and fails on any misplaced row (errors of order 1). The padding
						// between rows (columns n..ldc-1) must stay untouched.
						for i := range m {
							for j := range ldc {
								g, w := got[i*ldc+j], want[i*ldc+j]
								if j >= n {
									w = c0[i*ldc+j]
									if g != w {
										t.Fatalf("C[%d][%d] (padding) = %g, was %g", i, j, g, w)
									}
									continue
								}
								if math.Abs(float64(g-w)) > 1e-3 {
									t.Fatalf("C[%d][%d] = %g, want %g", i, j, g, w)
								}
							}
						}
					})
				}
			}
		}
	}
}
