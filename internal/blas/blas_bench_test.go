package blas

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// benchThreads is the set of OpenBLAS thread counts each benchmark runs with: 1, 2 and every CPU.
func benchThreads() []int {
	ts := []int{1, 2, runtime.NumCPU()}
	slices.Sort(ts)
	return slices.Compact(ts)
}

// gemmShape is one Sgemm call: C[m×n] = op(A)·op(B) with inner dimension k.
type gemmShape struct {
	name           string
	transA, transB bool
	m, n, k        int
}

// benchShapes are square sizes and the matmuls of one training step of a small transformer with
// 2048 tokens per step, width 256 and MLP width 1024, weights stored in×out (Y = X·W).
func benchShapes() []gemmShape {
	var shapes []gemmShape
	for _, n := range []int{64, 128, 256, 512, 1024} {
		shapes = append(shapes, gemmShape{name: fmt.Sprintf("square=%d", n), m: n, n: n, k: n})
	}
	const tokens, width, mlp = 2048, 256, 1024
	return append(shapes,
		gemmShape{name: "proj_fwd_2048x256x256", m: tokens, n: width, k: width},                    // Y = X·W
		gemmShape{name: "mlp_up_fwd_2048x1024x256", m: tokens, n: mlp, k: width},                   // H = X·W1
		gemmShape{name: "mlp_up_dX_2048x256x1024_NT", transB: true, m: tokens, n: width, k: mlp},   // dX = dH·W1ᵀ
		gemmShape{name: "mlp_up_dW_256x1024x2048_TN", transA: true, m: width, n: mlp, k: tokens},   // dW1 = Xᵀ·dH
		gemmShape{name: "proj_dW_256x256x2048_TN", transA: true, m: width, n: width, k: tokens},    // dW = Xᵀ·dY
		gemmShape{name: "mlp_down_fwd_2048x256x1024", m: tokens, n: width, k: mlp},                 // Y = H·W2
		gemmShape{name: "mlp_down_dW_1024x256x2048_TN", transA: true, m: mlp, n: width, k: tokens}, // dW2 = Hᵀ·dY
		gemmShape{name: "mlp_down_dH_2048x1024x256_NT", transB: true, m: tokens, n: mlp, k: width}, // dH = dY·W2ᵀ
	)
}

// BenchmarkSgemm reports GFLOP/s (2·m·n·k per call) for each shape and thread count.
func BenchmarkSgemm(b *testing.B) {
	orig := Threads()
	b.Cleanup(func() { SetThreads(orig) })
	rng := rand.New(rand.NewPCG(9, 10))
	for _, s := range benchShapes() {
		ar, ac := dims(s.transA, s.m, s.k)
		br, bc := dims(s.transB, s.k, s.n)
		x := newMat(rng, ar, ac, ac)
		y := newMat(rng, br, bc, bc)
		z := make([]float32, s.m*s.n)
		for _, th := range benchThreads() {
			b.Run(fmt.Sprintf("%s/threads=%d", s.name, th), func(b *testing.B) {
				SetThreads(th)
				for b.Loop() {
					Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, x, ac, y, bc, 0, z, s.n)
				}
				flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkSgemmRef is the naive reference at one small size, for scale.
func BenchmarkSgemmRef(b *testing.B) {
	const n = 128
	rng := rand.New(rand.NewPCG(11, 12))
	x, y, z := newMat(rng, n, n, n), newMat(rng, n, n, n), make([]float32, n*n)
	for b.Loop() {
		SgemmRef(false, false, n, n, n, 1, x, n, y, n, 0, z, n)
	}
	b.ReportMetric(2*n*n*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
