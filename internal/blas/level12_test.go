package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// sgemvNaive is the definition of Sgemv written as loops, for the tests.
func sgemvNaive(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, incX int, beta float32, y []float32, incY int) {
	lenX, lenY := n, m
	if trans {
		lenX, lenY = m, n
	}
	for i := range lenY {
		var sum float32
		for j := range lenX {
			if trans {
				sum += a[j*lda+i] * x[j*incX]
			} else {
				sum += a[i*lda+j] * x[j*incX]
			}
		}
		if beta == 0 {
			y[i*incY] = alpha * sum
		} else {
			y[i*incY] = alpha*sum + beta*y[i*incY]
		}
	}
}

func TestSgemv(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tests := []struct {
		name        string
		m, n        int
		pad         int
		incX, incY  int
		alpha, beta float32
	}{
		{name: "1x1", m: 1, n: 1, incX: 1, incY: 1, alpha: 1},
		{name: "3x17", m: 3, n: 17, incX: 1, incY: 1, alpha: 1, beta: 0.5},
		{name: "129x64 padded strided", m: 129, n: 64, pad: 3, incX: 2, incY: 3, alpha: -1.5, beta: 1},
		{name: "64x129 strided", m: 64, n: 129, incX: 3, incY: 2, alpha: 0.5, beta: -2},
		{name: "x empty", m: 4, n: 0, incX: 1, incY: 1, alpha: 1, beta: 3},
		{name: "y empty", m: 0, n: 4, incX: 1, incY: 1, alpha: 1, beta: 3},
	}
	for _, tt := range tests {
		for _, trans := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/trans=%v", tt.name, trans), func(t *testing.T) {
				lenX, lenY := tt.n, tt.m
				if trans {
					lenX, lenY = tt.m, tt.n
				}
				lda := max(1, tt.n) + tt.pad
				a := newMat(rng, tt.m, tt.n, lda)
				x := newVec(rng, lenX, tt.incX)
				y := newVec(rng, lenY, tt.incY)
				y0 := slices.Clone(y)
				want := slices.Clone(y)
				sgemvNaive(trans, tt.m, tt.n, tt.alpha, a, lda, x, tt.incX, tt.beta, want, tt.incY)
				Sgemv(trans, tt.m, tt.n, tt.alpha, a, lda, x, tt.incX, tt.beta, y, tt.incY)
				checkClose(t, y, want, y0, lenY, 1, tt.incY, lenX)
			})
		}
	}
}

func TestSaxpySdot(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	tests := []struct {
		name       string
		n          int
		incX, incY int
		alpha      float32
	}{
		{name: "empty", n: 0, incX: 1, incY: 1, alpha: 2},
		{name: "one", n: 1, incX: 1, incY: 1, alpha: 2},
		{name: "contiguous", n: 129, incX: 1, incY: 1, alpha: -0.75},
		{name: "strided", n: 64, incX: 3, incY: 2, alpha: 1.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := newVec(rng, tt.n, tt.incX)
			y := newVec(rng, tt.n, tt.incY)
			var wantDot float32
			for i := range tt.n {
				wantDot += x[i*tt.incX] * y[i*tt.incY]
			}
			got := Sdot(tt.n, x, tt.incX, y, tt.incY)
			if d := math.Abs(float64(got - wantDot)); !(d <= gemmTol(wantDot, tt.n)) {
				t.Errorf("Sdot = %v, want %v", got, wantDot)
			}

			y0 := slices.Clone(y)
			want := slices.Clone(y)
			for i := range tt.n {
				want[i*tt.incY] += tt.alpha * x[i*tt.incX]
			}
			Saxpy(tt.n, tt.alpha, x, tt.incX, y, tt.incY)
			checkClose(t, y, want, y0, tt.n, 1, tt.incY, 1)
		})
	}
}

func TestThreads(t *testing.T) {
	orig := Threads()
	t.Cleanup(func() { SetThreads(orig) })
	if orig < 1 {
		t.Fatalf("Threads() = %d, want ≥ 1", orig)
	}
	for _, n := range []int{1, 2} {
		SetThreads(n)
		if got := Threads(); got != n {
			t.Errorf("after SetThreads(%d), Threads() = %d", n, got)
		}
	}
}

func TestPeakGFLOPS(t *testing.T) {
	if g := PeakGFLOPS(32, 10*time.Millisecond); !(g > 0) || math.IsInf(g, 0) {
		t.Errorf("PeakGFLOPS(32, 10ms) = %v, want a positive finite rate", g)
	}
}
