package model

import (
	"math"
	"runtime"
	"sync"
)

// expf is e^x in float32 with about 2 ulp of error over the range that matters (|x| < 87), at a
// fraction of math.Exp's cost: x·log2(e) = n + f with |f| ≤ ½, 2^f by a degree-6 polynomial
// (Taylor coefficients of 2^f, truncation error < 2e-8 relative on |f| ≤ ½), 2^n by building the
// float's exponent bits. Results under the float32 range flush to 0; above it, +Inf.
func expf(x float32) float32 {
	switch {
	case x > 88.7:
		return float32(math.Inf(1))
	case x < -87.3:
		return 0
	}
	t := float64(x) * 1.4426950408889634 // log2(e); in float64 so that large |x| keep f exact
	n := float64(int64(t+256.5) - 256)   // round to nearest: t+256.5 > 0, so truncation is floor
	f := float32(t - n)
	// 2^f = e^(f·ln2)
	p := float32(1.5403530393381606e-04)
	p = p*f + 1.3333558146428443e-03
	p = p*f + 9.618129107628477e-03
	p = p*f + 5.550410866482158e-02
	p = p*f + 2.4022650695910072e-01
	p = p*f + 6.931471805599453e-01
	p = p*f + 1
	if n > 127 { // 2^128 is not a float32; the product is (x ≤ 88.7 keeps it finite)
		p *= 2
		n--
	}
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// sigmoidf is 1/(1+e^−x) through expf.
func sigmoidf(x float32) float32 { return 1 / (1 + expf(-x)) }

// tanhf is tanh through expf: 1 − 2/(e^(2x)+1), saturated beyond |x| > 9 where it is ±1 in float32.
func tanhf(x float32) float32 {
	if x > 9 {
		return 1
	}
	if x < -9 {
		return -1
	}
	return 1 - 2/(expf(2*x)+1)
}

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
