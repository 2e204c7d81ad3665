package model

import (
	"runtime"
	"sync"

	"github.com/vrlaif/vrlaif/internal/vecmath"
)

// expf and tanhf are the scalar float32 functions of package vecmath (about 2 ulp; see
// vecmath.Expf), whose slice kernels the hot loops use.
func expf(x float32) float32  { return vecmath.Expf(x) }
func tanhf(x float32) float32 { return vecmath.Tanhf(x) }

// parallel splits [0, n) into one contiguous chunk per CPU and runs fn on each concurrently when n
// is large enough to pay for the goroutines; otherwise it runs fn(0, n) inline. The BLAS threads
// are idle while element-wise work runs, so this uses the cores they leave free.
func parallel(n int, fn func(lo, hi int)) { parallelRows(n, 1, fn) }

// parallelRows is parallel over n rows of the given width (the work per row).
func parallelRows(n, width int, fn func(lo, hi int)) {
	parallelChunks(n, width, func(_, lo, hi int) { fn(lo, hi) })
}

// chunksFor is how many chunks parallelChunks splits n rows of the given width into.
func chunksFor(n, width int) int {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || n < 2 || n*width < 16384 {
		return 1
	}
	chunk := (n + workers - 1) / workers
	return (n + chunk - 1) / chunk
}

// parallelChunks runs fn(k, lo, hi) on chunks k = 0..chunksFor(n, width)−1 of [0, n), concurrently
// when there is more than one. The chunk index lets a reduction keep one partial sum per chunk and
// add them in a fixed order, so the result does not depend on which goroutine finishes first.
func parallelChunks(n, width int, fn func(k, lo, hi int)) {
	chunks := chunksFor(n, width)
	if chunks == 1 {
		fn(0, 0, n)
		return
	}
	chunk := (n + chunks - 1) / chunks
	var wg sync.WaitGroup
	for k := 0; k < chunks; k++ {
		lo, hi := k*chunk, min(n, (k+1)*chunk)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(k, lo, hi)
		}()
	}
	wg.Wait()
}

// parallelSum runs fn(part, lo, hi) on parallelChunks's chunks of n rows, each chunk adding its
// rows' contribution into its own zeroed part (len(sum)), then adds the parts to sum in chunk
// order: a reduction over rows whose result does not depend on which goroutine finishes first.
func parallelSum(sum []float32, n, width int, fn func(part []float32, lo, hi int)) {
	m := len(sum)
	local := make([]float32, chunksFor(n, width)*m)
	parallelChunks(n, width, func(k, lo, hi int) { fn(local[k*m:(k+1)*m], lo, hi) })
	for k := 0; k*m < len(local); k++ {
		for i, v := range local[k*m : (k+1)*m] {
			sum[i] += v
		}
	}
}
