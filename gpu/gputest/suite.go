// Package gputest is the conformance suite for gpu.Device implementations (gonum testblas style):
// gpu/cpu_test.go runs it on gpu.CPU, and a CUDA device's test runs the same functions.
//
//	func TestPPO(t *testing.T) { gputest.PPO(t, gpu.CPU{}) }
//
// The suite checks a device against the independent golden values in testdata/golden.json (a copy
// of shared/testdata/ppo/golden.json), against hand-computed cases, against finite differences,
// and against gpu.CPU on random inputs, writing outputs into guard-padded slices to catch writes
// past the end.
package gputest

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/gpu"
)

// PPO runs every PPO check on d.
func PPO(t *testing.T, d gpu.Device) {
	t.Run("Golden", func(t *testing.T) { Golden(t, d) })
	t.Run("KL", func(t *testing.T) { KL(t, d) })
	t.Run("ShapeRewards", func(t *testing.T) { ShapeRewards(t, d) })
	t.Run("GAE", func(t *testing.T) { GAE(t, d) })
	t.Run("Whiten", func(t *testing.T) { Whiten(t, d) })
	t.Run("PolicyLoss", func(t *testing.T) { PolicyLoss(t, d) })
	t.Run("ValueLoss", func(t *testing.T) { ValueLoss(t, d) })
	t.Run("NonPadMean", func(t *testing.T) { NonPadMean(t, d) })
	t.Run("Gradients", func(t *testing.T) { Gradients(t, d) })
	t.Run("Accumulate", func(t *testing.T) { Accumulate(t, d) })
	t.Run("MatchesCPU", func(t *testing.T) { MatchesCPU(t, d) })
	t.Run("Panics", func(t *testing.T) { Panics(t, d) })
}

// Tol accepts |got − want| ≤ Atol + Rtol·|want| (llm.c validate_result).
type Tol struct{ Atol, Rtol float64 }

func (tol Tol) ok(got, want float64) bool {
	return math.Abs(got-want) <= tol.Atol+tol.Rtol*math.Abs(want)
}

// Float32 tolerances. u = 2⁻²⁴ ≈ 6e-8 is float32's unit roundoff. The worst-case error of a
// float32 sum of n terms is about n·u·Σ|terms|; the suite's shapes have n ≤ 48 per reduction in the
// exact tests, so n·u ≤ 3e-6 relative to the size of the terms. In every checked quantity the
// terms are at most a few times the result or O(1) (policy-loss terms are |Â·ρ| ≲ 3), so
// Atol = Rtol = 1e-5 leaves a margin of 3× or more over the worst case for a device that
// accumulates in float32, and far more for one that accumulates in float64 like gpu.CPU (whose
// only errors are the float32 rounding of inputs and outputs, ≈ u relative).
var exact = Tol{Atol: 1e-5, Rtol: 1e-5}

// Random comparisons with gpu.CPU reduce over up to B·T = 296 elements: n·u ≈ 2e-5, so 1e-4.
var loose = Tol{Atol: 1e-4, Rtol: 1e-4}

