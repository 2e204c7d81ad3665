package model

import (
	"math"
	"runtime"
	"testing"

	"github.com/vrlaif/vrlaif/internal/vecmath"
)

// expf must be within 4 float32 ulps (relative 4·2^-23 ≈ 5e-7) of the exact value wherever the
// result is a normal float32 (x > −87.3 gives ≥ 2^−126; below about −80 results near the subnormal
// range lose bits, as float32 itself does): well inside what float32 training tolerates.
func TestExpfAccuracy(t *testing.T) {
	worst := 0.0
	for x := -80.0; x < 88.5; x += 0.0137 {
		got := float64(expf(float32(x)))
		want := math.Exp(float64(float32(x)))
		rel := math.Abs(got-want) / want
		worst = math.Max(worst, rel)
		if rel > 5e-7 {
			t.Fatalf("expf(%g) = %g, want %g (rel %.2g)", x, got, want, rel)
		}
	}
	t.Logf("worst relative error %.3g", worst)
	if expf(-200) != 0 || !math.IsInf(float64(expf(200)), 1) {
		t.Error("expf does not saturate")
	}
	for _, x := range []float32{-20, -3, -0.5, 0, 0.1, 2, 8, 30} {
		if d := math.Abs(float64(tanhf(x)) - math.Tanh(float64(x))); d > 1e-6 {
			t.Errorf("tanhf(%g) off by %g", x, d)
		}
		if d := math.Abs(float64(vecmath.Sigmoidf(x)) - 1/(1+math.Exp(-float64(x)))); d > 1e-6 {
			t.Errorf("vecmath.Sigmoidf(%g) off by %g", x, d)
		}
	}
}

func TestParallelCoversEveryIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 100, 16384, 100001} {
		seen := make([]int32, n)
		parallel(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d: index %d visited %d times", n, i, c)
			}
		}
	}
}

// parallelChunks hands out chunks 0..chunksFor−1, each once, covering every row once, in order.
func TestParallelChunksNumbersItsChunks(t *testing.T) {
	for _, n := range []int{0, 1, 100, 16384, 100001} {
		k := chunksFor(n, 1)
		seen := make([]int32, n)
		starts := make([]int, k)
		calls := make([]int32, k)
		parallelChunks(n, 1, func(c, lo, hi int) {
			calls[c]++
			starts[c] = lo
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		for c := range calls {
			if calls[c] != 1 || (c > 0 && starts[c] <= starts[c-1]) {
				t.Fatalf("n=%d: chunk %d called %d times, starts %v", n, c, calls[c], starts)
			}
		}
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d: index %d visited %d times", n, i, c)
			}
		}
	}
}

// RMSNormBackward's weight gradient is the same, bit for bit, on every run (its partial sums are
// added in chunk order, not in the order the goroutines finish). Four workers and a gradient that
// already holds values (it accumulates) make a timing-dependent order show.
func TestRMSNormBackwardIsDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	const N, C = 4096, 64 // large enough to be split over goroutines
	x, dout, w := make([]float32, N*C), make([]float32, N*C), make([]float32, C)
	for i := range x {
		x[i], dout[i] = float32(math.Sin(float64(i))), float32(math.Cos(float64(3*i)))
	}
	for i := range w {
		w[i] = 1 + float32(i)/C
	}
	out, rstd := make([]float32, N*C), make([]float32, N)
	RMSNormForward(out, rstd, x, w, N, C, 1e-5)
	var first []float32
	for run := 0; run < 20; run++ {
		dx, dw := make([]float32, N*C), make([]float32, C)
		for i := range dw {
			dw[i] = 0.1 * float32(i)
		}
		RMSNormBackward(dx, dw, dout, x, w, rstd, N, C)
		if first == nil {
			first = dw
			continue
		}
		for i := range dw {
			if math.Float32bits(dw[i]) != math.Float32bits(first[i]) {
				t.Fatalf("run %d: dw[%d] = %g, first run %g", run, i, dw[i], first[i])
			}
		}
	}
}
