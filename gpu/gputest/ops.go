package gputest

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vrlaif/vrlaif/gpu"
)

// Ops checks every model operation of d against ref (model.CPUOps) on seeded random inputs: the
// same inputs go to both, gradients start from the same non-zero values (backward accumulates),
// and every output d writes is guard-padded. Shapes are chosen to cross the kernels' edges: rows
// longer than a 256-thread block, sizes that are not multiples of a 16×16 tile, grouped-query
// heads, ignored targets, video slots (token −1).
func Ops(t *testing.T, d, ref gpu.Ops) {
	t.Run("Embedding", func(t *testing.T) { opsEmbedding(t, d, ref) })
	t.Run("RMSNorm", func(t *testing.T) { opsRMSNorm(t, d, ref) })
	t.Run("Matmul", func(t *testing.T) { opsMatmul(t, d, ref) })
	t.Run("Rope", func(t *testing.T) { opsRope(t, d, ref) })
	t.Run("Attention", func(t *testing.T) { opsAttention(t, d, ref) })
	t.Run("SwiGLU", func(t *testing.T) { opsSwiGLU(t, d, ref) })
	t.Run("CrossEntropy", func(t *testing.T) { opsCrossEntropy(t, d, ref) })
	t.Run("AdamW", func(t *testing.T) { opsAdamW(t, d, ref) })
	t.Run("ClipGradNorm", func(t *testing.T) { opsClip(t, d, ref) })
}

// Tolerances for comparing two float32 implementations that sum in different orders. A float32
// sum of K terms carries a rounding error of about √K·u·(Σ|terms|) in practice (worst case K·u·Σ,
// u = 6e-8); the largest reductions here have K ≤ 300 terms of size ≤ 1 whose sums are O(√K)
// (random signs), about 1e-6·√K ≈ 2e-5, so 1e-4 leaves a margin of 5×. Element-wise operations and
// the ones that sum in double round once or twice: 1e-5 relative covers a few ulps of expf/logf
// differences between libm implementations.
var (
	sums        = Tol{Atol: 1e-4, Rtol: 1e-4}
	elementwise = Tol{Atol: 1e-6, Rtol: 1e-5}
)

func rnd(rng *rand.Rand, n int, scale float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = scale * (2*rng.Float32() - 1)
	}
	return x
}

// pair returns two copies of x: a plain one for ref and a guard-padded one for the device.
func pair(x []float32) ([]float32, out) {
	o := guarded(len(x), 0)
	copy(o.S, x)
	return append([]float32(nil), x...), o
}

// same checks the device's guarded output against ref's and its guard cells.
func same(t *testing.T, name string, dev out, ref []float32, tol Tol) {
	t.Helper()
	check(t, name, dev.S, f64(ref), tol)
	dev.Check(t, name)
}

func opsEmbedding(t *testing.T, d, ref gpu.Ops) {
	rng := rand.New(rand.NewPCG(1, 2))
	const N, C, V = 37, 300, 11
	tok := make([]int32, N)
	for i := range tok {
		tok[i] = int32(rng.IntN(V+2)) - 2 // −2, −1: video slots; repeats
	}
	tok[0] = V - 1
	wte := rnd(rng, V*C, 1)
	r, o := pair(rnd(rng, N*C, 1)) // rows of video slots must stay as they are
	must(t, ref.EmbeddingForward(r, tok, wte, N, C))
	must(t, d.EmbeddingForward(o.S, tok, wte, N, C))
	same(t, "out", o, r, elementwise)
	dout := rnd(rng, N*C, 1)
	r, o = pair(rnd(rng, V*C, 1))
	must(t, ref.EmbeddingBackward(r, dout, tok, N, C))
	must(t, d.EmbeddingBackward(o.S, dout, tok, N, C))
	same(t, "dwte", o, r, elementwise)
}

func opsRMSNorm(t *testing.T, d, ref gpu.Ops) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range []struct{ N, C int }{{9, 7}, {9, 300}, {150, 33}} { // 150 rows: 3 chunks of colsum.cu, the last partial
		N, C := s.N, s.C
		x, w := rnd(rng, N*C, 2), rnd(rng, C, 1)
		ro, oo := pair(make([]float32, N*C))
		rr, or := pair(make([]float32, N))
		must(t, ref.RMSNormForward(ro, rr, x, w, N, C, 1e-5))
		must(t, d.RMSNormForward(oo.S, or.S, x, w, N, C, 1e-5))
		same(t, "out", oo, ro, elementwise)
		same(t, "rstd", or, rr, elementwise)
		dout := rnd(rng, N*C, 1)
		rdx, odx := pair(rnd(rng, N*C, 1))
		rdw, odw := pair(rnd(rng, C, 1))
		must(t, ref.RMSNormBackward(rdx, rdw, dout, x, w, rr, N, C))
		must(t, d.RMSNormBackward(odx.S, odw.S, dout, x, w, rr, N, C))
		same(t, "dx", odx, rdx, sums)
		same(t, "dw", odw, rdw, sums)
	}
}

