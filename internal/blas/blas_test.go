package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// gemmCase runs Sgemm and SgemmRef on the same random inputs, with every leading dimension pad
// wider than its row, and compares them.
func gemmCase(t *testing.T, rng *rand.Rand, transA, transB bool, m, n, k, pad int, alpha, beta float32) {
	t.Helper()
	ar, ac := dims(transA, m, k)
	br, bc := dims(transB, k, n)
	lda, ldb, ldc := max(1, ac)+pad, max(1, bc)+pad, max(1, n)+pad
	a := newMat(rng, ar, ac, lda)
	b := newMat(rng, br, bc, ldb)
	c := newMat(rng, m, n, ldc)
	a0, b0, c0 := slices.Clone(a), slices.Clone(b), slices.Clone(c)
	want := slices.Clone(c)
	SgemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
	Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	checkClose(t, c, want, c0, m, n, ldc, k)
	if !slices.Equal(a, a0) || !slices.Equal(b, b0) {
		t.Errorf("Sgemm modified a or b")
	}
}

func TestSgemm(t *testing.T) {
	sizes := []int{1, 3, 17, 64, 129}
	scalars := []struct {
		name        string
		alpha, beta float32
	}{
		{name: "alpha=1,beta=0", alpha: 1, beta: 0},
		{name: "alpha=-0.5,beta=1", alpha: -0.5, beta: 1},
		{name: "alpha=2,beta=0.25", alpha: 2, beta: 0.25},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, transA := range []bool{false, true} {
		for _, transB := range []bool{false, true} {
			t.Run(fmt.Sprintf("transA=%v,transB=%v", transA, transB), func(t *testing.T) {
				for _, m := range sizes {
					for _, n := range sizes {
						for _, k := range sizes {
							for _, pad := range []int{0, 5} {
								for _, s := range scalars {
									name := fmt.Sprintf("m=%d,n=%d,k=%d,ldpad=%d,%s", m, n, k, pad, s.name)
									t.Run(name, func(t *testing.T) {
										gemmCase(t, rng, transA, transB, m, n, k, pad, s.alpha, s.beta)
									})
								}
							}
						}
					}
				}
			})
		}
	}
}

// TestSgemmBetaZero checks that beta = 0 overwrites C without reading it, as BLAS specifies:
// NaN and Inf already in C must not leak into the result.
func TestSgemmBetaZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const m, n, k = 5, 7, 9
	a := newMat(rng, m, k, k)
	b := newMat(rng, k, n, n)
	want := make([]float32, m*n)
	SgemmRef(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	c := make([]float32, m*n)
	for i := range c {
		c[i] = float32(math.NaN())
		if i%2 == 1 {
			c[i] = float32(math.Inf(1))
		}
	}
	Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
	checkClose(t, c, want, c, m, n, n, k)
}

// TestSgemmEmpty checks the degenerate sizes: m or n of 0 touches nothing, even with nil
// slices, and k of 0 scales C by beta.
func TestSgemmEmpty(t *testing.T) {
	tests := []struct {
		name    string
		m, n, k int
		beta    float32
		c, want []float32
	}{
		{name: "m=0", m: 0, n: 3, k: 2, beta: 0, c: nil, want: nil},
		{name: "n=0", m: 3, n: 0, k: 2, beta: 0, c: []float32{7}, want: []float32{7}},
		{name: "k=0,beta=2", m: 1, n: 3, k: 0, beta: 2, c: []float32{1, 2, 3}, want: []float32{2, 4, 6}},
		{name: "k=0,beta=0", m: 1, n: 3, k: 0, beta: 0, c: []float32{1, 2, 3}, want: []float32{0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range []struct {
				name string
				gemm func(bool, bool, int, int, int, float32, []float32, int, []float32, int, float32, []float32, int)
			}{{"Sgemm", Sgemm}, {"SgemmRef", SgemmRef}} {
				c := slices.Clone(tt.c)
				f.gemm(false, false, tt.m, tt.n, tt.k, 1, nil, max(1, tt.k), nil, max(1, tt.n), tt.beta, c, max(1, tt.n))
				if !slices.Equal(c, tt.want) {
					t.Errorf("%s: c = %v, want %v", f.name, c, tt.want)
				}
			}
		})
	}
}

func TestSgemmPanics(t *testing.T) {
	s := make([]float32, 12) // room for 3×4
	tests := []struct {
		name string
		want string
		call func()
	}{
		{name: "negative m", want: "m = -1", call: func() { Sgemm(false, false, -1, 4, 4, 1, s, 4, s, 4, 0, s, 4) }},
		{name: "negative k", want: "k = -2", call: func() { Sgemm(false, false, 3, 4, -2, 1, s, 4, s, 4, 0, s, 4) }},
		{name: "lda too small", want: "lda = 3", call: func() { Sgemm(false, false, 3, 4, 4, 1, s, 3, s, 4, 0, s, 4) }},
		{name: "lda too small transposed", want: "lda = 2", call: func() { Sgemm(true, false, 3, 4, 4, 1, s, 2, s, 4, 0, s, 4) }},
		{name: "ldb too small transposed", want: "ldb = 3", call: func() { Sgemm(false, true, 3, 4, 4, 1, s, 4, s, 3, 0, s, 4) }},
		{name: "ldc too small", want: "ldc = 3", call: func() { Sgemm(false, false, 3, 4, 4, 1, s, 4, s, 4, 0, s, 3) }},
		{name: "ld zero", want: "ldc = 0", call: func() { Sgemm(false, false, 0, 0, 0, 1, nil, 1, nil, 1, 0, nil, 0) }},
		{name: "short a", want: "len(a) = 12, want ≥ 15", call: func() { Sgemm(false, false, 3, 4, 5, 1, s, 5, make([]float32, 20), 4, 0, s, 4) }},
		{name: "short b", want: "len(b) = 12, want ≥ 16", call: func() { Sgemm(false, false, 3, 4, 4, 1, s, 4, s, 4, 0, make([]float32, 12), 4) }},
		{name: "short c", want: "len(c) = 12, want ≥ 16", call: func() { Sgemm(false, false, 3, 4, 4, 1, s, 4, make([]float32, 16), 4, 0, s, 6) }},
		{name: "short b transposed", want: "len(b) = 12, want ≥ 20", call: func() { Sgemm(false, true, 3, 5, 4, 1, s, 4, s, 4, 0, make([]float32, 15), 5) }},
		{name: "ref short c", want: "SgemmRef: len(c)", call: func() { SgemmRef(false, false, 3, 4, 4, 1, s, 4, make([]float32, 16), 4, 0, s, 6) }},
		{name: "too large", want: "exceeds the 32-bit", call: func() { Sgemm(false, false, math.MaxInt32+1, 1, 1, 1, nil, 1, nil, 1, 0, nil, 1) }},
		{name: "gemv short x", want: "len(x) = 2, want ≥ 4", call: func() { Sgemv(false, 3, 4, 1, s, 4, s[:2], 1, 0, s, 1) }},
		{name: "gemv short y transposed", want: "len(y) = 3, want ≥ 4", call: func() { Sgemv(true, 3, 4, 1, s, 4, s, 1, 0, s[:3], 1) }},
		{name: "gemv zero inc", want: "incY = 0", call: func() { Sgemv(false, 3, 4, 1, s, 4, s, 1, 0, s, 0) }},
		{name: "axpy short y strided", want: "len(y) = 12, want ≥ 13", call: func() { Saxpy(5, 1, s, 1, s, 3) }},
		{name: "dot negative inc", want: "incX = -1", call: func() { Sdot(3, s, -1, s, 1) }},
		{name: "threads zero", want: "n = 0", call: func() { SetThreads(0) }},
		{name: "peak zero", want: "n = 0", call: func() { PeakGFLOPS(0, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.want, tt.call) })
	}
}

func TestCoreNameIsReported(t *testing.T) {
	if name := CoreName(); strings.TrimSpace(name) == "" {
		t.Fatal("OpenBLAS reported no core name")
	} else {
		t.Logf("OpenBLAS kernels: %s", name)
	}
}
