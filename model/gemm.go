package model

import (
	"runtime"
	"sync"

	"github.com/vrlaif/vrlaif/internal/blas"
)

// The model runs OpenBLAS single-threaded and spreads work over goroutines itself. OpenBLAS's own
// worker threads spin for a long while after every call (2^28 cycles by default), and that
// spinning takes the cores from the element-wise work between products: measured on the small
// model's training step, element-wise time fell from 45 to 26 ms and the step from 185 to 150 ms
// once the workers slept (OPENBLAS_THREAD_TIMEOUT=4, which must be set before the process starts,
// so it cannot be the fix). Splitting the rows of each product over goroutines recovers the
// parallelism without the spinning.
var singleThreaded sync.Once

func initCompute() { singleThreaded.Do(func() { blas.SetThreads(1) }) }

// gemm is blas.Sgemm (row-major C = alpha·op(A)·op(B) + beta·C) with the m rows of C split into
// one block per CPU when the product is large enough to pay for the goroutines.
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	initCompute()
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || m < 64 || m*n*k < 1<<20 {
		blas.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	chunk := (m + workers - 1) / workers
	var wg sync.WaitGroup
	for i0 := 0; i0 < m; i0 += chunk {
		rows := min(chunk, m-i0)
		// Rows i0.. of op(A): rows of A, or columns of A when it is transposed.
		sub := a[i0*lda:]
		if transA {
			sub = a[i0:]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			blas.Sgemm(transA, transB, rows, n, k, alpha, sub, lda, b, ldb, beta, c[i0*ldc:], ldc)
		}()
	}
	wg.Wait()
}