func opsMatmul(t *testing.T, d, ref gpu.Ops) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range []struct {
		N, C, OC int
		bias     bool
	}{{37, 45, 19, true}, {1, 300, 33, false}, {16, 16, 16, true}, {40, 3, 70, false}, {150, 4, 1, true}} {
		inp, w := rnd(rng, s.N*s.C, 1), rnd(rng, s.OC*s.C, 1)
		var bias []float32
		if s.bias {
			bias = rnd(rng, s.OC, 1)
		}
		r, o := pair(rnd(rng, s.N*s.OC, 1)) // overwritten, not accumulated
		must(t, ref.MatmulForward(r, inp, w, bias, s.N, s.C, s.OC))
		must(t, d.MatmulForward(o.S, inp, w, bias, s.N, s.C, s.OC))
		same(t, "out", o, r, sums)
		dout := rnd(rng, s.N*s.OC, 1)
		rdi, odi := pair(rnd(rng, s.N*s.C, 1))
		rdw, odw := pair(rnd(rng, s.OC*s.C, 1))
		rdb, odb := pair(rnd(rng, s.OC, 1))
		if !s.bias { // no input gradient and no bias: the nil paths
			must(t, ref.MatmulBackward(nil, rdw, nil, dout, inp, w, s.N, s.C, s.OC))
			must(t, d.MatmulBackward(nil, odw.S, nil, dout, inp, w, s.N, s.C, s.OC))
			same(t, "dw", odw, rdw, sums)
			continue
		}
		must(t, ref.MatmulBackward(rdi, rdw, rdb, dout, inp, w, s.N, s.C, s.OC))
		must(t, d.MatmulBackward(odi.S, odw.S, odb.S, dout, inp, w, s.N, s.C, s.OC))
		same(t, "dinp", odi, rdi, sums)
		same(t, "dw", odw, rdw, sums)
		same(t, "dbias", odb, rdb, sums)
	}
}

func opsRope(t *testing.T, d, ref gpu.Ops) {
	rng := rand.New(rand.NewPCG(7, 8))
	const N, H, hs, maxSeq = 7, 3, 8, 16
	cos, sin := make([]float32, maxSeq*hs/2), make([]float32, maxSeq*hs/2)
	for p := 0; p < maxSeq; p++ {
		for i := 0; i < hs/2; i++ {
			a := float64(p) * math.Pow(10000, -2*float64(i)/hs)
			cos[p*hs/2+i], sin[p*hs/2+i] = float32(math.Cos(a)), float32(math.Sin(a))
		}
	}
	pos := make([]int32, N)
	for i := range pos {
		pos[i] = int32(rng.IntN(maxSeq))
	}
	x := rnd(rng, N*H*hs, 1)
	r, o := pair(x)
	must(t, ref.RopeForward(r, pos, cos, sin, N, H, hs))
	must(t, d.RopeForward(o.S, pos, cos, sin, N, H, hs))
	same(t, "x", o, r, elementwise)
	must(t, ref.RopeBackward(r, pos, cos, sin, N, H, hs))
	must(t, d.RopeBackward(o.S, pos, cos, sin, N, H, hs))
	same(t, "dx", o, r, elementwise)
	check(t, "inverse rotation", o.S, f64(x), elementwise) // backward undoes forward
}

func opsAttention(t *testing.T, d, ref gpu.Ops) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, s := range []struct{ B, T, NH, NKV, hs int }{{2, 19, 4, 2, 8}, {1, 5, 1, 1, 16}, {1, 33, 2, 2, 4}, {1, 70, 4, 1, 40}} { // the last: keys beyond 2 strides of a warp, dimensions beyond one
		nq, nk, na := s.B*s.T*s.NH*s.hs, s.B*s.T*s.NKV*s.hs, s.B*s.NH*s.T*s.T
		q, k, v := rnd(rng, nq, 1), rnd(rng, nk, 1), rnd(rng, nk, 1)
		ro, oo := pair(make([]float32, nq))
		ra, oa := pair(make([]float32, na))
		must(t, ref.AttentionForward(ro, ra, q, k, v, s.B, s.T, s.NH, s.NKV, s.hs))
		must(t, d.AttentionForward(oo.S, oa.S, q, k, v, s.B, s.T, s.NH, s.NKV, s.hs))
		same(t, "out", oo, ro, sums)
		same(t, "att", oa, ra, sums)
		dout := rnd(rng, nq, 1)
		rdq, odq := pair(rnd(rng, nq, 1))
		rdk, odk := pair(rnd(rng, nk, 1))
		rdv, odv := pair(rnd(rng, nk, 1))
		must(t, ref.AttentionBackward(rdq, rdk, rdv, dout, q, k, v, ra, s.B, s.T, s.NH, s.NKV, s.hs))
		must(t, d.AttentionBackward(odq.S, odk.S, odv.S, dout, q, k, v, ra, s.B, s.T, s.NH, s.NKV, s.hs))
		same(t, "dq", odq, rdq, sums)
		same(t, "dk", odk, rdk, sums)
		same(t, "dv", odv, rdv, sums)
	}
}

