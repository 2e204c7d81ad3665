package gputest

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vrlaif/vrlaif/gpu"
)

// Gemm checks a KernelDevice's matrix products (Queue.Gemm) in every float32 mode it has (the
// sgemm kernel; cuBLAS in float32) against a float64 product: each transposition of A and B,
// sizes that leave partial tiles in m, n and k, leading dimensions wider than the matrices, beta
// 0 (C not read) and beta ≠ 0. The padding columns of C must keep their values (no write outside
// the product). Tolerance: sums (K = 37 terms of O(1): float32's error is about K·u·Σ|a·b| ≈ 1e-5).
func Gemm(t *testing.T, d *gpu.KernelDevice) {
	const M, N, K, pad = 70, 130, 37, 3
	rng := rand.New(rand.NewPCG(21, 22))
	for _, mode := range d.GemmModes() {
		if mode != "kernel" && mode != "cublas" {
			continue // tensor-core modes: devmodel's TestDecoderTensorCoresOnCUDA, with their own tolerance
		}
		if err := d.SetGemm(mode); err != nil {
			t.Fatal(err)
		}
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for _, beta := range []float32{0, 0.25} {
				t.Run(fmt.Sprintf("%s/transA=%v/transB=%v/beta=%v", mode, tr[0], tr[1], beta), func(t *testing.T) {
					gemmCase(t, d, rng, tr[0], tr[1], M, N, K, pad, 0.5, beta)
				})
			}
		}
	}
}

func gemmCase(t *testing.T, d *gpu.KernelDevice, rng *rand.Rand, transA, transB bool, M, N, K, pad int, alpha, beta float32) {
	// A is stored [M,K] or, transposed, [K,M]; likewise B; each row padded by pad.
	ar, ac := M, K
	if transA {
		ar, ac = K, M
	}
	br, bc := K, N
	if transB {
		br, bc = N, K
	}
	lda, ldb, ldc := ac+pad, bc+pad, N+pad
	a, b, c := rnd(rng, ar*lda, 1), rnd(rng, br*ldb, 1), rnd(rng, M*ldc, 1)
	opA := func(m, k int) float64 {
		if transA {
			return float64(a[k*lda+m])
		}
		return float64(a[m*lda+k])
	}
	opB := func(k, n int) float64 {
		if transB {
			return float64(b[n*ldb+k])
		}
		return float64(b[k*ldb+n])
	}
	want := f64(c) // the padding columns stay as they are
	for m := range M {
		for n := range N {
			var s float64
			for k := range K {
				s += opA(m, k) * opB(k, n)
			}
			want[m*ldc+n] = float64(alpha) * s
			if beta != 0 {
				want[m*ldc+n] += float64(beta) * float64(c[m*ldc+n])
			}
		}
	}
	var pa, pb, pc gpu.Ptr
	for _, buf := range []struct {
		p *gpu.Ptr
		n int
	}{{&pa, len(a)}, {&pb, len(b)}, {&pc, len(c)}} {
		p, err := d.Alloc(int64(4 * buf.n))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Free(p)
		*buf.p = p
	}
	got := make([]float32, len(c))
	must(t, d.Run(func(q *gpu.Queue) {
		q.Upload(pa, a)
		q.Upload(pb, b)
		q.Upload(pc, c)
		q.Gemm(transA, transB, M, N, K, alpha, pa, lda, pb, ldb, beta, pc, ldc)
		q.Download(got, pc)
	}))
	check(t, "C", got, want, sums)
}
