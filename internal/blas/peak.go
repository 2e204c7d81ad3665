package blas

import (
	"fmt"
	"time"
)

// PeakGFLOPS measures Sgemm throughput on square n×n matrices for about d (at least two calls
// after one warm-up call) with the current Threads setting, and returns GFLOP/s counted as
// 2·n³ per call. Training reports its FLOP utilization against this figure measured in the
// same process. It allocates three n×n matrices and panics if n < 1.
func PeakGFLOPS(n int, d time.Duration) float64 {
	if n < 1 {
		panic(fmt.Sprintf("blas.PeakGFLOPS: n = %d, want ≥ 1", n))
	}
	a := make([]float32, n*n)
	b := make([]float32, n*n)
	c := make([]float32, n*n)
	for i := range a {
		a[i] = float32(i%7) - 3
		b[i] = float32(i%5) - 2
	}
	Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n) // warm up the thread pool and caches
	iters := 0
	start := time.Now()
	for iters < 2 || time.Since(start) < d {
		Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
		iters++
	}
	sec := time.Since(start).Seconds()
	return 2 * float64(n) * float64(n) * float64(n) * float64(iters) / sec / 1e9
}
