package gputest

import (
	"fmt"
	"math"
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
	p := buffers(t, d, 4*len(a), 4*len(b), 4*len(c))
	pa, pb, pc := p[0], p[1], p[2]
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

// GemmShape is one product of GemmPrecision: C[M,N] = A[M,K]·B[N,K]ᵀ.
type GemmShape struct{ M, N, K int }

// GemmPrecision measures, for every product d has (GemmModes) and each shape, how far C is from
// a float64 product, and says which rounding of the inputs that error matches: float32's, or a
// tensor core's TF32 (10-bit mantissas) or bf16 (7). The error is taken per element relative to
// √Σ_k (a_k·b_k)², the scale of rounding errors in a sum of K products (rounding each input to
// a unit u gives an error of about √2·u times that; float32 sums add about √K·2⁻²⁴), over a
// sample of rows (a float64 product of 4096³ would take minutes on the CPU). A mode fails when
// its error exceeds ten times what its own rounding gives. cublas-bf16 must show bf16's rounding
// (its operands are bf16); which rounding cublas-tf32 shows is logged, not required: cuBLAS's
// _FAST_ compute types allow tensor cores, they do not oblige it to use them (and given float32
// data, _FAST_16BF rounded as TF32 on an H200, which is why cublas-bf16 converts first).
func GemmPrecision(t *testing.T, d *gpu.KernelDevice, shapes []GemmShape) {
	const f32, tf32, bf16 = 0x1p-24, 0x1p-11, 0x1p-8 // unit roundoffs
	units := map[string]float64{"kernel": f32, "cublas": f32, "cublas-tf32": tf32, "cublas-bf16": bf16}
	rng := rand.New(rand.NewPCG(23, 24))
	for _, s := range shapes {
		a, b := rnd(rng, s.M*s.K, 1), rnd(rng, s.N*s.K, 1)
		rows := rng.Perm(s.M)[:min(s.M, 32)]
		got := make([]float32, s.M*s.N)
		p := buffers(t, d, 4*len(a), 4*len(b), 4*len(got))
		pa, pb, pc := p[0], p[1], p[2]
		must(t, d.Run(func(q *gpu.Queue) {
			q.Upload(pa, a)
			q.Upload(pb, b)
		}))
		for _, mode := range d.GemmModes() {
			u, known := units[mode]
			if !known {
				t.Errorf("%s: no rounding known for this mode", mode)
				continue
			}
			if err := d.SetGemm(mode); err != nil {
				t.Fatal(err)
			}
			must(t, d.Run(func(q *gpu.Queue) {
				q.Gemm(false, true, s.M, s.N, s.K, 1, pa, s.K, pb, s.K, 0, pc, s.N)
				q.Download(got, pc)
			}))
			worst := 0.0
			for _, m := range rows {
				for n := range s.N {
					var sum, sq float64
					for k := range s.K {
						p := float64(a[m*s.K+k]) * float64(b[n*s.K+k])
						sum += p
						sq += p * p
					}
					worst = max(worst, math.Abs(float64(got[m*s.N+n])-sum)/math.Sqrt(sq))
				}
			}
			// What the inputs' rounding gives (√2·u, and about 4.5 standard deviations for the
			// largest of ~10⁵ elements) plus float32 accumulation.
			limit := 10 * (math.Sqrt2*u + math.Sqrt(float64(s.K))*f32)
			// The largest error of a few thousand elements is about 3.3·u for inputs rounded to
			// u (TF32 1.6e-3, bf16 1.3e-2), and below 2e-5 for float32 at K ≤ 4096: the cut-offs
			// sit between those.
			shows := "float32 rounding"
			switch {
			case worst > 8*tf32:
				shows = "bf16 rounding of the inputs"
			case worst > tf32/2:
				shows = "TF32 rounding of the inputs"
			}
			t.Logf("%s %dx%dx%d: largest error %.3g of the products' scale (float32 %.2g, TF32 %.2g, bf16 %.2g): %s",
				mode, s.M, s.N, s.K, worst, math.Sqrt2*f32, math.Sqrt2*tf32, math.Sqrt2*bf16, shows)
			if worst > limit {
				t.Errorf("%s %dx%dx%d: error %.3g, beyond %.3g for its rounding", mode, s.M, s.N, s.K, worst, limit)
			}
			if u == bf16 && worst <= 8*tf32 {
				t.Errorf("%s %dx%dx%d: error %.3g: the operands were not rounded to bf16", mode, s.M, s.N, s.K, worst)
			}
		}
	}
}

// BF16 checks Queue.ToBF16 (the cublas-bf16 product's conversion) against a conversion worked out
// here from the two bf16 neighbours of each value: the nearer one, the one with an even last bit
// on a tie, ±∞ past the largest bf16's half step; NaN stays NaN. Exact: no tolerance.
func BF16(t *testing.T, d *gpu.KernelDevice) {
	rng := rand.New(rand.NewPCG(25, 26))
	var x []float32
	for _, b := range []uint32{0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFA00001, 0x7F7FFFFF, 0xFF7FFFFF,
		0x7F7F7FFF, 0x7F7F8000, 0x00000001, 0x00008000, 0x00018000, 0x3F808000, 0x3F818000, 0x3F807FFF, 0xBF808001} {
		x = append(x, math.Float32frombits(b)) // signs, infinities, NaNs, the largest values, subnormals, ties
	}
	for len(x) < 5000 || len(x)%2 == 1 { // an even count: read back as whole float32s
		x = append(x, float32(rng.NormFloat64()*math.Pow(10, float64(rng.IntN(60)-30))))
	}
	want := make([]uint16, len(x))
	for i, v := range x {
		want[i] = bf16Nearest(v)
	}
	p := buffers(t, d, 4*len(x), 2*len(x))
	src, dst := p[0], p[1]
	got := make([]float32, len(x)/2) // the bf16 bits, two to a float32
	must(t, d.Run(func(q *gpu.Queue) {
		q.Upload(src, x)
		q.ToBF16(dst, src, len(x))
		q.Download(got, dst)
	}))
	for i, v := range x {
		g := uint16(math.Float32bits(got[i/2]) >> (16 * (i % 2))) // little-endian halves
		nan := func(b uint16) bool { return b&0x7F80 == 0x7F80 && b&0x7F != 0 }
		if g != want[i] && !(nan(g) && nan(want[i])) {
			t.Errorf("bf16(%g) (bits %08x) = %04x, want %04x", v, math.Float32bits(v), g, want[i])
		}
	}
}

// bf16Nearest is the bf16 nearest to v, ties to even (NaN: a NaN).
func bf16Nearest(v float32) uint16 {
	if v != v {
		return 0x7FC0
	}
	b := math.Float32bits(v)
	sign, mag := uint16(b>>16)&0x8000, b&0x7FFFFFFF
	if mag == 0x7F800000 {
		return sign | 0x7F80
	}
	lo := uint16(mag >> 16) // truncated: the neighbour toward zero
	value := func(h uint16) float64 {
		if h == 0x7F80 {
			return math.Ldexp(1, 128) // where the next step would be: past it is ∞
		}
		return float64(math.Float32frombits(uint32(h) << 16))
	}
	x := float64(math.Float32frombits(mag))
	below, above := x-value(lo), value(lo+1)-x
	if below < above || below == above && lo&1 == 0 {
		return sign | lo
	}
	return sign | (lo + 1)
}

// buffers takes one device buffer of each size in bytes, freed when the test ends.
func buffers(t *testing.T, d *gpu.KernelDevice, sizes ...int) []gpu.Ptr {
	t.Helper()
	out := make([]gpu.Ptr, len(sizes))
	for i, n := range sizes {
		p, err := d.Alloc(int64(n))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Free(p) })
		out[i] = p
	}
	return out
}
