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
	gemmOn(runtime.GOMAXPROCS(0), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmOn is gemm with its rows split over at most workers goroutines.
func gemmOn(workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	initCompute()
	if workers < 2 || m < 64 || m*n*k < 1<<20 {
		blas.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	chunk := (m + workers - 1) / workers
	var wg sync.WaitGroup
	for i0 := 0; i0 < m; i0 += chunk {
		rows := min(chunk, m-i0)
		// Rows i0.. of op(A): rows of A, or columns of A when it is transposed.
		// (A transposed is [k, lda]: slicing it at row i0 would run past its end when k < m.)
		var sub []float32
		if transA {
			sub = a[i0:]
		} else {
			sub = a[i0*lda:]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			blas.Sgemm(transA, transB, rows, n, k, alpha, sub, lda, b, ldb, beta, c[i0*ldc:], ldc)
		}()
	}
	wg.Wait()
}

// gemmPair runs two independent products concurrently, each on half the CPUs: backward's input
// and weight gradients. Two whole products side by side run closer to twice one core's speed than
// one product split by rows, whose halves pack the same operand at the same moment and fight over
// the cache (measured on a 2048×1024×128 product, the small model's lm head: 1.25–1.4× one
// core's speed for the split, 1.8× for two independent streams). Each output is written by one product only, so the result does not depend on
// the scheduling.
func gemmPair(first, second func(workers int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 {
		first(1)
		second(1)
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		second(workers / 2)
	}()
	first(workers - workers/2)
	<-done
}
