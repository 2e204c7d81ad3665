package model

import (
	"math"
	"testing"
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
		if d := math.Abs(float64(sigmoidf(x)) - 1/(1+math.Exp(-float64(x)))); d > 1e-6 {
			t.Errorf("sigmoidf(%g) off by %g", x, d)
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