// check reports got against want element by element: the max abs diff and the first few
// mismatches. NaN or Inf in want is skipped (llm.c, STYLE §F.4).
func check(t *testing.T, name string, got []float32, want []float64, tol Tol) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d values, want %d", name, len(got), len(want))
		return math.Inf(1)
	}
	var maxDiff float64
	var bad []string
	for i := range want {
		w, g := want[i], float64(got[i])
		if math.IsNaN(w) || math.IsInf(w, 0) {
			continue
		}
		d := math.Abs(g - w)
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		maxDiff = max(maxDiff, d)
		if !tol.ok(g, w) {
			if len(bad) < 5 {
				bad = append(bad, fmt.Sprintf("[%d] got %.9g want %.9g (diff %.3g)", i, g, w, d))
			} else if len(bad) == 5 {
				bad = append(bad, "…")
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("%s: outside atol %g + rtol %g·|want| (max |diff| %.3g):\n  %s",
			name, tol.Atol, tol.Rtol, maxDiff, strings.Join(bad, "\n  "))
	}
	return maxDiff
}

// checkScalar is check for one value.
func checkScalar(t *testing.T, name string, got float32, want float64, tol Tol) float64 {
	t.Helper()
	return check(t, name, []float32{got}, []float64{want}, tol)
}

// guard fills the cells around outputs; no correct output in the suite takes this value.
const guard = float32(-12345.678)

const guardLen = 16

// out is an output slice with guardLen guard cells before and after it in the same backing array
// (gonum): S is what the device gets, Check fails the test if a guard cell changed.
type out struct {
	S   []float32
	buf []float32
}

// guarded returns an output of n elements filled with fill.
func guarded(n int, fill float32) out {
	buf := make([]float32, n+2*guardLen)
	for i := range buf {
		buf[i] = guard
	}
	s := buf[guardLen : guardLen+n]
	for i := range s {
		s[i] = fill
	}
	return out{S: s, buf: buf}
}

// Check fails t if a guard cell around o.S changed.
func (o out) Check(t *testing.T, name string) {
	t.Helper()
	n := len(o.S)
	for i, v := range o.buf {
		if (i < guardLen || i >= guardLen+n) && v != guard {
			t.Errorf("%s: wrote outside the output at offset %d: %g", name, i-guardLen, v)
			return
		}
	}
}

// must fails t on a device error.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("device error: %v", err)
	}
}

// f32 converts to float32; f64 the other way.
func f32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// flat concatenates rows.
func flat(rows [][]float64) []float64 {
	var out []float64
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// mustPanic fails t unless f panics with a "gpu: " message.
func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("%s: no panic", name)
			return
		}
		if s := fmt.Sprint(r); !strings.HasPrefix(s, "gpu: ") {
			t.Errorf("%s: panic %q lacks the gpu: prefix", name, s)
		}
	}()
	f()
}

// Panics checks that bad shapes are programmer errors (panics), not silent reads.
func Panics(t *testing.T, d gpu.Device) {
	p := gpu.SeedParams()
	x := make([]float32, 6)
	short := make([]float32, 5)
	lens := []int32{3, 3}
	mustPanic(t, "KL short dst", func() { _ = d.KL(short, x, x, lens, 2, 3) })
	mustPanic(t, "KL length > T", func() { _ = d.KL(x, x, x, []int32{3, 4}, 2, 3) })
	mustPanic(t, "KL negative length", func() { _ = d.KL(x, x, x, []int32{-1, 0}, 2, 3) })
	mustPanic(t, "KL short lengths", func() { _ = d.KL(x, x, x, []int32{3}, 2, 3) })
	mustPanic(t, "ShapeRewards short score", func() {
		_ = d.ShapeRewards(x, x, []float32{1}, []bool{true, true}, lens, p.Reward, 2, 3)
	})
	mustPanic(t, "GAE short values", func() { _ = d.GAE(x, x, x, short, 1, 1, 2, 3) })
	mustPanic(t, "Whiten short x", func() { _, _, _ = d.Whiten(x, short, 1e-8, 6) })
	mustPanic(t, "PolicyLossForward short adv", func() { _, _ = d.PolicyLossForward(x, x, short, lens, p.Loss, 2, 3) })
	mustPanic(t, "PolicyLossBackward short dlogp", func() { _ = d.PolicyLossBackward(short, x, x, x, lens, 1, p.Loss, 2, 3) })
	mustPanic(t, "ValueLossForward short ret", func() { _, _ = d.ValueLossForward(x, x, short, lens, p.Loss, 2, 3) })
	mustPanic(t, "ValueLossBackward short dv", func() { _ = d.ValueLossBackward(short, x, x, x, lens, 1, p.Loss, 2, 3) })
}