func opsSwiGLU(t *testing.T, d, ref gpu.Ops) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n = 1000
	gate, up := rnd(rng, n, 6), rnd(rng, n, 2)
	ro, oo := pair(make([]float32, n))
	rs, os := pair(make([]float32, n))
	must(t, ref.SwiGLUForward(ro, rs, gate, up))
	must(t, d.SwiGLUForward(oo.S, os.S, gate, up))
	same(t, "out", oo, ro, elementwise)
	same(t, "sig", os, rs, elementwise)
	dout := rnd(rng, n, 1)
	for _, sig := range [][]float32{rs, nil} {
		rg, og := pair(rnd(rng, n, 1))
		ru, ou := pair(rnd(rng, n, 1))
		must(t, ref.SwiGLUBackward(rg, ru, dout, gate, up, sig))
		must(t, d.SwiGLUBackward(og.S, ou.S, dout, gate, up, sig))
		same(t, "dgate", og, rg, elementwise)
		same(t, "dup", ou, ru, elementwise)
	}
}

func opsCrossEntropy(t *testing.T, d, ref gpu.Ops) {
	rng := rand.New(rand.NewPCG(13, 14))
	const N, V = 13, 300
	logits := rnd(rng, N*V, 8)
	logits[5] = -200 // a probability that underflows to 0 (entropy skips it)
	targets := make([]int32, N)
	for i := range targets {
		targets[i] = int32(rng.IntN(V))
	}
	targets[3], targets[7] = -100, -100 // ignored
	for _, weights := range [][]float32{nil, rnd(rng, N, 1)} {
		rl, ol := pair(make([]float32, N))
		rp, op := pair(make([]float32, N*V))
		rm, rn, err := ref.CrossEntropyForward(rl, rp, logits, targets, weights, N, V)
		must(t, err)
		dm, dn, err := d.CrossEntropyForward(ol.S, op.S, logits, targets, weights, N, V)
		must(t, err)
		same(t, "losses", ol, rl, elementwise)
		same(t, "probs", op, rp, elementwise)
		checkScalar(t, "mean", dm, float64(rm), elementwise)
		checkScalar(t, "norm", dn, float64(rn), elementwise)
		rd, od := pair(rnd(rng, N*V, 1))
		must(t, ref.CrossEntropyBackward(rd, rp, targets, weights, N, V, rn))
		must(t, d.CrossEntropyBackward(od.S, rp, targets, weights, N, V, rn))
		same(t, "dlogits", od, rd, elementwise)
		re, oe := pair(make([]float32, N))
		must(t, ref.Entropy(re, rp, N, V))
		must(t, d.Entropy(oe.S, rp, N, V))
		same(t, "entropy", oe, re, elementwise)
	}
}

func opsAdamW(t *testing.T, d, ref gpu.Ops) {
	rng := rand.New(rand.NewPCG(15, 16))
	const n = 1000
	w, g, m, v := rnd(rng, n, 1), rnd(rng, n, 1), rnd(rng, n, 0.1), rnd(rng, n, 0.01)
	for i := range v {
		v[i] *= v[i] // second moments are ≥ 0
	}
	rw, ow := pair(w)
	rm, om := pair(m)
	rv, ov := pair(v)
	for step := 1; step <= 3; step++ {
		bc1, bc2 := 1-float32(math.Pow(0.9, float64(step))), 1-float32(math.Pow(0.95, float64(step)))
		must(t, ref.AdamW(rw, g, rm, rv, 1e-3, 0.9, 0.95, 1e-8, 0.1, bc1, bc2))
		must(t, d.AdamW(ow.S, g, om.S, ov.S, 1e-3, 0.9, 0.95, 1e-8, 0.1, bc1, bc2))
	}
	same(t, "w", ow, rw, elementwise)
	same(t, "m", om, rm, elementwise)
	same(t, "v", ov, rv, elementwise)
}

func opsClip(t *testing.T, d, ref gpu.Ops) {
	rng := rand.New(rand.NewPCG(17, 18))
	// clipped, below the limit, no limit; a sum of one block, of several, and of 256 blocks that
	// each take several strides (gpu.Queue.SumSquares)
	for i, maxNorm := range []float32{0.5, 1e4, 0, 0.5} {
		g := rnd(rng, []int{1000, 5000, 1000, 600_000}[i], 1)
		r, o := pair(g)
		rn, err := ref.ClipGradNorm(r, maxNorm)
		must(t, err)
		dn, err := d.ClipGradNorm(o.S, maxNorm)
		must(t, err)
		checkScalar(t, "norm", dn, float64(rn), elementwise)
		same(t, "g", o, r, elementwise)
	}
}
