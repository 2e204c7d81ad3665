package model

import (
	"runtime"
	"sync"

	"github.com/vrlaif/vrlaif/internal/vecmath"
)

// expf, sigmoidf and tanhf are the scalar float32 functions of package vecmath (about 2 ulp; see
// vecmath.Expf), whose slice kernels the hot loops use.
func expf(x float32) float32     { return vecmath.Expf(x) }
func sigmoidf(x float32) float32 { return vecmath.Sigmoidf(x) }
func tanhf(x float32) float32    { return vecmath.Tanhf(x) }

// parallel splits [0, n) into one contiguous chunk per CPU and runs fn on each concurrently when n
// is large enough to pay for the goroutines; otherwise it runs fn(0, n) inline. The BLAS threads
// are idle while element-wise work runs, so this uses the cores they leave free.
func parallel(n int, fn func(lo, hi int)) { parallelRows(n, 1, fn) }

// parallelRows is parallel over n rows of the given width (the work per row).
func parallelRows(n, width int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || n < 2 || n*width < 16384 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(n, lo+chunk)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
