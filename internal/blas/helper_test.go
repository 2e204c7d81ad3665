package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// guard is the number of sentinel elements after each matrix or vector, and sentinel their value;
// a kernel that writes outside its matrix changes one (gonum's guard-padded slices).
const (
	guard    = 8
	sentinel = float32(-12345.5)
)

// newMat returns a rows×cols matrix with leading dimension ld, filled with values in [-1, 1), with
// the padding after each row and the guard after the last row set to sentinel.
func newMat(rng *rand.Rand, rows, cols, ld int) []float32 {
	s := make([]float32, max(0, (rows-1)*ld+cols)+guard)
	for i := range s {
		s[i] = sentinel
	}
	for i := range rows {
		for j := range cols {
			s[i*ld+j] = 2*rng.Float32() - 1
		}
	}
	return s
}

// newVec returns a vector of n elements with stride inc, the gaps and guard set to sentinel.
func newVec(rng *rand.Rand, n, inc int) []float32 {
	return newMat(rng, n, 1, inc)
}

// gemmTol is the allowed |got−want| for one element of a product with inner dimension k. Float32
// has a unit roundoff of 2⁻²⁴ ≈ 6e-8, and the two sides sum the k products in different orders
// (OpenBLAS in blocked, FMA, vectorized order; SgemmRef left to right). Those rounding errors
// behave like a random walk, so the difference grows like sqrt(k) rather than k; 1e-4 leaves
// ample headroom over eps·sqrt(k)·|partial sums| for entries in [-1, 1), and the (1+|want|)
// factor makes it relative for large results and absolute near zero.
func gemmTol(want float32, k int) float64 {
	return 1e-4 * (1 + math.Abs(float64(want))) * math.Sqrt(float64(max(k, 1)))
}

// checkClose compares got with want element by element over a rows×cols matrix with leading
// dimension ld, reporting the largest difference and the first few mismatches, and checks that
// every element outside the matrix (row padding and guard) is unchanged from orig.
func checkClose(t *testing.T, got, want, orig []float32, rows, cols, ld, k int) {
	t.Helper()
	if len(got) != len(want) || len(got) != len(orig) {
		t.Fatalf("lengths differ: got %d, want %d, orig %d", len(got), len(want), len(orig))
	}
	var maxDiff float64
	var bad []string
	for i := range got {
		r, c := i/ld, i%ld
		if r >= rows || c >= cols {
			if got[i] != orig[i] {
				bad = append(bad, fmt.Sprintf("[%d] outside the matrix: %v, want unchanged %v", i, got[i], orig[i]))
			}
			continue
		}
		d := math.Abs(float64(got[i]) - float64(want[i]))
		maxDiff = max(maxDiff, d)
		if !(d <= gemmTol(want[i], k)) { // also catches NaN
			bad = append(bad, fmt.Sprintf("(%d,%d): got %v, want %v (diff %.3g, tol %.3g)", r, c, got[i], want[i], d, gemmTol(want[i], k)))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d mismatches, max diff %.3g; first: %v", len(bad), maxDiff, bad[:min(len(bad), 5)])
	}
}

// mustPanic calls f and fails unless it panics with a message containing want.
func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("did not panic, want a panic containing %q", want)
		}
		msg := fmt.Sprint(r)
		if !strings.Contains(msg, want) {
			t.Fatalf("panic %q, want it to contain %q", msg, want)
		}
	}()
	f()
}
